"""Trainer: trains a MultiTaskModel and records the run in the registry as it goes.

Per epoch, the train and validation losses of every head and the learning rate go to the
MLflow run, so the UI shows curves while training. At the end the run gets the spec's
parameters, final metrics, lineage tags, the config and ``best.pt``, and a new model version
is registered (stage None). A crash or Ctrl-C ends the run FAILED or KILLED; ``last.pt`` and
``best.pt`` are written atomically each epoch, so the last good checkpoint survives.

The trainer draws nothing: progress goes to the callbacks its caller passes (``events``), and
notes go through ``logging``.

Under ``torchrun`` the model is wrapped in DistributedDataParallel and each process gets its
share of the loaders (``distributed.shard_loader``: a DistributedSampler, or a weighted draw
per rank under ``--mix``); only rank 0 talks to MLflow and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from edm.atomic import write_text_atomically
from edm.errors import ConfigError, TrainingError
from edm.models import MultiTaskModel, count_parameters
from edm.models.device import resolve_device
from edm.training import distributed
from edm.training.checkpoints import (
    BEST,
    LAST,
    ResumeState,
    resume_from,
    save_training_checkpoint,
)
from edm.training.config import TrainingConfig
from edm.training.events import (
    BatchDone,
    EarlyStopped,
    EpochDone,
    EpochStarted,
    TrainingCallback,
    TrainingEvent,
    TrainingFinished,
    TrainingResult,
)
from edm.training.losses import HEADS, LossWeights, loss_vector, mean_losses, multitask_loss
from edm.training.naming import generate_run_name
from edm.training.schedule import build_scheduler

if TYPE_CHECKING:
    from edm.registry import ModelRegistry
    from edm.registry.tracked_run import TrackedRun

log = logging.getLogger(__name__)

CONFIG_ARTIFACT = "training_config.json"


class Trainer:
    def __init__(
        self,
        model: MultiTaskModel,
        train_loader: DataLoader,
        val_loader: DataLoader,
        config: TrainingConfig,
        registry: ModelRegistry | None = None,
        *,
        feature_params: Mapping[str, Any] | None = None,
        loss_weights: LossWeights | None = None,
        callbacks: Iterable[TrainingCallback] = (),
        finish_checkpoint: Callable[[Path, TrackedRun | None], None] | None = None,
    ) -> None:
        self.config, self.finish_checkpoint = config, finish_checkpoint
        self.registry = registry
        self.loss_weights = loss_weights or LossWeights()
        self.callbacks = list(callbacks)
        self.device = distributed.process_device(resolve_device(config.device))
        self.dist = distributed.setup(self.device)
        self.model = model.to(self.device)
        self.feature_params = dict(feature_params or _feature_params_of(train_loader))
        self.train_loader = self._distributed_loader(train_loader, shuffle=True)
        self.val_loader = self._distributed_loader(val_loader, shuffle=False)
        self.use_amp = (
            config.mixed_precision
            if config.mixed_precision is not None
            else self.device.type == "cuda"
        )
        self.amp_dtype = (
            torch.bfloat16
            if self.device.type != "cuda" or torch.cuda.is_bf16_supported()
            else torch.float16
        )
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.use_amp and self.amp_dtype == torch.float16
        )
        self.run_name = config.run_name or generate_run_name(config.backbone, config.description)

    # ------------------------------------------------------------------ public

    def train(self) -> TrainingResult:
        config = self.config
        torch.manual_seed(config.seed + self.dist.rank)
        network: nn.Module = self.model
        if self.dist.enabled:
            network = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        scheduler = build_scheduler(optimizer, config, steps_per_epoch=len(self.train_loader))
        state = ResumeState()
        if config.resume is not None:
            state = resume_from(
                config.resume,
                self.model,
                optimizer,
                scheduler,
                self.device,
                continue_run=self.registry is not None,
            )
            self.run_name = state.run_name or self.run_name
        output_dir = state.output_dir or Path(config.output_dir) / self.run_name
        if self.dist.is_main:
            output_dir.mkdir(parents=True, exist_ok=True)
        result = TrainingResult(
            run_name=self.run_name,
            output_dir=output_dir,
            best_checkpoint=output_dir / BEST,
            last_checkpoint=output_dir / LAST,
            best_val_loss=state.best_val_loss,
            best_epoch=state.best_epoch,
            epochs_run=state.start_epoch,
            history=state.history,
        )

        with self._tracked_run(state.run_id) as run:
            result.run_id = run.run_id if run else None
            if run is not None:
                run.log_params(self._params())
            try:
                self._epochs(network, optimizer, scheduler, run, result, state)
                if self.finish_checkpoint is not None and self.dist.is_main:
                    # What the best checkpoint gets before it is a version (or, without a
                    # registry, before it is the result).
                    self.finish_checkpoint(result.best_checkpoint, run)
                if run is not None:
                    self._finish(run, result)
            finally:
                distributed.teardown(self.dist)
        self._emit(TrainingFinished(result))
        return result

    # ------------------------------------------------------------------ epochs

    def _epochs(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        run: TrackedRun | None,
        result: TrainingResult,
        state: ResumeState,
    ) -> None:
        config = self.config
        epochs_without_improvement = state.epochs_without_improvement
        for epoch in range(state.start_epoch, config.num_epochs):
            for loader in (self.train_loader, self.val_loader):
                for holder in (loader.sampler, loader.dataset):
                    if hasattr(holder, "set_epoch"):
                        holder.set_epoch(epoch)
            train = self._train_epoch(network, optimizer, scheduler, epoch)
            val = self._validate(network)
            metrics = {f"train_{k}": v for k, v in train.items()}
            metrics |= {f"val_{k}": v for k, v in val.items()}
            metrics["lr"] = optimizer.param_groups[0]["lr"]
            result.history.append({"epoch": epoch, **metrics})
            result.epochs_run = epoch + 1

            improved = metrics["val_loss"] < result.best_val_loss - (
                config.early_stopping_min_delta if math.isfinite(result.best_val_loss) else 0.0
            )
            if improved:
                result.best_val_loss, result.best_epoch = metrics["val_loss"], epoch
                epochs_without_improvement = 0
            else:
                epochs_without_improvement += 1
            if self.dist.is_main:
                saved_with = (self.model, config, self.feature_params, epoch, metrics)
                if improved:
                    save_training_checkpoint(result.best_checkpoint, *saved_with)
                save_training_checkpoint(
                    result.last_checkpoint,
                    *saved_with,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    result=result,
                    epochs_without_improvement=epochs_without_improvement,
                )
                if run is not None:  # steps count epochs from 1, as the CLI does
                    run.log_metrics(metrics, step=epoch + 1)
                log.info("epoch %d: %s", epoch, _short(metrics))
            self._emit(
                EpochDone(
                    epoch=epoch,
                    num_epochs=config.num_epochs,
                    metrics=dict(metrics),
                    improved=improved,
                    best_val_loss=result.best_val_loss,
                    best_epoch=result.best_epoch,
                )
            )
            patience = config.early_stopping_patience
            stop = patience is not None and epochs_without_improvement >= patience
            if distributed.broadcast_flag(self.dist, stop, self.device):
                result.stopped_early = True
                log.info("early stop after epoch %d (no improvement in %d)", epoch, patience)
                self._emit(EarlyStopped(epoch=epoch, patience=patience or 0))
                break
        if not math.isfinite(result.best_val_loss):
            raise TrainingError("training ran no epoch: nothing to save or register")

    def _train_epoch(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        epoch: int,
    ) -> dict[str, float]:
        network.train()
        totals = torch.zeros(len(HEADS) + 2, dtype=torch.float64)  # heads, total, batches
        num_batches = len(self.train_loader)
        self._emit(EpochStarted(epoch, self.config.num_epochs, num_batches))
        for done, batch in enumerate(self.train_loader, start=1):
            batch = _to_device(batch, self.device)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
                outputs = network(_model_input(batch), n_frames=batch["mask"].shape[-1])
            losses = multitask_loss(outputs, batch, self.loss_weights)
            if not torch.isfinite(losses["total"]):
                raise TrainingError(
                    f"loss became {losses['total'].item()} in epoch {epoch + 1}: "
                    "lower the learning rate or enable gradient clipping"
                )
            optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(losses["total"]).backward()
            if self.config.gradient_clip is not None:
                self.scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.gradient_clip)
            self.scaler.step(optimizer)
            self.scaler.update()
            scheduler.step()
            totals += loss_vector(losses)
            if self.callbacks:
                self._emit(BatchDone(epoch, done, num_batches, mean_losses(totals)))
        return mean_losses(distributed.sum_across(self.dist, totals))

    @torch.no_grad()
    def _validate(self, network: nn.Module) -> dict[str, float]:
        network.eval()
        totals = torch.zeros(len(HEADS) + 2, dtype=torch.float64)
        for batch in self.val_loader:
            batch = _to_device(batch, self.device)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
                outputs = network(_model_input(batch), n_frames=batch["mask"].shape[-1])
            totals += loss_vector(multitask_loss(outputs, batch, self.loss_weights))
        return mean_losses(distributed.sum_across(self.dist, totals))

    def _emit(self, event: TrainingEvent) -> None:
        for callback in self.callbacks:
            callback(event)

    # ------------------------------------------------------------------ registry

    @contextlib.contextmanager
    def _tracked_run(self, resume_run_id: str | None) -> Iterator[TrackedRun | None]:
        if self.registry is None or not self.dist.is_main:
            yield None
            return
        tags = {**self._lineage_tags(), **self.config.tags}
        run = self.registry.start_run(self.run_name, tags=tags, resume_run_id=resume_run_id)
        with run:
            run.log_system_metrics()
            self._record_training_data(run, tags.get("dataset_hash"))
            yield run

    def _record_training_data(self, run: TrackedRun, digest: str | None) -> None:
        """The training and validation tracks as the run's datasets and artifacts, and the
        environment (``edm.training.run_inputs``)."""
        loaders = (self.train_loader, self.val_loader)
        train, val = (list(getattr(loader.dataset, "tracks", [])) for loader in loaders)
        if self.registry is None or not (train or val):
            return
        from edm.training.run_inputs import record_run_inputs

        source = str(self.config.data_dir or (train + val)[0].audio_path.parent)
        record_run_inputs(self.registry, run, train, val, source=source, digest=digest)

    def _params(self) -> dict[str, Any]:
        return {
            **self.config.to_params(),
            "n_parameters": count_parameters(self.model),
            "device": self.device.type,
            "mixed_precision": self.use_amp,
            "world_size": self.dist.world_size,
            "n_train_items": len(self.train_loader.dataset),  # type: ignore[arg-type]
            "n_val_items": len(self.val_loader.dataset),  # type: ignore[arg-type]
            **{f"feature_{k}": v for k, v in self.feature_params.items()},
        }

    def _lineage_tags(self) -> dict[str, str]:
        tags = {"model_type": "multitask", "backbone": self.config.backbone}
        if self.config.data_dir is not None and "dataset_hash" not in self.config.tags:
            from edm.data.lineage import dataset_hash

            tags["dataset_hash"] = dataset_hash(self.config.data_dir)
            tags["data_dir"] = str(self.config.data_dir)
        if self.config.data_dir is not None:
            from edm.data.lineage import data_commit

            commit = data_commit(self.config.data_dir)  # the user's data repository, if any
            if commit:
                tags["data_git_commit"] = commit
        return tags

    def _finish(self, run: TrackedRun, result: TrainingResult) -> None:
        config_file = result.output_dir / CONFIG_ARTIFACT
        write_text_atomically(config_file, self.config.model_dump_json(indent=2))
        run.log_artifact(config_file)
        history_file = result.output_dir / "history.json"
        write_text_atomically(history_file, json.dumps(result.history, indent=2))
        run.log_artifact(history_file)
        result.model_version = run.register(
            result.best_checkpoint,
            # best_epoch counts from 1 in what people read (the CLI's "epoch 1 of 1", the steps)
            linked_metrics={
                "best_val_loss": result.best_val_loss,
                "best_epoch": result.best_epoch + 1,
            },
            step=result.epochs_run,
        )
        from edm.training.drift_reference import record_training_reference

        tracks = getattr(self.train_loader.dataset, "tracks", [])  # what the version learnt from
        record_training_reference(
            self.registry, result.model_version, result.best_checkpoint, tracks,
            self.config.data_dir,
        )  # fmt: skip

    # ------------------------------------------------------------------ helpers

    def _distributed_loader(self, loader: DataLoader, *, shuffle: bool) -> DataLoader:
        return distributed.shard_loader(loader, self.dist, shuffle=shuffle, seed=self.config.seed)


def _feature_params_of(loader: DataLoader) -> dict[str, Any]:
    params = getattr(loader.dataset, "params", None)
    if params is None or not hasattr(params, "to_dict"):
        raise ConfigError("feature_params not given and the training dataset has no .params")
    return params.to_dict()


def _model_input(batch: Mapping[str, Any]) -> torch.Tensor:
    return batch["features"] if "features" in batch else batch["audio"]


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


def _short(metrics: Mapping[str, float]) -> str:
    return ", ".join(
        f"{k}={v:.4f}" for k, v in metrics.items() if k in ("train_loss", "val_loss", "lr")
    )
