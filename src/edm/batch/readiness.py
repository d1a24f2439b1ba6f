"""Before the first chunk on a master of other hosts: do executors start, and can each of
them run edm on the shipped model and the shared folders? One short Spark job says, in one
line, rather than every task of the first chunk failing four times."""

from __future__ import annotations

import threading
import uuid
from functools import partial
from importlib.metadata import version
from typing import Any

from edm.batch import executor_probe
from edm.batch.spark import default_parallelism
from edm.batch.spark_errors import ENVIRONMENT_HINT, SparkFailures
from edm.code_version import DISTRIBUTION
from edm.errors import ClusterError


def check_executors(
    session: Any,
    failures: SparkFailures,
    *,
    model_location: str,
    shared_paths: tuple[str, ...],
    wait_s: float,
) -> list[dict[str, Any]]:
    """One probe task per core; their reports, or ClusterError naming the first problem."""
    from pyspark import cloudpickle

    # By value: the probe must run where `import edm` fails.
    cloudpickle.register_pickle_by_value(executor_probe)
    context = session.sparkContext
    tasks = default_parallelism(session)
    probe = partial(
        executor_probe.probe_executor, shared_paths=shared_paths, model_location=model_location
    )
    group = f"edm-batch-probe-{uuid.uuid4().hex[:8]}"
    outcome: dict[str, Any] = {}

    def run() -> None:
        context.setJobGroup(group, "edm batch: can the executors run edm?", True)
        try:
            outcome["reports"] = context.parallelize(range(tasks), tasks).map(probe).collect()
        except Exception as exc:  # reported in the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="edm-batch-probe", daemon=True)
    thread.start()
    thread.join(wait_s)
    if thread.is_alive():
        context.cancelJobGroup(group)
        thread.join(30)
        address = context.getConf().get("spark.driver.host", "this host")
        raise ClusterError(
            f"no executor ran a task within {wait_s:.0f} s on {failures.master}: check that "
            "workers are up with free cores and the memory asked for (spark.executor.memory), "
            f"and that they can connect back to this driver at {address} (--driver-host)"
        )
    if "error" in outcome:
        raise failures.explain(outcome["error"], "the executors' check failed")
    reports: list[dict[str, Any]] = outcome["reports"]
    for report in reports:
        if report["problem"]:
            raise ClusterError(_problem(report))
    ours = version(DISTRIBUTION)
    for report in reports:
        if report["edm_version"] != ours:
            raise ClusterError(
                f"the executors run edm {report['edm_version']} ({report['python']} on "
                f"{report['host']}), this driver {ours}: the same code must answer everywhere; "
                + ENVIRONMENT_HINT
            )
    return reports


def _problem(report: dict[str, Any]) -> str:
    if report["kind"] == "environment":
        return (
            f"the executors' Python ({report['python']} on {report['host']}) cannot run edm "
            f"({report['problem']}): " + ENVIRONMENT_HINT
        )
    return str(report["problem"])
