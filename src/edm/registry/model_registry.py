"""ModelRegistry: the spec's API on MLflow 3, a small front over parts with one job each.

- ``runs``: the experiment, its runs, registering a checkpoint (``TrackedRun``);
- ``promotion``: stage changes under the promotion lock, the gate, the audit trail;
- ``queries``: versions, runs, aliases and the audit trail read as typed records;
- ``downloads``: a version's checkpoint on local disk.

The spec's methods return the spec's dicts, made from the records in ``records``; the typed
methods beside them (``version_record``, ``version_records``, ``comparison``,
``stage_holders``) return the records themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm import settings
from edm.errors import ModelVersionNotFoundError, RegistryError
from edm.registry.checkup import Checkup
from edm.registry.downloads import Downloads
from edm.registry.gate import PromotionGate
from edm.registry.promotion import Promotion
from edm.registry.queries import Queries
from edm.registry.runs import Runs
from edm.registry.store import StoreConnection

if TYPE_CHECKING:
    from edm.registry.audit import AuditEntry
    from edm.registry.checkup import RegistryCheck
    from edm.registry.evaluations import DataRecord, EvaluationRecord
    from edm.registry.packaging import Packager
    from edm.registry.promotion import Settled
    from edm.registry.records import StageHolders, VersionComparison, VersionRecord
    from edm.registry.store import RetryingClient
    from edm.registry.tracked_run import TrackedRun
    from edm.registry.trail import Drift, Verification


class ModelRegistry:
    """Log checkpoints as registered model versions and move them through stages."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str = settings.DEFAULT_EXPERIMENT,
        *,
        model_name: str | None = None,
        download_dir: str | Path | None = None,
        promotion_gate: PromotionGate | None = PromotionGate(),
        packager: str | Packager | None = settings.DEFAULT_MODEL_PACKAGER,
    ) -> None:
        """``promotion_gate=None`` turns the Production gate off (see ``edm.registry.gate``).

        ``packager`` turns a checkpoint into an MLflow model when it is registered (see
        ``edm.registry.packaging``); None registers bare checkpoints, as edm once did.
        """
        self.store = settings.resolve_store(tracking_uri)
        self.tracking_uri = self.store.tracking_uri
        self.experiment_name = experiment_name
        self.model_name = model_name or settings.model_name()
        self.download_dir = Path(download_dir or settings.DEFAULT_DOWNLOAD_DIR)
        self.promotion_gate = promotion_gate
        self.connection = StoreConnection(self.store)
        self.packager = packager
        self._runs = Runs(self.connection, experiment_name, self.model_name, packager)
        self._queries = Queries(self.connection, self.model_name, self._runs.experiment_id)
        self._promotion = Promotion(self.connection, self._queries)
        self._checkup = Checkup(self.connection, self._queries)
        self._downloads = Downloads(self.connection, self._queries)

    @property
    def client(self) -> RetryingClient:
        """The MLflow client on this store (its calls retried on transient contention)."""
        return self.connection.client

    def for_model(self, model_name: str) -> ModelRegistry:
        """A registry for another registered model on the same store and settings."""
        return ModelRegistry(
            tracking_uri=self.tracking_uri,
            experiment_name=self.experiment_name,
            model_name=model_name,
            download_dir=self.download_dir,
            promotion_gate=self.promotion_gate,
            packager=self.packager,
        )

    # ------------------------------------------------------------------ logging

    def log_model(
        self,
        model_path: Path,
        run_name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Log a checkpoint with its params, metrics and tags; register it as a new version.

        Returns the run id. The run ends FINISHED only once the version exists; any failure
        on the way marks it FAILED (KILLED on Ctrl-C) so no run is left RUNNING.
        """
        return self._runs.log_model(model_path, run_name, params, metrics, tags)

    def start_run(
        self,
        run_name: str,
        tags: Mapping[str, Any] | None = None,
        *,
        resume_run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> TrackedRun:
        """Open a run to log into while training; use it as a context manager.

        Default tags (git commit, dirty flag, model type, MLflow's provenance tags) come first;
        the caller's win. ``resume_run_id`` reopens an earlier run of this store (a resumed
        training); ``parent_run_id`` opens a child run of that one (an evaluation, say).
        """
        return self._runs.start_run(
            run_name, tags, resume_run_id=resume_run_id, parent_run_id=parent_run_id
        )

    def end_abandoned_run(self, run_id: str, reason: str) -> bool:
        """End a run whose process is known to be gone (killed outright) as KILLED, if it is
        still RUNNING; ``reason`` goes into its ``edm.ended_by`` tag."""
        from edm.registry.abandoned_runs import end_abandoned_run

        return end_abandoned_run(self.connection, run_id, reason)

    def link_metrics(
        self, version: int, metrics: Mapping[str, float], tags: Mapping[str, str] | None = None
    ) -> None:
        """Add metrics (and run tags) to a version, all in one request or none.

        They land on the version's run, where the gate and ``compare`` read them, linked to the
        version's MLflow model so its model page shows them; the run's status and times stay.
        """
        record = self.version_record(version)
        if record is None:
            raise ModelVersionNotFoundError(self.model_name, version)
        if not record.run_id:
            raise RegistryError(f"version {version} of '{self.model_name}' has no run")
        self._runs.link_metrics(record.run_id, record.model_id, metrics, tags)

    def log_data(self, run_id: str, data: DataRecord, context: str) -> None:
        """Record the tracks a run trained on (``context="training"``) or evaluated
        (``"evaluation"``) as an MLflow dataset input keyed by digest (see
        ``edm.registry.evaluations``); a finished run stays as it was."""
        from edm.registry.evaluations import log_data

        with self.connection.errors(f"recording the data of run {run_id}"):
            log_data(self.connection.client, run_id, data, context)

    def evaluations(self, version: int) -> dict[str, EvaluationRecord]:
        """A version's evaluations by data digest (the newest on each set of tracks)."""
        from edm.registry.evaluations import evaluations

        run = self._run_of(version)
        with self.connection.errors(f"reading the evaluations of version {version}"):
            return evaluations(self.connection.client, run, int(version))

    def training_data(self, version: int) -> DataRecord | None:
        """What a version was trained on, as recorded at training time; None if unknown."""
        from edm.registry.evaluations import training_data

        return training_data(self._run_of(version))

    def _run_of(self, version: int) -> Any:
        record = self.version_record(version)
        if record is None:
            raise ModelVersionNotFoundError(self.model_name, version)
        run = self._queries.runs_by_id([record.run_id]).get(record.run_id)
        if run is None:
            raise RegistryError(f"version {version} of '{self.model_name}' has no run")
        return run

    # ------------------------------------------------------------------ stages

    def promote_model(
        self, version: int, stage: str, reason: str | None = None, *, force: bool = False
    ) -> AuditEntry | None:
        """Move a version to a stage; returns the audit entry, or None when it was already there.

        To Production, the promotion gate must pass unless ``force`` (which needs a reason).
        """
        return self._promotion.promote(
            version, stage, reason, force=force, gate=self.promotion_gate
        )

    def rollback(
        self, reason: str | None = None, *, user: str | None = None, only_from: int | None = None
    ) -> AuditEntry:
        """Put back the version that was in Production before the current one.

        ``user`` is recorded instead of the current user (a service acting on its own);
        ``only_from`` refuses (InvalidTransitionError) unless that version is in Production.
        """
        return self._promotion.rollback(reason, user=user, only_from=only_from)

    def repair(self) -> Settled:
        """Finish stage changes a crash left half-done (breaking its stale lock) and record
        alias moves made outside edm in the audit trail."""
        return self._promotion.repair()

    def check_registry(self) -> RegistryCheck:
        """Unfinished changes, alias drift and the audit chain's state; changes nothing."""
        return self._checkup.check()

    def verify_history(self) -> Verification:
        """Check the audit trail's hash chain: entries edited, deleted or inserted."""
        return self._checkup.verify()

    def alias_drift(self) -> list[Drift]:
        """Stage aliases that do not point where the audit trail says (moved outside edm)."""
        return self._checkup.drift()

    # ------------------------------------------------------------------ checkpoints

    def load_production_model(self, output_dir: str | Path | None = None) -> Path | None:
        """Download the Production checkpoint; return its ``.pt`` path, or None if none."""
        return self._downloads.production(output_dir or self.download_dir)

    def download_version(self, version: int, output_dir: str | Path | None = None) -> Path:
        """Download a version's checkpoint folder atomically; return the ``.pt`` file in it."""
        return self._downloads.version(version, output_dir or self.download_dir)

    # ------------------------------------------------------------------ reading (the spec's dicts)

    def list_models(self, max_results: int = 10) -> list[dict[str, Any]]:
        """The newest versions first, each with its stage and its run's data."""
        return [record.to_dict() for record in self.version_records(max_results)]

    def get_model_info(self, version: int) -> dict[str, Any] | None:
        """Everything about one version, with its audit entries; None if it does not exist."""
        record = self.version_record(version)
        return record.to_dict(detail=True) if record is not None else None

    def compare(self, v1: int, v2: int) -> dict[str, Any]:
        """Params and metrics of two versions side by side, differences marked."""
        return self.comparison(v1, v2).to_dict()

    def current_versions(self) -> dict[str, int | None]:
        """Which version holds Production and Staging now."""
        return self.stage_holders().to_dict()

    def history(self, limit: int | None = None) -> list[AuditEntry]:
        """Every stage change of the model, newest first."""
        return self._queries.history(limit)

    # ------------------------------------------------------------------ reading (typed)

    def version_records(self, max_results: int = 10) -> list[VersionRecord]:
        """The newest versions first, in a constant number of store requests."""
        return self._queries.version_records(max_results)

    def version_record(self, version: int | str) -> VersionRecord | None:
        """One version with its run and audit entries; None if it does not exist."""
        return self._queries.version_record(version)

    def comparison(self, v1: int, v2: int) -> VersionComparison:
        return self._queries.comparison(v1, v2)

    def stage_holders(self) -> StageHolders:
        return self._queries.stage_holders()

    def version_of_alias(self, alias: str) -> int | None:
        """The version an alias points at (``production``, or one set in MLflow); None if none."""
        return self._queries.version_of_alias(alias)

    # ------------------------------------------------------------------ live evidence

    def log_live_metrics(self, version: int | str, metrics: Mapping[str, float]) -> str:
        """Log the service's live figures onto a version's (finished) run; returns the run id."""
        from edm.registry.live import log_live_metrics

        return log_live_metrics(self.connection, self._queries, version, metrics)

    def log_drift_reference(self, version: int | str, path: Path) -> str:
        """Store a drift reference (``edm.monitoring.reference``) on a version's run, as
        ``monitoring/drift_reference.json``; returns the run id. A second one replaces it."""
        from edm.registry.version_files import log_version_file

        return log_version_file(self.connection, self._queries, version, Path(path))

    def replace_drift_reference(
        self, version: int | str, path: Path, reason: str, *, user: str | None = None
    ) -> AuditEntry:
        """Replace a version's drift reference by a person's decision (``edm monitor reference
        --from-traffic``), audited in the trail (action ``reference``) under the lock."""
        from edm.registry.version_files import log_version_file

        return self._promotion.record(
            version,
            "reference",
            reason,
            lambda: log_version_file(self.connection, self._queries, version, Path(path)),
            user=user,
        )

    def drift_reference(self, version: int | str) -> dict[str, Any] | None:
        """A version's drift reference document as stored; None when it has none."""
        from edm.registry.version_files import read_version_json

        return read_version_json(self.connection, self._queries, version)
