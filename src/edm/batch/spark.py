"""The Spark side of a batch job: the session, the model shipped to the executors, and the
progress read from Spark's status API.

Nothing here changes the process environment: the Python that runs the workers, the driver's
address and the quiet console are Spark settings passed to the session builder.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edm.atomic import write_text_atomically
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
    conf: Mapping[str, str] | None = None,
    app_name: str = "edm batch analyze",
) -> Any:
    """A SparkSession on ``master`` (``local[*]``, ``spark://``, ``yarn``, ``k8s://``…).

    ``python`` is the interpreter of the executors' workers: by default this one on a local
    master, else Spark's own setting (``spark.pyspark.python``, ``PYSPARK_PYTHON``), since a
    cluster's machines have their own.
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
        # Loopback and no web UI: quick to start, nothing listening on other interfaces.
        settings |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
        }
    # The JVM logs its start-up at INFO/WARN on stderr, between our own lines: errors only.
    java_options = f"-Dlog4j2.configurationFile={_quiet_log4j()}"
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
    if executable:
        settings["spark.pyspark.python"] = executable
    settings |= dict(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    # PySpark puts its own SIGINT handler in place when the context starts; keep the one the
    # process had (the CLI's names the interrupt), since the job cancels its chunks itself.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main else None
    session = builder.getOrCreate()
    if in_main and previous is not None:
        signal.signal(signal.SIGINT, previous)
    session.sparkContext.setLogLevel("ERROR")
    if executable:
        # PySpark reads the workers' Python from PYSPARK_PYTHON when the context starts; the
        # setting above is for spark-submit. Point this context at it without the environment.
        session.sparkContext.pythonExec = executable
    return session


def _quiet_log4j() -> str:
    folder = Path(tempfile.gettempdir()) / "edm-spark"
    folder.mkdir(exist_ok=True)
    path = folder / "log4j2-errors-v2.properties"
    if not path.is_file():  # whole or absent: another job may be starting its JVM on it
        write_text_atomically(
            path,
            "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
            "appender.console.type = Console\nappender.console.name = console\n"
            "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n"
            # Tasks cancelled by Ctrl-C finish after the session stops and log a stack each.
            "logger.cancelled.name = org.apache.spark.TaskContextImpl\n"
            "logger.cancelled.level = fatal\n",
        )
    return str(path)


def ship_model(session: Any, folder: Path) -> str:
    """Where executors find the MLflow model: its folder on a local master (same disk), else
    a copy shipped with ``SparkContext.addFile`` to every executor."""
    if is_local(session.sparkContext.master):
        return str(folder)
    session.sparkContext.addFile(str(folder), recursive=True)
    return f"sparkfiles:{folder.name}"


def default_parallelism(session: Any) -> int:
    return max(1, int(session.sparkContext.defaultParallelism))
