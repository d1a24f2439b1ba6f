"""The Spark side of a batch job: the session, the model shipped to the executors, and the
progress read from Spark's status API.

Nothing here changes the process environment: the Python that runs the workers, the driver's
address and the quiet console are Spark settings passed to the session builder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from edm.atomic import write_text_atomically
from edm.batch.cluster import driver_address, python_env_settings
from edm.errors import ConfigError

DEFAULT_MASTER = "local[*]"


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def require_java() -> None:
    """The driver runs Spark's JVM whatever the master: say so before anything starts, rather
    than let PySpark fail with 'Java gateway process exited'."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    raise ConfigError(
        "edm batch runs on Spark, which needs Java 17 or newer: install it "
        "(bash scripts/install-services.sh java, or Debian's openjdk-17-jre-headless) "
        "or set JAVA_HOME"
    )


def spark_session(
    master: str = DEFAULT_MASTER,
    *,
    python: str | None = None,
    python_env: str | None = None,
    driver_host: str | None = None,
    conf: Mapping[str, str] | None = None,
    log_file: Path | None = None,
    app_name: str = "edm batch analyze",
) -> Any:
    """A SparkSession on ``master`` (``local[*]``, ``spark://``, ``yarn``, ``k8s://``…).

    ``python`` is the interpreter of the executors' workers: by default this one on a local
    master, else Spark's own setting (``spark.pyspark.python``, ``PYSPARK_PYTHON``), since a
    cluster's machines have their own. ``python_env`` ships a packed environment instead
    (``edm.batch.cluster.python_env_settings``). ``log_file`` receives the JVM's warnings and
    errors, which stay off the console.
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {
        # Our own progress line replaces Spark's console bar.
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.python.worker.reuse": "true",
    }
    if is_local(master):
        # No web UI: quick to start, nothing listening on other interfaces.
        settings["spark.ui.enabled"] = "false"
    # Executors connect back to the driver (tasks, results, the shipped model): it must listen
    # on an address they can reach, by default the one this host uses to reach the master.
    address = driver_host or driver_address(master)
    if address:
        settings |= {"spark.driver.host": address, "spark.driver.bindAddress": address}
    java_options = f"-Dlog4j2.configurationFile={_log4j_config(log_file)}"
    if is_local(master):
        # On a local master the driver's JVM shares the cores with the Python workers, and its
        # optimising compiler and parallel GC took whole cores for the first half-minute:
        # 37 s instead of 50 s for 64 tracks on local[2] (bench/batch_analyze.py). The JVM
        # only moves file names and small results here; the quick compiler is plenty.
        java_options += " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    settings["spark.driver.extraJavaOptions"] = java_options
    # Spark runs one task per core; numpy's OpenBLAS (the mel filterbank, decoding) would
    # start a thread per core in every task, and the tasks then fight over the cores: measured
    # here, two tasks on two cores each took 1.8x as long as one task alone.
    threads = str((conf or {}).get("spark.task.cpus", "1"))
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        settings[f"spark.executorEnv.{variable}"] = threads
    executable = python or (sys.executable if is_local(master) else None)
    if python_env:
        environment = python_env_settings(python_env, conf or {})
        executable = environment["spark.pyspark.python"]
        settings |= environment
    elif executable:
        settings["spark.pyspark.python"] = executable
    settings |= {
        k: v for k, v in (conf or {}).items() if not (python_env and k == "spark.archives")
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    # PySpark puts its own SIGINT handler in place when the context starts; keep the one the
    # process had (the CLI's names the interrupt), since the job cancels its chunks itself.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main else None
    with _stderr_into(log_file):
        session = builder.getOrCreate()
    if in_main and previous is not None:
        signal.signal(signal.SIGINT, previous)
    if executable:
        # PySpark reads the workers' Python from PYSPARK_PYTHON when the context starts; the
        # setting above is for spark-submit. Point this context at it without the environment.
        session.sparkContext.pythonExec = executable
    return session


@contextlib.contextmanager
def _stderr_into(log_file: Path | None) -> Iterator[None]:
    """While the JVM starts, this process's standard error goes to ``log_file``: the JVM
    inherits it, so what it prints outside log4j (its module warnings, a crash) lands in the
    job's log instead of between the progress lines. Restored as soon as it has started."""
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log_file, "ab") as log:
            os.dup2(log.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _log4j_config(log_file: Path | None) -> str:
    """A log4j2 configuration: errors only on the console; with ``log_file``, nothing on the
    console (the job's own one-line errors say what failed, between the progress lines) and
    the warnings and errors in that file (a lost executor, a slow start)."""
    console = (
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n"
        "appender.console.filter.threshold.type = ThresholdFilter\n"
        f"appender.console.filter.threshold.level = {'error' if log_file is None else 'off'}\n"
        # Tasks cancelled by Ctrl-C finish after the session stops and log a stack each.
        "logger.cancelled.name = org.apache.spark.TaskContextImpl\n"
        "logger.cancelled.level = fatal\n"
    )
    if log_file is None:
        folder = Path(tempfile.gettempdir()) / "edm-spark"
        folder.mkdir(exist_ok=True)
        path = folder / "log4j2-errors-v3.properties"
        if not path.is_file():  # whole or absent: another job may be starting its JVM on it
            write_text_atomically(
                path,
                "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n" + console,
            )
        return str(path)
    path = log_file.parent / ".log4j2.properties"  # read once, as the JVM starts
    write_text_atomically(
        path,
        "rootLogger.level = warn\nrootLogger.appenderRef.stderr.ref = console\n"
        "rootLogger.appenderRef.file.ref = file\n"
        + console
        + "appender.file.type = File\nappender.file.name = file\n"
        f"appender.file.fileName = {log_file}\nappender.file.append = true\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = %d{ISO8601} %p %c{1}: %m%n%ex\n",
    )
    return str(path)


def default_parallelism(session: Any) -> int:
    return max(1, int(session.sparkContext.defaultParallelism))
