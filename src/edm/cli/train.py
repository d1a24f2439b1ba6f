"""``edm train DATA_DIR``: train a model on annotated tracks and register it."""

from __future__ import annotations

from pathlib import Path

import typer

from edm.cli import interrupts
from edm.cli.context import CliState
from edm.cli.data_options import (
    as_paths,
    audio_dir_option,
    min_confidence_option,
    min_tier_option,
    print_data_notes,
    tier_summary,
)
from edm.cli.output import console, err_console, plain, print_json
from edm.errors import ConfigError


def parse_tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--tag '{pair}' is not KEY=VALUE")
        tags[key.strip()] = value.strip()
    return tags


def train(
    ctx: typer.Context,
    data_dir: list[Path] = typer.Argument(
        ..., help="Folder(s) of annotated tracks (audio + YAML); held-out tracks left out."
    ),
    audio_dir: list[Path] = audio_dir_option(),
    min_tier: int = min_tier_option(),
    min_confidence: float = min_confidence_option(),
    registry: bool = typer.Option(
        True, "--registry/--no-registry", help="Log the run to MLflow and register the model."
    ),
    backbone: str = typer.Option(
        None, help="cnn (default), mert-95m or mert-330m; with --init-from, the parent's."
    ),
    init_from: str = typer.Option(
        None,
        "--init-from",
        help="Fine-tune from a version: its weights and model config (a version, Production, "
        "Staging, latest, a models:/ URI or a .pt checkpoint).",
    ),
    mix: list[str] = typer.Option(
        [], "--mix", help="DIR=WEIGHT,... sampling weight per data folder (default 1 each)."
    ),
    learn_labels: bool = typer.Option(
        None,
        "--learn-labels/--no-learn-labels",
        help="Fit a section labeller on the training folders, kept in the checkpoint when it "
        "beats the hand priors in cross-validation (default: on with --init-from).",
    ),
    epochs: int = typer.Option(20, "--epochs", min=1),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate."),
    scheduler: str = typer.Option("cosine", help="cosine, onecycle or none."),
    warmup_epochs: float = typer.Option(1.0, "--warmup-epochs", min=0),
    weight_decay: float = typer.Option(1e-2, "--weight-decay", min=0),
    gradient_clip: float = typer.Option(1.0, "--gradient-clip", help="Max gradient norm; 0 off."),
    early_stopping: int = typer.Option(
        None, "--early-stopping", min=1, help="Stop after N epochs without improvement."
    ),
    crop_seconds: float = typer.Option(12.0, "--crop-seconds", help="Training crop length."),
    augment: bool = typer.Option(
        True,
        "--augment/--no-augment",
        help="Augment crops: gain, filter, pitch, noise, time-stretch (targets moved), masks.",
    ),
    seed: int = typer.Option(0, help="Seed for the split, crops and initial weights."),
    run_name: str = typer.Option(None, "--run-name", help="Default: run_<time>_<backbone>_<desc>."),
    description: str = typer.Option("", "--description", help="Goes into the run name."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE tag for the run (repeatable)."),
    output: Path = typer.Option(Path("outputs"), "--output", help="Checkpoints go to OUTPUT/RUN."),
    resume: Path = typer.Option(None, "--resume", help="Continue from a last.pt."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N."),
    workers: int = typer.Option(0, "--workers", min=0, help="DataLoader worker processes."),
    experiment: str = typer.Option("edm-training", help="MLflow experiment."),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show a progress bar (on a terminal's stderr)."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the result as JSON: run id, version, metrics (OUTPUT/RUN/run.json).",
    ),
) -> None:
    """Train on DATA_DIR; with the registry, log everything and register a new version."""
    from edm.cli.train_progress import is_main_process, training_progress
    from edm.training import TrainingConfig, generate_run_name
    from edm.training.pipeline import train_from_directory
    from edm.training.sources import parse_mix

    weights = parse_mix(mix)
    model_registry = None
    if registry:
        from edm.registry import ModelRegistry

        state = ctx.find_root().obj or CliState()
        model_registry = ModelRegistry(tracking_uri=state.tracking_uri, experiment_name=experiment)
    parent = None
    if init_from is not None:
        from edm.training.finetune import check_compatible, resolve_parent

        parent = resolve_parent(init_from, lambda: model_registry)
        backbone = backbone or parent.backbone
        check_compatible(parent, backbone)
    backbone = backbone or "cnn"
    if run_name is None and resume is None:  # named here so that an interrupt can name it
        run_name = generate_run_name(backbone, description)
    config = TrainingConfig.create(
        backbone=backbone,
        num_epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr,
        scheduler=scheduler,
        warmup_epochs=warmup_epochs,
        weight_decay=weight_decay,
        gradient_clip=gradient_clip or None,
        early_stopping_patience=early_stopping,
        crop_seconds=crop_seconds,
        augment=augment,
        seed=seed,
        run_name=run_name,
        description=description,
        tags=parse_tags(tag),
        output_dir=output,
        resume=resume,
        device=device,
        num_workers=workers,
        min_tier=min_tier,
        min_confidence=min_confidence,
    )

    try:
        with training_progress(progress) as callbacks:
            job = train_from_directory(
                data_dir,
                config,
                model_registry,
                audio_dirs=as_paths(audio_dir),
                callbacks=callbacks,
                mix=weights,
                parent=parent,
                learn_labels=learn_labels,
            )
    except KeyboardInterrupt:
        if is_main_process():
            last = resume if resume is not None else config.output_dir / str(run_name) / "last.pt"
            _report_interrupt(last, registry)
        raise typer.Exit(130) from None
    if not is_main_process():
        return
    print_data_notes(job.skipped, job.warnings)
    result = job.result
    from edm.training.run_summary import write_run_summary

    model_name = model_registry.model_name if model_registry is not None else None
    summary = write_run_summary(job, model_name=model_name)  # OUTPUT/RUN/run.json
    if as_json:
        print_json(summary)
        return
    console.print(
        f"Trained [bold]{plain(result.run_name)}[/] on {job.n_train_tracks} tracks "
        f"(validation: {job.n_val_tracks}): best val loss {result.best_val_loss:.4f} "
        f"at epoch {result.best_epoch + 1} of {result.epochs_run}"
        + (" (stopped early)" if result.stopped_early else ""),
        highlight=False,
    )
    excluded = f"; {job.n_excluded_tracks} left out by --min-*" if job.n_excluded_tracks else ""
    if job.n_heldout_tracks:
        excluded += f"; {job.n_heldout_tracks} held out (edm data split)"
    console.print(f"Tracks used: {tier_summary(job.tier_counts)}{excluded}", highlight=False)
    if job.section_labels is not None:
        console.print(f"Section labels: {plain(job.section_labels)}", highlight=False)
    console.print(
        f"Checkpoints: {plain(result.best_checkpoint)}, {plain(result.last_checkpoint)}; "
        f"summary {plain(summary['run_file'])}",
        highlight=False,
        soft_wrap=True,
    )
    if result.model_version is not None:
        console.print(
            f"Registered version [bold]{result.model_version}[/] (stage None), "
            f"run {plain(result.run_id)}"
            + (f", fine-tuned from {plain(parent.ref)}" if parent is not None else ""),
            highlight=False,
            soft_wrap=True,
        )


def _report_interrupt(last: Path, registered: bool) -> None:
    """One line: what stopped training, how the run ended, where its last checkpoint is."""
    ended = "the run ended KILLED; " if registered else ""
    kept = f"last checkpoint {last}" if last.is_file() else "no epoch finished, no checkpoint"
    err_console.print(
        f"[red]Interrupted ({interrupts.received()}):[/] {ended}{plain(kept)}",
        highlight=False,
        soft_wrap=True,
    )
    interrupts.announce()
