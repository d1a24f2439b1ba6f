"""What the driver decides before Spark starts on a master of other hosts: its own address, the
packed environment's settings, which inputs executors can open; and Spark's errors as one
line with the whole text kept in a log file."""

from __future__ import annotations

from pathlib import Path

import pytest

from edm.batch.cluster import check_reachable, driver_address, python_env_settings
from edm.batch.files import InputFile
from edm.batch.spark_errors import SparkFailures
from edm.errors import ClusterError, ConfigError


@pytest.mark.parametrize(
    ("master", "expected"),
    [
        ("local[2]", "127.0.0.1"),
        ("local-cluster[2,1,1024]", "127.0.0.1"),
        ("spark://127.0.0.1:7077", "127.0.0.1"),
        ("spark://127.0.0.1:7077,127.0.0.2:7077", "127.0.0.1"),
        ("spark://localhost", "127.0.0.1"),
        ("k8s://https://127.0.0.1:6443", "127.0.0.1"),
        ("yarn", None),
    ],
)
def test_the_driver_listens_where_the_master_routes(master: str, expected: str | None) -> None:
    assert driver_address(master) == expected


def test_a_master_that_does_not_resolve_is_named() -> None:
    with pytest.raises(ConfigError, match=r"cannot resolve the host 'no-such-host\.invalid'"):
        driver_address("spark://no-such-host.invalid:7077")


def test_a_packed_environment_becomes_spark_archives(tmp_path: Path) -> None:
    archive = tmp_path / "env.tar.gz"
    archive.write_bytes(b"packed")
    settings = python_env_settings(str(archive), {"spark.archives": "hdfs:///extra.zip#x"})
    assert settings == {
        "spark.archives": f"hdfs:///extra.zip#x,{archive}#edm-python",
        "spark.pyspark.python": "./edm-python/bin/python",
    }
    remote = python_env_settings("s3a://bucket/env.tgz", {})
    assert remote["spark.archives"] == "s3a://bucket/env.tgz#edm-python"


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("missing.tar.gz", False, "no such file"),
        ("env.tar", True, "without the files' modes"),
        ("env.whl", True, "expected a packed environment"),
    ],
)
def test_a_bad_packed_environment_is_one_line(
    tmp_path: Path, name: str, make: bool, message: str
) -> None:
    archive = tmp_path / name
    if make:
        archive.write_bytes(b"x")
    with pytest.raises(ConfigError, match=message):
        python_env_settings(str(archive), {})


def test_local_inputs_on_a_cluster_need_a_shared_path(tmp_path: Path) -> None:
    inside, outside = tmp_path / "music", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    listing = [InputFile(str(inside / "a.wav")), InputFile(str(outside / "b.wav"))]
    cluster = "spark://127.0.0.1:7077"
    # Same host: nothing to check. S3 only: nothing to check.
    assert check_reachable(listing, "src", "local[2]", ()) == ()
    assert check_reachable([InputFile("s3://b/k.wav")], "s3://b", cluster, ()) == ()
    with pytest.raises(ConfigError, match=r"cannot see this host's disk.*--shared-path"):
        check_reachable(listing, "src", cluster, ())
    with pytest.raises(ConfigError, match=r"b\.wav: outside every --shared-path"):
        check_reachable(listing, "src", cluster, (str(inside),))
    assert check_reachable(listing, "src", cluster, (str(tmp_path),)) == (str(tmp_path),)
    with pytest.raises(ConfigError, match="--shared-path /no/such/folder: no such folder"):
        check_reachable(listing, "src", cluster, ("/no/such/folder",))


def test_a_spark_error_is_one_line_and_the_whole_of_it_is_logged(tmp_path: Path) -> None:
    log = tmp_path / "_logs" / "batch.log"
    failures = SparkFailures(log, "spark://head:7077", "/opt/py/bin/python")
    jvm_text = (
        "An error occurred while calling o42.collect.\n: org.apache.spark.SparkException: Job "
        "aborted\n  File \"worker.py\", line 1\nModuleNotFoundError: No module named 'edm'\n"
        + "\tat org.apache.spark.Some.frame(Some.scala:1)\n"
        * 200
    )
    with pytest.raises(ClusterError) as raised, failures.around("chunk 0 of the job failed"):
        raise RuntimeError(jvm_text)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 400
    assert message.startswith("chunk 0 of the job failed: the executors' Python cannot import")
    assert "--python PATH" in message and f"whole error in {log}" in message
    assert log.read_text().count("Some.scala") == 200
    cannot_start = failures.advice('java.io.IOException: Cannot run program "/opt/py/bin/python"')
    assert "cannot start their Python (/opt/py/bin/python)" in cannot_start
    unknown = failures.advice("org.apache.spark.SparkException: something new\n\tat x")
    assert unknown == "Spark failed: org.apache.spark.SparkException: something new"
