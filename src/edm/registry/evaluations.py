"""What data a version was trained and evaluated on, as MLflow dataset inputs, keyed by digest.

Each evaluation logged on a version (``edm evaluate --log``) is a child run of the version's
training run holding the ``test_*`` scores, tagged ``edm.evaluation.digest`` and with the
evaluated data as a dataset input of context ``evaluation``; the training run gets the same
dataset input, so the version's page lists every set it was evaluated on. Evaluations on
different data therefore live side by side: the promotion gate looks up the candidate's and
Production's evaluations with the same digest (``evaluations``).

Training records its data the same way, context ``training``, with the content hash of each
track (``DataRecord.tracks``): the gate refuses an evaluation that shares tracks with the
candidate's training data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.entities import Run

    from edm.registry.store import RetryingClient

EVALUATION_CONTEXT = "evaluation"
TRAINING_CONTEXT = "training"
CONTEXT_TAG = "mlflow.data.context"
DIGEST_TAG = "edm.evaluation.digest"
VERSION_TAG = "edm.evaluation.version"
MAX_TRACKS_LISTED = 20000  # the profile stays well under the store's text limits


@dataclass(frozen=True)
class DataRecord:
    """A set of tracks: its digest (the hash of exactly its files), where it was read, and
    ``tracks``: the content hash of each track's audio → the track's name."""

    digest: str
    source: str
    n_tracks: int
    tracks: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.source.rstrip("/").rsplit("/", 1)[-1] or self.source

    def overlap(self, other: DataRecord) -> list[str]:
        """Names (as in ``self``) of the tracks both hold, by content hash, sorted."""
        return sorted(self.tracks[h] for h in self.tracks.keys() & other.tracks.keys())

    def to_mlflow(self, context: str) -> Any:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        listed = dict(list(self.tracks.items())[:MAX_TRACKS_LISTED])
        profile = json.dumps({"num_tracks": self.n_tracks, "tracks": listed}, sort_keys=True)
        dataset = Dataset(
            name=self.name,
            digest=self.digest,
            source_type="local",
            source=json.dumps({"uri": self.source}),
            profile=profile,
        )
        return DatasetInput(dataset=dataset, tags=[InputTag(key=CONTEXT_TAG, value=context)])

    @classmethod
    def from_mlflow(cls, dataset: Any) -> DataRecord:
        try:
            source = str(json.loads(dataset.source).get("uri", dataset.source))
        except (ValueError, AttributeError, TypeError):
            source = str(dataset.source)
        try:
            profile = json.loads(dataset.profile or "{}")
        except ValueError:
            profile = {}
        tracks = profile.get("tracks") if isinstance(profile, dict) else None
        return cls(
            digest=str(dataset.digest),
            source=source,
            n_tracks=int(profile.get("num_tracks", 0)) if isinstance(profile, dict) else 0,
            tracks={str(k): str(v) for k, v in (tracks or {}).items()},
        )


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation of a version: on which data, its ``test_*`` scores, its run."""

    version: int
    run_id: str
    data: DataRecord
    metrics: dict[str, float]
    start_time: int = 0


def log_data(client: RetryingClient, run_id: str, data: DataRecord, context: str) -> None:
    """Record ``data`` as a dataset input of ``run_id`` (a finished run stays as it was)."""
    client.log_inputs(run_id, datasets=[data.to_mlflow(context)])


def data_of(run: Run, context: str) -> list[DataRecord]:
    """The dataset inputs of ``run`` with that context, as logged."""
    inputs = getattr(run, "inputs", None)
    found = []
    for item in getattr(inputs, "dataset_inputs", None) or []:
        if any(t.key == CONTEXT_TAG and t.value == context for t in item.tags or []):
            found.append(DataRecord.from_mlflow(item.dataset))
    return found


def training_data(run: Run) -> DataRecord | None:
    """What the version behind ``run`` was trained on: its dataset input of context
    ``training``, else (trained before edm recorded it) its ``dataset_hash`` tag alone."""
    recorded = data_of(run, TRAINING_CONTEXT)
    if recorded:
        return recorded[-1]
    digest = run.data.tags.get("dataset_hash")
    if digest:
        return DataRecord(digest=digest, source=run.data.tags.get("data_dir", "?"), n_tracks=0)
    return None


def evaluations(client: RetryingClient, run: Run, version: int) -> dict[str, EvaluationRecord]:
    """The evaluations of the version trained in ``run`` by data digest, the newest for each."""
    children = client.search_runs(
        experiment_ids=[run.info.experiment_id],
        filter_string=(
            f"tags.`mlflow.parentRunId` = '{run.info.run_id}' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1000,
    )
    found: dict[str, EvaluationRecord] = {}
    for child in children:
        digest = child.data.tags.get(DIGEST_TAG)
        if not digest or digest in found:
            continue
        data = next((d for d in data_of(child, EVALUATION_CONTEXT) if d.digest == digest), None)
        if data is None:
            data = DataRecord(digest, child.data.tags.get("edm.evaluation.data_dir", "?"), 0)
        found[digest] = EvaluationRecord(
            version=version,
            run_id=child.info.run_id,
            data=data,
            metrics=dict(child.data.metrics),
            start_time=int(child.info.start_time or 0),
        )
    return found
