"""From a folder of annotated tracks to a trained, registered model: the job ``edm train`` runs.

It only assembles library parts — dataset, split, loaders, model, Trainer — so the CLI stays a
thin shell and a notebook can do the same in one call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader

from edm.data.dataset import (
    FileWarning,
    LoadedDataset,
    SkippedFile,
    TrackSelection,
    TrainingDataset,
    ValidationDataset,
    collate,
    load_dataset,
    split_tracks,
)
from edm.errors import DataError
from edm.models import ModelConfig, build_model
from edm.training.config import TrainingConfig
from edm.training.events import TrainingCallback, TrainingResult
from edm.training.trainer import Trainer

if TYPE_CHECKING:
    from edm.registry import ModelRegistry

log = logging.getLogger(__name__)


@dataclass
class TrainingJob:
    result: TrainingResult
    skipped: list[SkippedFile]
    n_train_tracks: int
    n_val_tracks: int
    warnings: list[FileWarning] = field(default_factory=list)
    n_excluded_tracks: int = 0  # usable, but below --min-tier / --min-confidence
    tier_counts: dict[int, int] = field(default_factory=dict)  # of the tracks used


def train_from_directory(
    data_dir: Path,
    config: TrainingConfig,
    registry: ModelRegistry | None = None,
    *,
    audio_dirs: Iterable[Path | str] = (),
    model_options: dict[str, Any] | None = None,
    crops_per_track: int = 4,
    callbacks: Iterable[TrainingCallback] = (),
) -> TrainingJob:
    """Train on the usable annotated tracks under ``data_dir`` that ``config.min_tier`` and
    ``config.min_confidence`` select; report skipped files.

    Audio not beside its annotation is looked for in ``audio_dirs``. With a registry the run
    gets tags for the data: ``dataset_hash`` of exactly the files used, and how many tracks of
    each tier it used (``data_tier_1_tracks``...). ``callbacks`` receive the trainer's progress
    events (``edm.training.events``).
    """
    selection = TrackSelection(config.min_tier, config.min_confidence)
    loaded = load_dataset(data_dir, audio_dirs=audio_dirs, selection=selection)
    for skipped in loaded.skipped:
        log.info("skipped %s", skipped)
    train_tracks, val_tracks = split_tracks(loaded.tracks, config.val_fraction, config.seed)
    if not train_tracks or not val_tracks:
        raise DataError(
            f"{data_dir}: {len(loaded.tracks)} usable track(s): need at least 2 to train "
            "and validate on different tracks"
        )

    torch.manual_seed(config.seed)  # the model's initial weights follow the seed too
    model_config = ModelConfig(backbone=config.backbone, **(model_options or {}))
    model = build_model(model_config)
    common: dict[str, Any] = {
        "input": model_config.input_kind,
        "audio_sample_rate": model_config.sample_rate,
    }
    crops: dict[str, Any] = {
        "crop_seconds": config.crop_seconds,
        "crops_per_track": crops_per_track,
        "seed": config.seed,
        **common,
    }
    augment = config.augment_settings() if model_config.input_kind == "mel" else None
    if augment is not None:
        from edm.training.augment import AugmentedTrainingDataset

        train_set: TrainingDataset = AugmentedTrainingDataset(
            train_tracks, settings=augment, **crops
        )
    else:
        if config.augment and model_config.input_kind != "mel":
            log.info("augmentation works on log-mel input only: off for %s", config.backbone)
        train_set = TrainingDataset(train_tracks, **crops)
    val_set = ValidationDataset(val_tracks, **common)
    # Decode and compute features once, up front, in this process: workers then only read.
    train_set.warm_cache()
    val_set.warm_cache()

    train_loader = DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=True,
        collate_fn=collate,
        num_workers=config.num_workers,
        drop_last=len(train_set) > config.batch_size,
        generator=torch.Generator().manual_seed(config.seed),
    )
    val_loader = DataLoader(
        val_set, batch_size=1, shuffle=False, collate_fn=collate, num_workers=config.num_workers
    )
    data_tags = _data_tags(loaded, selection) if registry is not None else {}
    # The user's --tag wins, as over the trainer's own lineage tags.
    config = config.model_copy(
        update={"data_dir": Path(data_dir), "tags": {**data_tags, **config.tags}}
    )
    trainer = Trainer(
        model, train_loader, val_loader, config, registry=registry, callbacks=callbacks
    )
    result = trainer.train()
    return TrainingJob(
        result,
        loaded.skipped,
        len(train_tracks),
        len(val_tracks),
        warnings=loaded.warnings,
        n_excluded_tracks=len(loaded.excluded),
        tier_counts=loaded.tier_counts(),
    )


def _data_tags(loaded: LoadedDataset, selection: TrackSelection) -> dict[str, str]:
    """What the run was trained on: the hash of exactly the files used, counts per tier."""
    tags = {
        "dataset_hash": loaded.files_hash(),
        "data_selection": selection.describe(),
        "data_excluded_tracks": str(len(loaded.excluded)),
        "data_skipped_files": str(len(loaded.skipped)),
    }
    for tier, count in loaded.tier_counts().items():
        tags[f"data_tier_{tier}_tracks"] = str(count)
    if loaded.audio_dirs:
        tags["audio_dirs"] = ":".join(str(d) for d in loaded.audio_dirs)
    return tags
