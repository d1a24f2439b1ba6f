"""From a folder of annotated tracks to a trained, registered model: the job ``edm train`` runs.

It only assembles library parts — dataset, split, loaders, model, Trainer — so the CLI stays a
thin shell and a notebook can do the same in one call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from edm.data.dataset import (
    FileWarning,
    SkippedFile,
    TrackSelection,
    TrainingDataset,
    ValidationDataset,
    collate,
    split_tracks,
)
from edm.errors import DataError
from edm.models import ModelConfig, build_model
from edm.training.config import TrainingConfig
from edm.training.events import TrainingCallback, TrainingResult
from edm.training.sources import TrainingData, load_sources
from edm.training.trainer import Trainer

if TYPE_CHECKING:
    from edm.registry import ModelRegistry
    from edm.training.finetune import Parent

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
    n_heldout_tracks: int = 0  # left out by the folders' split files (edm data split)
    section_labels: str | None = None  # the section labeller's verdict, when one was fitted


def train_from_directory(
    data_dir: Path | Sequence[Path],
    config: TrainingConfig,
    registry: ModelRegistry | None = None,
    *,
    audio_dirs: Iterable[Path | str] = (),
    model_options: dict[str, Any] | None = None,
    crops_per_track: int = 4,
    callbacks: Iterable[TrainingCallback] = (),
    mix: dict[Path, float] | None = None,
    parent: Parent | None = None,
    learn_labels: bool | None = None,
) -> TrainingJob:
    """Train on the usable annotated tracks under ``data_dir`` that ``config.min_tier`` and
    ``config.min_confidence`` select; report skipped files.

    Audio not beside its annotation is looked for in ``audio_dirs``. With a registry the run
    gets tags for the data: ``dataset_hash`` of exactly the files used, and how many tracks of
    each tier it used (``data_tier_1_tracks``...). ``callbacks`` receive the trainer's progress
    events (``edm.training.events``).

    ``data_dir`` may be several folders, and ``mix`` weights them (``edm.training.sources``);
    tracks a folder's split file holds out are never trained on. ``parent``
    (``edm.training.finetune``) gives the starting model and weights: a fine-tune.
    ``learn_labels`` (default: when fine-tuning) fits a section labeller on the training
    folders and keeps it in the checkpoint if it beats the hand priors in cross-validation
    (``edm.training.section_labels``).
    """
    selection = TrackSelection(config.min_tier, config.min_confidence)
    folders = [Path(data_dir)] if isinstance(data_dir, str | Path) else list(data_dir)
    loaded = load_sources(folders, mix=mix, selection=selection, audio_dirs=audio_dirs)
    for skipped in loaded.skipped:
        log.info("skipped %s", skipped)
    train_tracks, val_tracks = split_tracks(loaded.tracks, config.val_fraction, config.seed)
    if not train_tracks or not val_tracks:
        raise DataError(
            f"{', '.join(map(str, folders))}: {len(loaded.tracks)} usable track(s) not held "
            "out: need at least 2 to train "
            "and validate on different tracks"
        )

    torch.manual_seed(config.seed)  # the model's initial weights follow the seed too
    if parent is not None:
        model_config, model = parent.model_config, parent.build_model()
    else:
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

    sampler = None
    if loaded.weighted:  # each folder's share of the crops follows its --mix weight
        per_track = loaded.sampling_weights(train_set.tracks)
        sampler = WeightedRandomSampler(
            [per_track[i % len(per_track)] for i in range(len(train_set))],
            num_samples=len(train_set),
            replacement=True,
            generator=torch.Generator().manual_seed(config.seed),
        )
    train_loader = DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        collate_fn=collate,
        num_workers=config.num_workers,
        drop_last=len(train_set) > config.batch_size,
        generator=torch.Generator().manual_seed(config.seed),
    )
    val_loader = DataLoader(
        val_set, batch_size=1, shuffle=False, collate_fn=collate, num_workers=config.num_workers
    )
    data_tags = _data_tags(loaded, selection) if registry is not None else {}
    if parent is not None and registry is not None:
        data_tags.update(parent.tags())
    # The user's --tag wins, as over the trainer's own lineage tags.
    config = config.model_copy(
        update={"data_dir": folders[0], "tags": {**data_tags, **config.tags}}
    )
    labeller_step = None
    if learn_labels if learn_labels is not None else parent is not None:
        from edm.training.section_labels import FolderTracks, SectionLabellerStep

        labeller_step = SectionLabellerStep(
            [FolderTracks(str(s.folder), s.weight, s.tracks) for s in loaded.sources]
        )
    trainer = Trainer(
        model, train_loader, val_loader, config, registry=registry, callbacks=callbacks,
        finish_checkpoint=labeller_step,
    )  # fmt: skip
    result = trainer.train()
    return TrainingJob(
        result,
        loaded.skipped,
        len(train_tracks),
        len(val_tracks),
        warnings=loaded.warnings,
        n_excluded_tracks=len(loaded.excluded),
        tier_counts=loaded.tier_counts(),
        n_heldout_tracks=loaded.n_heldout,
        section_labels=labeller_step.verdict if labeller_step is not None else None,
    )


def _data_tags(loaded: TrainingData, selection: TrackSelection) -> dict[str, str]:
    """What the run was trained on: per folder the hash of exactly the files used, counts."""
    return loaded.tags(selection)
