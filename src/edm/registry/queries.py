"""Reading the registry: versions, their runs, aliases and the audit trail, as typed records.

Every read is a constant number of requests, whatever the number of versions: a team's server
is a network round trip away. Listing 200 versions with one ``get_run`` each took three times
as long as one version search plus one batched run search, even on a local SQLite store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from edm.errors import ConfigError, ModelVersionNotFoundError
from edm.registry.audit import AuditEntry, entries_from_tags
from edm.registry.records import StageHolders, VersionComparison, VersionRecord, version_number
from edm.registry.stages import Stage, aliased_version, stage_of
from edm.registry.store import is_not_found, is_unknown_alias

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

    from edm.registry.store import StoreConnection

_RUN_IDS_PER_SEARCH = 1000

Aliases = dict[str, Any]
ModelTags = dict[str, str]


class Queries:
    """Reads one registered model. ``experiment_id`` gives the experiment edm logs into, where
    a version's run is looked for first."""

    def __init__(
        self, connection: StoreConnection, model_name: str, experiment_id: Callable[[], str]
    ) -> None:
        self._connection = connection
        self.model_name = model_name
        self._experiment_id = experiment_id

    # ------------------------------------------------------------------ records

    def version_records(self, max_results: int = 10) -> list[VersionRecord]:
        """The newest versions first. Three requests: the registered model (aliases), one
        version search, and one batched run search."""
        if max_results < 1:
            raise ConfigError(f"max_results must be at least 1, got {max_results}")
        with self._connection.errors("listing models"):
            state = self.model_state()
            if state is None:
                return []
            aliases, _ = state
            versions = self.search_versions(max_results)
            runs = self.runs_by_id(v.run_id for v in versions if v.run_id)
        return [_record(v, runs.get(v.run_id), aliases) for v in versions]

    def version_record(self, version: int | str) -> VersionRecord | None:
        """One version with its run and the audit entries that involve it; None if missing."""
        try:
            number = version_number(version, self.model_name)
        except ModelVersionNotFoundError:
            return None
        with self._connection.errors(f"reading version {number}"):
            model_version = self.get_version(number)
            if model_version is None:
                return None
            aliases, tags = self.model_aliases_and_tags()
            run = self.runs_by_id([model_version.run_id]).get(model_version.run_id)
        audit = tuple(e for e in entries_from_tags(tags) if e.involves(number))
        return _record(model_version, run, aliases, audit)

    def comparison(self, v1: int, v2: int) -> VersionComparison:
        records = []
        for version in (v1, v2):
            record = self.version_record(version)
            if record is None:
                raise ModelVersionNotFoundError(self.model_name, version)
            records.append(record)
        return VersionComparison(*records)

    def history(self, limit: int | None = None) -> list[AuditEntry]:
        """Every stage change of the model, newest first."""
        with self._connection.errors("reading the audit trail"):
            _, tags = self.model_aliases_and_tags()
        entries = entries_from_tags(tags)
        return entries[:limit] if limit is not None else entries

    def stage_holders(self) -> StageHolders:
        with self._connection.errors("reading aliases"):
            aliases, _ = self.model_aliases_and_tags()
        return StageHolders(
            production=aliased_version(aliases, Stage.PRODUCTION),
            staging=aliased_version(aliases, Stage.STAGING),
        )

    def version_of_alias(self, alias: str) -> int | None:
        """The version an alias (any alias, not only a stage's) points at; None if none."""
        with self._connection.errors(f"reading alias '{alias}'"):
            try:
                found = self._connection.client.get_model_version_by_alias(self.model_name, alias)
            except MlflowException as exc:
                if is_unknown_alias(exc):
                    return None
                raise
        return int(found.version)

    # ------------------------------------------------------------------ store entities
    # For the other parts of the registry, inside their own error handling.

    def model_state(self) -> tuple[Aliases, ModelTags] | None:
        """The registered model's aliases and tags (one request); None if it does not exist."""
        try:
            model = self._connection.client.get_registered_model(self.model_name)
        except MlflowException as exc:
            if is_not_found(exc):
                return None
            raise
        return dict(model.aliases or {}), dict(model.tags or {})

    def model_aliases_and_tags(self) -> tuple[Aliases, ModelTags]:
        return self.model_state() or ({}, {})

    def get_version(self, version: int) -> ModelVersion | None:
        try:
            return self._connection.client.get_model_version(self.model_name, str(version))
        except MlflowException as exc:
            if is_not_found(exc):
                return None
            raise

    def search_versions(self, max_results: int) -> list[ModelVersion]:
        name = self.model_name.replace("'", "\\'")
        versions: list[ModelVersion] = []
        token = None
        while len(versions) < max_results:
            page = self._connection.client.search_model_versions(
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

    def runs_by_id(self, run_ids: Iterable[str]) -> dict[str, Run]:
        wanted = sorted(set(filter(None, run_ids)))
        if not wanted:
            return {}
        found = self._search_runs(wanted, [self._experiment_id()])
        missing = [r for r in wanted if r not in found]
        if missing:  # versions registered from runs of other experiments
            experiments = self._connection.client.search_experiments(view_type=ViewType.ALL)
            found.update(self._search_runs(missing, [e.experiment_id for e in experiments]))
        return found

    def _search_runs(self, run_ids: list[str], experiment_ids: list[str]) -> dict[str, Run]:
        found: dict[str, Run] = {}
        for i in range(0, len(run_ids), _RUN_IDS_PER_SEARCH):
            chunk = run_ids[i : i + _RUN_IDS_PER_SEARCH]
            quoted = ", ".join(f"'{r}'" for r in chunk)
            runs = self._connection.client.search_runs(
                experiment_ids,
                filter_string=f"attributes.run_id IN ({quoted})",
                run_view_type=ViewType.ALL,
                max_results=len(chunk),
            )
            found.update({run.info.run_id: run for run in runs})
        return found


def _record(
    model_version: ModelVersion,
    run: Run | None,
    aliases: Mapping[str, Any],
    audit: tuple[AuditEntry, ...] = (),
) -> VersionRecord:
    version = int(model_version.version)
    return VersionRecord(
        version=version,
        stage=stage_of(version, aliases, model_version.tags),
        aliases=tuple(sorted(a for a, v in aliases.items() if int(v) == version)),
        run_id=model_version.run_id,
        run_name=run.info.run_name if run else None,
        metrics=dict(run.data.metrics) if run else {},
        params=dict(run.data.params) if run else {},
        tags=dict(run.data.tags) if run else {},
        version_tags=dict(model_version.tags),
        created_timestamp=model_version.creation_timestamp,
        description=model_version.description or "",
        source=model_version.source,
        run_status=run.info.status if run else None,
        experiment_id=run.info.experiment_id if run else None,
        audit=audit,
    )
