"""Trainer: trains a MultiTaskModel and records the run in the registry as it goes.

Per epoch, the train and validation losses of every head and the learning rate go to the
MLflow run, so the UI shows curves while training. At the end the run gets the spec's
parameters, final metrics, lineage tags, the config and ``best.pt``, and a new model version
is registered (stage None). A crash or Ctrl-C ends the run FAILED or KILLED; ``last.pt`` and
``best.pt`` are written atomically each epoch, so the last good checkpoint survives.

Under ``torchrun`` the model is wrapped in DistributedDataParallel and the loaders get a
DistributedSampler; only rank 0 talks to MLflow and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from edm.errors import ConfigError, TrainingError
from edm.models import MultiTaskModel, count_parameters, load_checkpoint, save_checkpoint
from edm.models.device import resolve_device
from edm.training import distributed
from edm.training.config import TrainingConfig
from edm.training.losses import HEADS, LossWeights, multitask_loss
from edm.training.naming import generate_run_name
from edm.training.schedule import build_scheduler

if TYPE_CHECKING:
    from edm.registry import ModelRegistry
    from edm.registry.tracked_run import TrackedRun

log = logging.getLogger(__name__)

BEST = "best.pt"
LAST = "last.pt"
CONFIG_ARTIFACT = "training_config.json"


@dataclass
class TrainingResult:
    run_name: str
    output_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    stopped_early: bool = False
    run_id: str | None = None
    model_version: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)


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
    ) -> None:
        self.config = config
        self.registry = registry
        self.loss_weights = loss_weights or LossWeights()
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
        state = _ResumeState()
        if config.resume is not None:
            state = self._resume(config.resume, optimizer, scheduler)
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
                if run is not None:
                    self._finish(run, result)
            finally:
                distributed.teardown(self.dist)
        return result

    # ------------------------------------------------------------------ epochs

    def _epochs(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        run: TrackedRun | None,
        result: TrainingResult,
        state: _ResumeState,
    ) -> None:
        config = self.config
        epochs_without_improvement = state.epochs_without_improvement
        with self._progress() as progress:
            for epoch in range(state.start_epoch, config.num_epochs):
                for loader in (self.train_loader, self.val_loader):
                    for holder in (loader.sampler, loader.dataset):
                        if hasattr(holder, "set_epoch"):
                            holder.set_epoch(epoch)
                train = self._train_epoch(network, optimizer, scheduler, epoch, progress)
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
                    if improved:
                        self._save(result.best_checkpoint, epoch, metrics)
                    self._save(
                        result.last_checkpoint,
                        epoch,
                        metrics,
                        optimizer=optimizer,
                        scheduler=scheduler,
                        result=result,
                        run=run,
                        epochs_without_improvement=epochs_without_improvement,
                    )
                    if run is not None:
                        run.log_metrics(metrics, step=epoch)
                    log.info("epoch %d: %s", epoch, _short(metrics))
                patience = config.early_stopping_patience
                stop = patience is not None and epochs_without_improvement >= patience
                if distributed.broadcast_flag(self.dist, stop, self.device):
                    result.stopped_early = True
                    log.info("early stop after epoch %d (no improvement in %d)", epoch, patience)
                    break
        if not math.isfinite(result.best_val_loss):
            raise TrainingError("training ran no epoch: nothing to save or register")

    def _train_epoch(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        epoch: int,
        progress: _Progress,
    ) -> dict[str, float]:
        network.train()
        totals = torch.zeros(len(HEADS) + 2, dtype=torch.float64)  # heads, total, batches
        task = progress.start(f"epoch {epoch + 1}/{self.config.num_epochs}", len(self.train_loader))
        for batch in self.train_loader:
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
            totals += _loss_vector(losses)
            progress.advance(task, _running(totals))
        return _means(distributed.sum_across(self.dist, totals))

    @torch.no_grad()
    def _validate(self, network: nn.Module) -> dict[str, float]:
        network.eval()
        totals = torch.zeros(len(HEADS) + 2, dtype=torch.float64)
        for batch in self.val_loader:
            batch = _to_device(batch, self.device)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
                outputs = network(_model_input(batch), n_frames=batch["mask"].shape[-1])
            totals += _loss_vector(multitask_loss(outputs, batch, self.loss_weights))
        return _means(distributed.sum_across(self.dist, totals))

    # ------------------------------------------------------------------ registry

    @contextlib.contextmanager
    def _tracked_run(self, resume_run_id: str | None) -> Iterator[TrackedRun | None]:
        if self.registry is None or not self.dist.is_main:
            yield None
            return
        tags = {**self._lineage_tags(), **self.config.tags}
        run = self.registry.start_run(self.run_name, tags=tags, resume_run_id=resume_run_id)
        with run:
            yield run

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
        if self.config.data_dir is not None:
            from edm.data.lineage import dataset_hash

            tags["dataset_hash"] = dataset_hash(self.config.data_dir)
            tags["data_dir"] = str(self.config.data_dir)
        return tags

    def _finish(self, run: TrackedRun, result: TrainingResult) -> None:
        run.log_metrics(
            {"best_val_loss": result.best_val_loss, "best_epoch": result.best_epoch},
            step=result.epochs_run,
        )
        config_file = result.output_dir / CONFIG_ARTIFACT
        config_file.write_text(self.config.model_dump_json(indent=2))
        run.log_artifact(config_file)
        history_file = result.output_dir / "history.json"
        history_file.write_text(json.dumps(result.history, indent=2))
        run.log_artifact(history_file)
        result.model_version = run.register(result.best_checkpoint)

    # ------------------------------------------------------------------ checkpoints

    def _save(
        self,
        path: Path,
        epoch: int,
        metrics: Mapping[str, float],
        *,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        result: TrainingResult | None = None,
        run: TrackedRun | None = None,
        epochs_without_improvement: int = 0,
    ) -> None:
        extra: dict[str, Any] = {"training_config": json.loads(self.config.model_dump_json())}
        if result is not None:
            extra |= {
                "run_name": result.run_name,
                "run_id": run.run_id if run else None,
                "best_val_loss": result.best_val_loss,
                "best_epoch": result.best_epoch,
                "epochs_without_improvement": epochs_without_improvement,
                "history": result.history,
            }
        save_checkpoint(
            path,
            self.model,
            feature_params=self.feature_params,
            extra=extra,
            optimizer_state=optimizer.state_dict() if optimizer else None,
            scheduler_state=scheduler.state_dict() if scheduler else None,
            epoch=epoch,
            metrics=dict(metrics),
        )

    def _resume(
        self,
        path: Path,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> _ResumeState:
        checkpoint = load_checkpoint(path, map_location=self.device)
        extra = checkpoint.get("extra") or {}
        if checkpoint.get("optimizer_state") is None or "best_val_loss" not in extra:
            raise ConfigError(f"--resume {path}: not a last.pt written by the trainer")
        if checkpoint["model_config"] != self.model.config.to_dict():
            raise ConfigError(f"--resume {path}: its model config differs from this model's")
        self.model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer_state"])
        if checkpoint.get("scheduler_state") is not None:
            scheduler.load_state_dict(checkpoint["scheduler_state"])
        return _ResumeState(
            start_epoch=int(checkpoint["epoch"]) + 1,
            best_val_loss=float(extra["best_val_loss"]),
            best_epoch=int(extra["best_epoch"]),
            epochs_without_improvement=int(extra.get("epochs_without_improvement", 0)),
            history=list(extra.get("history", [])),
            run_id=extra.get("run_id") if self.registry is not None else None,
            run_name=extra.get("run_name"),
            output_dir=Path(path).parent,
        )

    # ------------------------------------------------------------------ helpers

    def _distributed_loader(self, loader: DataLoader, *, shuffle: bool) -> DataLoader:
        if not self.dist.enabled or isinstance(loader.sampler, DistributedSampler):
            return loader
        sampler = DistributedSampler(
            loader.dataset,
            num_replicas=self.dist.world_size,
            rank=self.dist.rank,
            shuffle=shuffle,
            seed=self.config.seed,
        )
        return DataLoader(
            loader.dataset,
            batch_size=loader.batch_size,
            sampler=sampler,
            collate_fn=loader.collate_fn,
            num_workers=loader.num_workers,
            drop_last=loader.drop_last,
        )

    def _progress(self) -> _Progress:
        return _Progress(enabled=self.config.progress and self.dist.is_main)


@dataclass
class _ResumeState:
    start_epoch: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = -1
    epochs_without_improvement: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    run_id: str | None = None
    run_name: str | None = None
    output_dir: Path | None = None


class _Progress:
    """A Rich progress bar with the running losses, or nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[losses]}"),
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start(self, description: str, total: int) -> Any:
        if self._bar is None:
            return None
        return self._bar.add_task(description, total=total, losses="")

    def advance(self, task: Any, losses: str) -> None:
        if self._bar is not None and task is not None:
            self._bar.update(task, advance=1, losses=losses)


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


def _loss_vector(losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
    values = [losses[h].detach().double().cpu() for h in (*HEADS, "total")]
    return torch.stack([*values, torch.ones((), dtype=torch.float64)])


def _means(totals: torch.Tensor) -> dict[str, float]:
    batches = max(totals[-1].item(), 1.0)
    means = {f"{h}_loss": totals[i].item() / batches for i, h in enumerate(HEADS)}
    means["loss"] = totals[len(HEADS)].item() / batches
    return means


def _running(totals: torch.Tensor) -> str:
    means = _means(totals)
    return " ".join(f"{k.removesuffix('_loss')}={v:.3f}" for k, v in means.items())


def _short(metrics: Mapping[str, float]) -> str:
    return ", ".join(
        f"{k}={v:.4f}" for k, v in metrics.items() if k in ("train_loss", "val_loss", "lr")
    )
