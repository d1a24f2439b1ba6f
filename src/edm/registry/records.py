"""What the registry reads, as typed records; the spec's dicts are made here and nowhere else.

Records are plain data: building them is the queries' job, and nothing here imports MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edm.errors import ModelVersionNotFoundError
from edm.registry.audit import AuditEntry
from edm.registry.stages import Stage

LOGGED_MODEL_PREFIX = "models:/"
MLFLOW_MODEL_KIND = "mlflow-model"
CHECKPOINT_KIND = "checkpoint"


@dataclass(frozen=True)
class VersionRecord:
    """One registered version with its stage and its run's data.

    ``audit`` holds the stage changes that involve this version; it is read for one version
    (``version_record``) and left empty in listings, which stay a constant number of requests.
    """

    version: int
    stage: Stage
    aliases: tuple[str, ...] = ()
    run_id: str | None = None
    run_name: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    version_tags: Mapping[str, str] = field(default_factory=dict)
    created_timestamp: int | None = None  # ms since the epoch, as MLflow keeps it
    description: str = ""
    source: str = ""
    run_status: str | None = None
    experiment_id: str | None = None
    audit: tuple[AuditEntry, ...] = ()

    @property
    def model_id(self) -> str | None:
        """The MLflow logged model this version is, or None for a bare checkpoint version."""
        if self.source.startswith(LOGGED_MODEL_PREFIX):
            return self.source.removeprefix(LOGGED_MODEL_PREFIX).strip("/") or None
        return None

    @property
    def kind(self) -> str:
        """``mlflow-model``: loads with mlflow.pyfunc and serves with ``mlflow models serve``;
        ``checkpoint``: a bare ``.pt`` registered before edm logged MLflow models."""
        return MLFLOW_MODEL_KIND if self.model_id is not None else CHECKPOINT_KIND

    @property
    def created(self) -> datetime | None:
        if not self.created_timestamp:
            return None
        return datetime.fromtimestamp(self.created_timestamp / 1000, tz=UTC)

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """The spec's dict: a ``list_models`` row, or with ``detail`` a ``get_model_info``."""
        created = self.created
        summary: dict[str, Any] = {
            "version": self.version,
            "stage": self.stage.value,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "run_name": self.run_name,
            "metrics": dict(self.metrics),
            "params": dict(self.params),
            "tags": dict(self.tags),
            "version_tags": dict(self.version_tags),
            "created_timestamp": self.created_timestamp,
            "created": created.isoformat(timespec="seconds") if created else None,
        }
        if not detail:
            return summary
        return summary | {
            "kind": self.kind,
            "model_id": self.model_id,
            "description": self.description,
            "source": self.source,
            "run_status": self.run_status,
            "experiment_id": self.experiment_id,
            "audit": [entry.to_dict() for entry in self.audit],
        }


@dataclass(frozen=True)
class ComparedValue:
    name: str
    left: Any
    right: Any

    @property
    def differs(self) -> bool:
        return self.left != self.right


@dataclass(frozen=True)
class VersionComparison:
    """Two versions side by side: every param and metric either of them has, by name."""

    left: VersionRecord
    right: VersionRecord

    @property
    def params(self) -> list[ComparedValue]:
        return _side_by_side(self.left.params, self.right.params)

    @property
    def metrics(self) -> list[ComparedValue]:
        return _side_by_side(self.left.metrics, self.right.metrics)

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``compare`` dict."""

        def rows(values: list[ComparedValue]) -> list[dict[str, Any]]:
            return [
                {"name": v.name, "values": [v.left, v.right], "differs": v.differs} for v in values
            ]

        return {
            "versions": [self.left.version, self.right.version],
            "stages": [self.left.stage.value, self.right.stage.value],
            "run_names": [self.left.run_name, self.right.run_name],
            "params": rows(self.params),
            "metrics": rows(self.metrics),
        }


@dataclass(frozen=True)
class StageHolders:
    """Which version holds Production and Staging now (None: no version)."""

    production: int | None
    staging: int | None

    def of(self, stage: Stage) -> int | None:
        return {Stage.PRODUCTION: self.production, Stage.STAGING: self.staging}.get(stage)

    def to_dict(self) -> dict[str, int | None]:
        """The spec's ``current_versions`` dict."""
        return {Stage.PRODUCTION.value: self.production, Stage.STAGING.value: self.staging}


def version_number(version: int | str, model_name: str) -> int:
    """A version as given by a caller (``3``, ``"3"``) as a number; not found if it is none."""
    try:
        number = int(str(version).strip())
    except ValueError:
        raise ModelVersionNotFoundError(model_name, version) from None
    if number < 1:
        raise ModelVersionNotFoundError(model_name, version)
    return number


def _side_by_side(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[ComparedValue]:
    return [ComparedValue(n, left.get(n), right.get(n)) for n in sorted(set(left) | set(right))]
