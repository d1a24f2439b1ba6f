"""`edm batch analyze` as a user runs it, in a subprocess with its own Spark: a driver killed
with kill -9 and started again, and a catalogue on S3 (moto's server on loopback)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tests.batch.conftest import BAD, write_catalogue
from tests.servers import S3Server

from edm.batch import read_results

pytestmark = pytest.mark.slow  # each run starts Spark and its Python workers


def edm_batch(store: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    return [sys.executable, "-m", "edm", "--tracking-uri", store, "batch", "analyze", *args]


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=dict(os.environ) | (env or {})
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def batch_runs(store: str) -> list:
    """The store's batch runs, newest first."""
    client = MlflowClient(tracking_uri=f"sqlite:///{store}/mlflow.db")
    experiment = client.get_experiment_by_name("edm-batch")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])


def test_a_killed_driver_resumes_and_every_track_is_there_once(
    batch_store: str, tmp_path: Path
) -> None:
    source = write_catalogue(tmp_path / "catalogue")
    # Twelve files, one per chunk on one core: the kill lands with some chunks done.
    shutil.copytree(source, tmp_path / "more")
    shutil.move(tmp_path / "more", source / "more")
    out = tmp_path / "results"
    options = ["--out", str(out), "--json"]
    driver = subprocess.Popen(
        edm_batch(batch_store, str(source), *options, "--master", "local[1]", "--chunk-size", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("model_version=1/part-*.parquet")):
            assert driver.poll() is None, "the job ended before writing a chunk"
            assert time.monotonic() < deadline, "no chunk written in 120 s"
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.wait(timeout=30)
    first = read_results(out).num_rows
    assert 1 <= first < 12
    # What a kill in the middle of writing a chunk leaves (the kill above lands there by chance).
    (out / "model_version=1" / ".part-killed-00007.parquet.x1y2z3.tmp").write_bytes(b"PAR1")

    resumed = run(edm_batch(batch_store, str(source), *options, "--master", "local[2]"))
    summary = json.loads(resumed.stdout)
    assert summary["skipped"] == first and summary["tracks"] == 12
    assert summary["analysed"] + summary["failed"] == 12 - first
    paths = read_results(out).column("path").to_pylist()
    assert len(paths) == len(set(paths)) == 12
    assert not list(out.rglob(".*.tmp"))
    # The killed driver could not end its run: the resumed job did, and left no mark behind.
    runs = [r for r in batch_runs(batch_store) if r.data.params["out"] == str(out)]
    assert [r.info.status for r in runs] == ["FINISHED", "KILLED"]
    assert runs[1].data.tags["edm.ended_by"] == f"edm batch resumed on {out}"
    # It ended when it last logged (its heartbeat), not when the resumed job found it.
    killed = runs[1]
    client = MlflowClient(tracking_uri=f"sqlite:///{batch_store}/mlflow.db")
    beats = client.get_metric_history(killed.info.run_id, "tracks_processed")
    last = max([killed.info.start_time, *(m.timestamp for m in beats)])
    assert killed.info.end_time == last < runs[0].info.start_time

    # Once more, with everything done: the driver sees each file unchanged and answers without
    # Spark (no JVM), MLflow or the model; the bad files are still failed (exit 1), by name.
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED', *(m for m in ('pyspark', 'mlflow', "
        "'onnxruntime') if m in sys.modules), file=sys.stderr))\n"
        "from edm.cli.main import main\n"
        "sys.argv = ['edm', *sys.argv[1:]]\n"
        "main()\n"
    )
    again = run([sys.executable, "-c", probe, *edm_batch(batch_store, str(source), *options)[3:]])
    assert again.returncode == 1, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["skipped"], summary["failed"], summary["run_id"]) == (8, 4, None)
    assert sorted(Path(f["path"]).name for f in summary["failures"]) == sorted(BAD * 2)
    assert "LOADED\n" in again.stderr  # none of the three was imported
    assert not (out / ".edm-batch-driver.json").exists()


def test_a_second_job_on_an_output_being_written_refuses_to_start(
    batch_store: str, tmp_path: Path
) -> None:
    source = write_catalogue(tmp_path / "catalogue")
    out = tmp_path / "results"
    out.mkdir()
    # A live edm process of this host holds the mark, as a running driver does.
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "edm"])
    try:
        mark = {"run_id": "0" * 32, "host": socket.gethostname(), "pid": holder.pid}
        (out / ".edm-batch-driver.json").write_text(json.dumps(mark))
        refused = run(edm_batch(batch_store, str(source), "--out", str(out)))
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert refused.returncode == 1
    assert f"another edm batch (process {holder.pid}) is writing here" in refused.stderr
    assert not list(out.glob("model_version=*"))


def test_ctrl_c_ends_the_run_killed_and_keeps_what_is_written(
    batch_store: str, tmp_path: Path
) -> None:

    source = write_catalogue(tmp_path / "catalogue")
    out = tmp_path / "results"
    options = ["--out", str(out), "--master", "local[1]", "--chunk-size", "1"]
    driver = subprocess.Popen(
        edm_batch(batch_store, str(source), *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("model_version=1/part-*.parquet")) and driver.poll() is None:
        assert time.monotonic() < deadline, "no chunk written in 120 s"
        time.sleep(0.05)
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=60)
    assert driver.returncode == 130, stderr
    assert "Interrupted (Ctrl-C)." in stderr and "Traceback" not in stderr
    (run,) = batch_runs(batch_store)[:1]
    assert run.info.status == "KILLED"
    assert 1 <= read_results(out).num_rows < 6 and not list(out.rglob(".*.tmp"))


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


def test_a_catalogue_on_s3(s3: S3Server, batch_store: str, tmp_path: Path) -> None:
    source = write_catalogue(tmp_path / "catalogue")
    bucket = s3.create_bucket("edm-catalogue")
    client = s3.client()
    files = sorted(p for p in source.rglob("*") if p.is_file())
    for path in files:
        client.upload_file(str(path), bucket, f"music/{path.relative_to(source)}")
    client.put_object(Bucket=bucket, Key="elsewhere/skip.wav", Body=b"not in the prefix")
    out = tmp_path / "results"
    done = run(
        edm_batch(batch_store, f"s3://{bucket}/music", "--out", str(out), "--json"), env=s3.env
    )
    assert done.returncode == 1, done.stderr  # two bad files: exit 1, the rest done
    assert s3.secret_key not in done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert (summary["analysed"], summary["failed"]) == (4, 2)
    rows = {r["path"]: r for r in read_results(out).to_pylist()}
    for path in files:
        row = rows[f"s3://{bucket}/music/{path.relative_to(source)}"]
        assert row["content_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (row["error"] is None) == (path.name not in BAD)
