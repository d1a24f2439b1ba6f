"""ModelRegistry: the spec's API on MLflow 3, with aliases for stages and an audit trail.

Every method talks to the store in a constant number of requests, whatever the number of
versions: a team's server is a network round trip away.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from edm import settings
from edm.data.lineage import code_version_tags
from edm.errors import (
    CheckpointNotFoundError,
    ConfigError,
    InvalidTransitionError,
    ModelVersionNotFoundError,
    NoProductionModelError,
    RegistryError,
)
from edm.registry.audit import AuditEntry, entries_from_tags, production_timeline
from edm.registry.gate import PromotionGate
from edm.registry.stages import ARCHIVED_TAG, Stage, aliased_version, stage_of
from edm.registry.store import (
    RetryingClient,
    is_already_exists,
    is_not_found,
    make_client,
    registry_lock,
    store_errors,
)
from edm.registry.tracked_run import CHECKPOINT_ARTIFACT_PATH, TrackedRun

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

DEFAULT_TAGS = {"model_type": "multitask"}
_RUN_IDS_PER_SEARCH = 1000


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
    ) -> None:
        """``promotion_gate=None`` turns the Production gate off (see ``edm.registry.gate``)."""
        self.store = settings.resolve_store(tracking_uri)
        self.tracking_uri = self.store.tracking_uri
        self.experiment_name = experiment_name
        self.model_name = model_name or settings.model_name()
        self.download_dir = Path(download_dir or settings.DEFAULT_DOWNLOAD_DIR)
        self.promotion_gate = promotion_gate
        self._client: RetryingClient | None = None
        self._experiment_id: str | None = None
        self._model_exists = False

    @property
    def client(self) -> RetryingClient:
        """The MLflow client on this store (its calls retried on transient contention)."""
        if self._client is None:
            self._client = make_client(self.store)
        return self._client

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
        model_path = Path(model_path)
        if not model_path.is_file():
            raise CheckpointNotFoundError(model_path)
        metric_values = _validated_metrics(metrics)
        with self.start_run(run_name, tags=tags) as run:
            run.log_params(params)
            run.log_metrics(metric_values)
            run.register(model_path)
        return run.run_id

    def start_run(
        self,
        run_name: str,
        tags: Mapping[str, Any] | None = None,
        *,
        resume_run_id: str | None = None,
    ) -> TrackedRun:
        """Open a run to log into while training; use it as a context manager.

        Default tags (git commit, dirty flag, model type) come first; the caller's win.
        ``resume_run_id`` reopens an earlier run of this store (a resumed training).
        """
        all_tags = {
            **code_version_tags(),
            **DEFAULT_TAGS,
            **{k: str(v) for k, v in (tags or {}).items()},
        }
        with store_errors(self.store, f"creating run '{run_name}'"):
            if resume_run_id is not None:
                run = self.client.get_run(resume_run_id)
                self.client.update_run(resume_run_id, status="RUNNING")
            else:
                experiment_id = self._ensure_experiment()
                run = self.client.create_run(experiment_id, run_name=run_name, tags=all_tags)
        info = run.info
        return TrackedRun(
            self, info.run_id, info.run_name or run_name, info.artifact_uri, run.data.params
        )

    def register_run_checkpoint(self, run_id: str, artifact_uri: str, checkpoint_name: str) -> int:
        """Create a model version whose source is the run's ``model/`` artifact folder.

        ``mlflow.register_model("runs:/<id>/model")`` fails on MLflow 3 for a folder that is
        not a logged MLflow model, so the version is created from the artifact source directly.
        """
        self._ensure_registered_model()
        version = self.client.create_model_version(
            self.model_name,
            source=f"{artifact_uri.rstrip('/')}/{CHECKPOINT_ARTIFACT_PATH}",
            run_id=run_id,
            tags={"checkpoint": checkpoint_name},
        )
        return int(version.version)

    # ------------------------------------------------------------------ stages

    def promote_model(
        self, version: int, stage: str, reason: str | None = None, *, force: bool = False
    ) -> AuditEntry | None:
        """Move a version to a stage; returns the audit entry, or None when it was already there.

        To Production, the promotion gate must pass unless ``force`` (which needs a reason).
        """
        target = Stage.parse(stage)
        version = _version_number(version, self.model_name)
        if force and not (reason or "").strip():
            raise ConfigError("a forced promotion needs a reason (--reason TEXT)")
        with (
            store_errors(self.store, f"promoting version {version}"),
            registry_lock(self.client, self.model_name),
        ):
            return self._change_stage(version, target, reason, action="promote", forced=force)

    def rollback(self, reason: str | None = None) -> AuditEntry:
        """Put back the version that was in Production before the current one."""
        with store_errors(self.store, "rolling back"), registry_lock(self.client, self.model_name):
            aliases, tags = self._model_aliases_and_tags()
            current = aliased_version(aliases, Stage.PRODUCTION)
            if current is None:
                raise NoProductionModelError(
                    f"no version of '{self.model_name}' is in Production: nothing to roll back"
                )
            timeline = production_timeline(entries_from_tags(tags))
            if len(timeline) < 2 or timeline[-1] != current:
                raise NoProductionModelError(
                    f"no earlier Production version of '{self.model_name}' is recorded "
                    f"before version {current}: nothing to roll back to"
                )
            entry = self._change_stage(timeline[-2], Stage.PRODUCTION, reason, action="rollback")
        assert entry is not None  # the target is not the current production version
        return entry

    def _change_stage(
        self, version: int, target: Stage, reason: str | None, *, action: str, forced: bool = False
    ) -> AuditEntry | None:
        """Apply one stage change; on failure undo what was done. Caller holds the lock."""
        model_version = self._get_version(version)
        if model_version is None:
            raise ModelVersionNotFoundError(self.model_name, version)
        aliases, _ = self._model_aliases_and_tags()
        current = stage_of(version, aliases, model_version.tags)
        if current == target:
            return None
        if target == Stage.STAGING and current == Stage.PRODUCTION:
            raise InvalidTransitionError(
                f"version {version} is in Production: promote another version to Production "
                "before moving this one to Staging"
            )

        if target == Stage.PRODUCTION and action == "promote" and not forced:
            self._check_gate(model_version, aliased_version(aliases, Stage.PRODUCTION))

        undo: list[Callable[[], None]] = []
        try:
            displaced = self._apply_stage(version, current, target, aliases, model_version, undo)
            entry = AuditEntry.create(
                version=version,
                from_stage=current,
                to_stage=target,
                user=settings.current_user(),
                reason=reason,
                action=action,
                displaced_version=displaced,
                forced=forced,
            )
            self.client.set_registered_model_tag(self.model_name, entry.key, entry.to_tag_value())
        except BaseException:
            for step in reversed(undo):
                with suppress(MlflowException):
                    step()
            raise
        return entry

    def _check_gate(self, candidate: ModelVersion, production: int | None) -> None:
        if self.promotion_gate is None:
            return
        production_version = self._get_version(production) if production is not None else None
        run_ids = [candidate.run_id] + ([production_version.run_id] if production_version else [])
        runs = self._runs_by_id(run_ids)

        def metrics_of(model_version: ModelVersion | None) -> dict[str, float]:
            run = runs.get(model_version.run_id) if model_version else None
            return dict(run.data.metrics) if run else {}

        self.promotion_gate.check(
            int(candidate.version),
            metrics_of(candidate),
            production,
            metrics_of(production_version),
        )

    def _apply_stage(
        self,
        version: int,
        current: Stage,
        target: Stage,
        aliases: Mapping[str, Any],
        model_version: ModelVersion,
        undo: list[Callable[[], None]],
    ) -> int | None:
        """Move aliases and tags for one change, recording how to undo each step."""
        client, name = self.client, self.model_name
        displaced: int | None = None

        def set_alias(alias: str, to_version: int) -> None:
            before = aliases.get(alias)
            client.set_registered_model_alias(name, alias, str(to_version))
            if before is None:
                undo.append(lambda: client.delete_registered_model_alias(name, alias))
            else:
                undo.append(lambda: client.set_registered_model_alias(name, alias, str(before)))

        def drop_alias(alias: str) -> None:
            before = aliases[alias]
            client.delete_registered_model_alias(name, alias)
            undo.append(lambda: client.set_registered_model_alias(name, alias, str(before)))

        def set_archived(of_version: int, archived: bool) -> None:
            if archived:
                client.set_model_version_tag(name, str(of_version), ARCHIVED_TAG, "true")
                undo.append(
                    lambda: client.delete_model_version_tag(name, str(of_version), ARCHIVED_TAG)
                )
            else:
                client.delete_model_version_tag(name, str(of_version), ARCHIVED_TAG)
                undo.append(
                    lambda: client.set_model_version_tag(
                        name, str(of_version), ARCHIVED_TAG, "true"
                    )
                )

        if target.alias is not None:
            displaced = aliased_version(aliases, target)
            set_alias(target.alias, version)
        for stage in (Stage.PRODUCTION, Stage.STAGING):
            if stage != target and aliased_version(aliases, stage) == version:
                drop_alias(stage.alias or "")
        was_archived = ARCHIVED_TAG in model_version.tags
        if target == Stage.ARCHIVED and not was_archived:
            set_archived(version, True)
        elif target != Stage.ARCHIVED and was_archived:
            set_archived(version, False)
        if target == Stage.PRODUCTION and displaced is not None and displaced != version:
            set_archived(displaced, True)
        return displaced if displaced != version else None

    # ------------------------------------------------------------------ reading

    def load_production_model(self, output_dir: str | Path | None = None) -> Path | None:
        """Download the Production checkpoint; return its ``.pt`` path, or None if none."""
        with store_errors(self.store, "loading the production model"):
            aliases, _ = self._model_aliases_and_tags()
            version = aliased_version(aliases, Stage.PRODUCTION)
            if version is None:
                return None
            return self.download_version(version, output_dir)

    def download_version(self, version: int, output_dir: str | Path | None = None) -> Path:
        """Download a version's checkpoint folder atomically; return the ``.pt`` file in it."""
        version = _version_number(version, self.model_name)
        with store_errors(self.store, f"downloading version {version}"):
            model_version = self._get_version(version)
            if model_version is None:
                raise ModelVersionNotFoundError(self.model_name, version)
            root = Path(output_dir or self.download_dir).resolve()
            root.mkdir(parents=True, exist_ok=True)
            final = root / f"{self.model_name}-v{version}"
            with tempfile.TemporaryDirectory(dir=root, prefix=".partial-") as tmp:
                if model_version.run_id:
                    fetched = self.client.download_artifacts(
                        model_version.run_id, CHECKPOINT_ARTIFACT_PATH, tmp
                    )
                else:
                    from mlflow.artifacts import download_artifacts

                    fetched = download_artifacts(
                        artifact_uri=model_version.source,
                        dst_path=tmp,
                        tracking_uri=self.tracking_uri,
                    )
                checkpoints = sorted(Path(fetched).rglob("*.pt"))
                if not checkpoints:
                    raise RegistryError(f"version {version} has no .pt checkpoint in its artifacts")
                relative = checkpoints[0].relative_to(fetched)
                if final.exists():
                    shutil.rmtree(final)
                Path(fetched).rename(final)
        return final / relative

    def list_models(self, max_results: int = 10) -> list[dict[str, Any]]:
        """The newest versions first, each with its stage and its run's data.

        Three requests whatever the number of versions: the registered model (aliases),
        one version search, and one batched run search.
        """
        if max_results < 1:
            raise ConfigError(f"max_results must be at least 1, got {max_results}")
        with store_errors(self.store, "listing models"):
            state = self._model_state()
            if state is None:
                return []
            aliases, _ = state
            versions = self._search_versions(max_results)
            runs = self._runs_by_id(v.run_id for v in versions if v.run_id)
        return [_version_summary(v, runs.get(v.run_id), aliases) for v in versions]

    def get_model_info(self, version: int) -> dict[str, Any] | None:
        """Everything about one version, with its audit entries; None if it does not exist."""
        try:
            version = _version_number(version, self.model_name)
        except ModelVersionNotFoundError:
            return None
        with store_errors(self.store, f"reading version {version}"):
            model_version = self._get_version(version)
            if model_version is None:
                return None
            aliases, tags = self._model_aliases_and_tags()
            run = self._runs_by_id([model_version.run_id]).get(model_version.run_id)
        info = _version_summary(model_version, run, aliases)
        info["description"] = model_version.description or ""
        info["source"] = model_version.source
        info["run_status"] = run.info.status if run else None
        info["experiment_id"] = run.info.experiment_id if run else None
        info["audit"] = [e.to_dict() for e in entries_from_tags(tags) if e.involves(version)]
        return info

    def history(self, limit: int | None = None) -> list[AuditEntry]:
        """Every stage change of the model, newest first."""
        with store_errors(self.store, "reading the audit trail"):
            _, tags = self._model_aliases_and_tags()
        entries = entries_from_tags(tags)
        return entries[:limit] if limit is not None else entries

    def compare(self, v1: int, v2: int) -> dict[str, Any]:
        """Params and metrics of two versions side by side, differences marked."""
        infos = []
        for version in (v1, v2):
            info = self.get_model_info(version)
            if info is None:
                raise ModelVersionNotFoundError(self.model_name, version)
            infos.append(info)
        left, right = infos

        def rows(key: str) -> list[dict[str, Any]]:
            names = sorted(set(left[key]) | set(right[key]))
            return [
                {
                    "name": n,
                    "values": [left[key].get(n), right[key].get(n)],
                    "differs": left[key].get(n) != right[key].get(n),
                }
                for n in names
            ]

        return {
            "versions": [left["version"], right["version"]],
            "stages": [left["stage"], right["stage"]],
            "run_names": [left["run_name"], right["run_name"]],
            "params": rows("params"),
            "metrics": rows("metrics"),
        }

    def current_versions(self) -> dict[str, int | None]:
        """Which version holds Production and Staging now."""
        with store_errors(self.store, "reading aliases"):
            aliases, _ = self._model_aliases_and_tags()
        return {
            Stage.PRODUCTION.value: aliased_version(aliases, Stage.PRODUCTION),
            Stage.STAGING.value: aliased_version(aliases, Stage.STAGING),
        }

    # ------------------------------------------------------------------ internals

    def _ensure_experiment(self) -> str:
        if self._experiment_id is not None:
            return self._experiment_id
        experiment = self.client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            try:
                self._experiment_id = self.client.create_experiment(
                    self.experiment_name, artifact_location=self.store.artifact_root
                )
                return self._experiment_id
            except MlflowException as exc:
                if not is_already_exists(exc):  # another process created it first
                    raise
                experiment = self.client.get_experiment_by_name(self.experiment_name)
        if experiment is None or experiment.lifecycle_stage == "deleted":
            raise ConfigError(
                f"experiment '{self.experiment_name}' is deleted: restore it with "
                f"'mlflow experiments restore' or choose another experiment name"
            )
        self._experiment_id = experiment.experiment_id
        return self._experiment_id

    def _ensure_registered_model(self) -> None:
        if self._model_exists:
            return
        try:
            self.client.create_registered_model(
                self.model_name, description="EDM track-structure models trained with edm."
            )
        except MlflowException as exc:
            if not is_already_exists(exc):
                raise
        self._model_exists = True

    def _model_state(self) -> tuple[dict[str, Any], dict[str, str]] | None:
        """The registered model's aliases and tags (one request); None if it does not exist."""
        try:
            model = self.client.get_registered_model(self.model_name)
        except MlflowException as exc:
            if is_not_found(exc):
                return None
            raise
        return dict(model.aliases or {}), dict(model.tags or {})

    def _model_aliases_and_tags(self) -> tuple[dict[str, Any], dict[str, str]]:
        return self._model_state() or ({}, {})

    def _get_version(self, version: int) -> ModelVersion | None:
        try:
            return self.client.get_model_version(self.model_name, str(version))
        except MlflowException as exc:
            if is_not_found(exc):
                return None
            raise

    def _search_versions(self, max_results: int) -> list[ModelVersion]:
        name = self.model_name.replace("'", "\\'")
        versions: list[ModelVersion] = []
        token = None
        while len(versions) < max_results:
            page = self.client.search_model_versions(
                f"name='{name}'",
                max_results=max_results - len(versions),
                order_by=["version_number DESC"],
                page_token=token,
            )
            versions.extend(page)
            token = page.token
            if not token:
                break
        return versions

    def _runs_by_id(self, run_ids: Iterable[str]) -> dict[str, Run]:
        wanted = sorted(set(filter(None, run_ids)))
        if not wanted:
            return {}
        found = self._search_runs(wanted, [self._ensure_experiment()])
        missing = [r for r in wanted if r not in found]
        if missing:  # versions registered from runs of other experiments
            experiments = self.client.search_experiments(view_type=ViewType.ALL)
            found.update(self._search_runs(missing, [e.experiment_id for e in experiments]))
        return found

    def _search_runs(self, run_ids: list[str], experiment_ids: list[str]) -> dict[str, Run]:
        found: dict[str, Run] = {}
        for i in range(0, len(run_ids), _RUN_IDS_PER_SEARCH):
            chunk = run_ids[i : i + _RUN_IDS_PER_SEARCH]
            quoted = ", ".join(f"'{r}'" for r in chunk)
            runs = self.client.search_runs(
                experiment_ids,
                filter_string=f"attributes.run_id IN ({quoted})",
                run_view_type=ViewType.ALL,
                max_results=len(chunk),
            )
            found.update({run.info.run_id: run for run in runs})
        return found


def _version_number(version: int | str, model_name: str) -> int:
    try:
        number = int(str(version).strip())
    except ValueError:
        raise ModelVersionNotFoundError(model_name, version) from None
    if number < 1:
        raise ModelVersionNotFoundError(model_name, version)
    return number


def _validated_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    values = {}
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"metric '{key}' is not a number: {value!r}") from None
        if math.isnan(number):
            raise ConfigError(f"metric '{key}' is NaN")
        values[str(key)] = number
    return values


def _format_time(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _version_summary(
    model_version: ModelVersion, run: Run | None, aliases: Mapping[str, Any]
) -> dict[str, Any]:
    version = int(model_version.version)
    return {
        "version": version,
        "stage": stage_of(version, aliases, model_version.tags).value,
        "aliases": sorted(a for a, v in aliases.items() if int(v) == version),
        "run_id": model_version.run_id,
        "run_name": run.info.run_name if run else None,
        "metrics": dict(run.data.metrics) if run else {},
        "params": dict(run.data.params) if run else {},
        "tags": dict(run.data.tags) if run else {},
        "version_tags": dict(model_version.tags),
        "created_timestamp": model_version.creation_timestamp,
        "created": _format_time(model_version.creation_timestamp),
    }
