"""Is the store there, and what is in it: what ``edm doctor`` reports.

Reachability is probed directly and quickly (one HTTP request, one database connection, each
with a timeout) before MLflow is asked anything: MLflow itself retries an unreachable store
for minutes. How long MLflow's own requests may then take is the process's setting, applied by
the entry point (``settings.mlflow_fail_fast_environment``; ``edm doctor`` does), never changed
here: other threads share the environment.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from edm.errors import EdmError
from edm.registry.reachability import unreachable_reason
from edm.registry.store import scrub
from edm.settings import redact_uri

if TYPE_CHECKING:
    from edm.registry.model_registry import ModelRegistry


@dataclass(frozen=True)
class StoreHealth:
    tracking_uri: str  # passwords redacted
    registry_uri: str
    artifact_location: str
    model_name: str
    experiment_name: str
    reachable: bool
    problem: str | None = None
    production: int | None = None
    staging: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_store(registry: ModelRegistry, timeout_s: float = 5.0) -> StoreHealth:
    """Probe the store within ``timeout_s``, then read what is in Production and Staging."""
    store = registry.store
    facts = {
        "tracking_uri": store.display_uri,
        "registry_uri": store.display_uri,  # edm keeps the registry in the tracking store
        "model_name": registry.model_name,
        "experiment_name": registry.experiment_name,
    }
    problem = _probe(store.tracking_uri, timeout_s)
    if problem is not None:
        return StoreHealth(
            artifact_location=_default_artifact_location(registry),
            reachable=False,
            problem=scrub(problem, store),
            **facts,
        )
    try:
        holders = registry.stage_holders()
        with registry.connection.errors("reading the experiment"):
            experiment = registry.client.get_experiment_by_name(registry.experiment_name)
    except EdmError as exc:
        return StoreHealth(
            artifact_location=_default_artifact_location(registry),
            reachable=False,
            problem=str(exc),
            **facts,
        )
    location = experiment.artifact_location if experiment else _default_artifact_location(registry)
    return StoreHealth(
        artifact_location=redact_uri(location),
        reachable=True,
        production=holders.production,
        staging=holders.staging,
        **facts,
    )


def _default_artifact_location(registry: ModelRegistry) -> str:
    if registry.store.artifact_root:
        return redact_uri(registry.store.artifact_root)
    if registry.store.is_remote:
        return "chosen by the tracking server (mlflow-artifacts:/)"
    return "MLflow's default for this store"


def _probe(uri: str, timeout_s: float) -> str | None:
    """None when the store answers; else why not, in one line."""
    try:
        if urlsplit(uri).scheme == "sqlite":
            return _probe_sqlite(uri)
        return unreachable_reason(uri, timeout_s, healthy=True)
    except Exception as exc:  # any failure to connect is the answer, not a crash
        return " ".join(str(exc).split()) or type(exc).__name__


def _probe_sqlite(uri: str) -> str | None:
    path = Path(uri.removeprefix("sqlite:///"))
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not os.access(folder, os.W_OK) and not path.exists():
        return f"cannot create the SQLite store {path}: {folder} is not writable"
    return None
