"""`edm batch analyze` on a real Spark standalone cluster (a master and two one-core workers
started from the installed PySpark, on loopback) and on ``local-cluster``: the model shipped as
an archive, the executors' Python installed or shipped as a packed environment, a worker
killed mid-job, and what is refused before Spark starts.

One cluster for the module; each job is a CLI run in its own process, as a user runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.batch.conftest import BAD, write_catalogue
from tests.batch.packed_env import pack_environment
from tests.batch.test_cli_jobs import batch_runs, edm_batch
from tests.spark_cluster import SparkStandalone, pyspark_home

from edm.batch import read_results

pytestmark = pytest.mark.slow  # a cluster, then Spark's executors for every job

# What must be equal, track by track, wherever the job ran.
_COMPARED = ("content_hash", "bpm", "beats", "downbeats", "sections", "confidence", "error")
# Silences Spark's UI (ports) on the driver; the cluster's own UI is the fixture's.
_QUIET = ("--conf", "spark.ui.enabled=false")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python without edm: what an executor has when nobody installed anything there."""
    folder = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return folder / "bin"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, bare_python: Path) -> Iterator[Any]:
    # The workers' default `python3` is the bare one: a job that names no Python gets it.
    standalone = SparkStandalone(
        tmp_path_factory.mktemp("spark-standalone"), workers=2, path_prefix=bare_python
    ).start()
    yield standalone
    standalone.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder 'every worker mounts': on loopback, this host's own disk."""
    folder = tmp_path_factory.mktemp("shared")
    write_catalogue(folder / "catalogue", seconds=4.0)
    return folder


@pytest.fixture(scope="module")
def local_rows(batch_store: str, shared: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("local") / "results"
    done = run_job(batch_store, shared / "catalogue", out, "--master", "local[2]")
    assert done.returncode == 1, done.stderr  # the two bad files
    return rows_by_path(out)


def run_job(store: str, source: Path, out: Path, *options: str, timeout: float = 420):
    command = edm_batch(store, str(source), "--out", str(out), "--json", *_QUIET, *options)
    env = dict(os.environ)
    env.pop("PYSPARK_PYTHON", None)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    assert "Traceback" not in done.stderr and "Py4J" not in done.stderr, done.stderr
    return done


def rows_by_path(out: Path) -> dict[str, dict[str, Any]]:
    rows = read_results(out).to_pylist()
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)), "a track appears twice"
    return {r["path"]: {key: r[key] for key in _COMPARED} for r in rows}


def on_cluster(cluster: SparkStandalone, shared: Path, *options: str) -> tuple[str, ...]:
    return ("--master", cluster.url, "--shared-path", str(shared), *options)


def test_a_cluster_run_equals_local_mode(
    cluster: SparkStandalone, batch_store: str, shared: Path, local_rows: dict, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    done = run_job(
        batch_store,
        shared / "catalogue",
        out,
        *on_cluster(cluster, shared, "--python", sys.executable),
    )
    assert done.returncode == 1, done.stderr  # the two bad files, as in local mode
    summary = json.loads(done.stdout)
    assert (summary["analysed"], summary["failed"]) == (4, 2)
    assert rows_by_path(out) == local_rows
    # Only edm's own lines on the console: the JVM's start-up chatter went to the job's log.
    assert all(
        line.startswith("Listing ") or re.match(r"\d+/6 tracks, ", line)
        for line in done.stderr.splitlines()
    ), done.stderr
    assert list((out / "_logs").glob("batch-*.log"))
    # Both workers ran tasks (each executor's folder holds the unpacked model archive).
    unpacked = list(cluster.root.glob("worker-*/app-*/*/edm-structure-detector-v1-*.zip"))
    assert {path.parts[-4] for path in unpacked} == {"worker-0", "worker-1"}
    assert all((path / "MLmodel").is_file() for path in unpacked)
    assert any(path.glob("artifacts/.edm-onnx/*.onnx") for path in unpacked)


def test_a_local_source_is_refused_before_spark_starts(
    cluster: SparkStandalone, batch_store: str, shared: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    started = time.monotonic()
    done = run_job(batch_store, shared / "catalogue", out, "--master", cluster.url)
    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert "cannot see this host's disk" in line and "--shared-path" in line
    assert time.monotonic() - started < 30  # no JVM was started for it
    assert not out.exists()
    elsewhere = run_job(
        batch_store,
        shared / "catalogue",
        out,
        *on_cluster(cluster, shared / "catalogue" / "sub"),
    )
    assert elsewhere.returncode == 1
    assert "outside every --shared-path" in elsewhere.stderr and not out.exists()


def test_without_edm_on_the_executors_the_job_stops_in_one_line(
    cluster: SparkStandalone, batch_store: str, shared: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    done = run_job(batch_store, shared / "catalogue", out, *on_cluster(cluster, shared))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, done.stderr
    assert "cannot run edm (ModuleNotFoundError: No module named 'edm')" in errors[0]
    assert "--python PATH" in errors[0] and "--python-env" in errors[0]
    assert not list(out.glob("model_version=*"))
    (run,) = [r for r in batch_runs(batch_store) if r.data.params["out"] == str(out)]
    assert run.info.status == "FAILED"


def test_a_packed_environment_shipped_with_the_job(
    cluster: SparkStandalone,
    batch_store: str,
    shared: Path,
    local_rows: dict,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    archive = pack_environment(tmp_path_factory.mktemp("packed"))
    out = tmp_path_factory.mktemp("packed-run") / "results"
    done = run_job(
        batch_store,
        shared / "catalogue",
        out,
        *on_cluster(cluster, shared, "--python-env", str(archive)),
    )
    assert done.returncode == 1, done.stderr  # the two bad files
    assert rows_by_path(out) == local_rows
    # The executors ran the shipped Python, unpacked in their own folders.
    assert list(cluster.root.glob("worker-*/app-*/*/edm-python/bin/python"))


def test_local_cluster_ships_the_model_as_on_a_cluster(
    batch_store: str, shared: Path, local_rows: dict, tmp_path: Path
) -> None:
    # local-cluster's workers keep their folders under Spark's home: leave it as found.
    work = pyspark_home() / "work"
    before = set(work.iterdir()) if work.is_dir() else set()
    out = tmp_path / "results"
    try:
        done = run_job(
            batch_store,
            shared / "catalogue",
            out,
            "--master",
            "local-cluster[2,1,1024]",
            "--python",
            sys.executable,
        )
        shipped = list(work.glob("app-*/*/edm-structure-detector-v1-*.zip/MLmodel"))
    finally:
        for folder in set(work.iterdir()) - before if work.is_dir() else ():
            shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 1, done.stderr
    assert rows_by_path(out) == local_rows
    assert shipped, "the executors did not get the model as an archive"


def test_a_worker_killed_mid_job_ends_with_every_track_once(
    cluster: SparkStandalone, batch_store: str, shared: Path, tmp_path: Path
) -> None:
    cluster.ensure_workers()
    source = shared / "killed"
    write_catalogue(source, seconds=4.0)
    for name in BAD:  # every track good: a lost worker alone must not fail the job
        (source / name).unlink()
    shutil.copytree(source, shared / "killed-copy")
    shutil.copytree(shared / "killed-copy", source / "more")
    shutil.copytree(shared / "killed-copy", source / "again")  # 12 tracks
    out = tmp_path / "results"
    command = edm_batch(
        batch_store,
        str(source),
        "--out",
        str(out),
        "--json",
        *_QUIET,
        *on_cluster(cluster, shared, "--python", sys.executable, "--chunk-size", "2"),
    )
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert driver.stderr is not None
        for line in driver.stderr:  # progress: one line per change (not a terminal)
            if "/12 tracks" in line and not line.startswith("0/"):
                cluster.kill_worker(1)
                break
        stdout, stderr = driver.communicate(timeout=420)
    finally:
        if driver.poll() is None:
            driver.kill()
    killed = cluster.alive_workers() < 2
    cluster.ensure_workers()
    assert killed
    assert driver.returncode == 0, stderr
    summary = json.loads(stdout)
    assert (summary["analysed"], summary["failed"]) == (12, 0)
    rows = read_results(out).to_pylist()
    assert len(rows) == len({r["path"] for r in rows}) == 12
    # Spark's own complaints about the lost worker went to the job's log, not between the
    # progress lines.
    assert not [line for line in stderr.splitlines() if " ERROR " in line or " WARN " in line]
    (log,) = (out / "_logs").glob("batch-*.log")
    assert "Lost" in log.read_text()
    assert all(r["error"] is None for r in rows)
