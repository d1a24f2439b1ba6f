"""``edm data …``: make synthetic tracks, check a data folder, print its dataset hash."""

from __future__ import annotations

from pathlib import Path

import typer

from edm.cli.output import console

app = typer.Typer(
    help="Datasets: synthetic tracks, annotation checks, dataset hash.", no_args_is_help=True
)


@app.command("synth")
def synth(
    out_dir: Path = typer.Argument(..., help="Folder to write track_NNN.wav and .yaml into."),
    tracks: int = typer.Option(32, "--tracks", "-n", min=1, help="How many tracks."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same files (byte for byte)."),
    min_seconds: float = typer.Option(60.0, "--min-seconds", help="Shortest track length."),
    max_seconds: float = typer.Option(100.0, "--max-seconds", help="Longest track length."),
    min_bpm: int = typer.Option(118, "--min-bpm", min=40, help="Slowest tempo."),
    max_bpm: int = typer.Option(150, "--max-bpm", max=250, help="Fastest tempo."),
) -> None:
    """Generate synthetic EDM tracks with exact annotations (beats, sections, energy)."""
    from rich.progress import Progress

    from edm.synth import SynthConfig, write_synthetic_dataset

    config = SynthConfig(
        min_seconds=min_seconds, max_seconds=max_seconds, min_bpm=min_bpm, max_bpm=max_bpm
    )
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Synthesising tracks", total=tracks)
        written = write_synthetic_dataset(
            out_dir, tracks, seed=seed, config=config, on_track=lambda _: progress.advance(task)
        )
    console.print(f"Wrote {len(written)} tracks (WAV + YAML) to {out_dir}", highlight=False)


@app.command("check")
def check(
    data_dir: Path = typer.Argument(..., help="Folder with annotation YAML files and audio."),
) -> None:
    """Validate every annotation of a data folder; list the files that would be skipped."""
    from edm.data.tracks import load_dataset

    tracks, skipped = load_dataset(data_dir)
    seconds = sum(track.annotation.audio.duration for track in tracks)
    console.print(
        f"{len(tracks)} usable tracks ({seconds / 60:.1f} min of audio) in {data_dir}",
        highlight=False,
    )
    for entry in skipped:
        console.print(f"[yellow]skipped[/] {entry}", highlight=False, soft_wrap=True)
    if skipped:
        raise typer.Exit(1)


@app.command("hash")
def hash_(
    data_dir: Path = typer.Argument(..., help="Data folder (a DVC .dvc file beside it is used)."),
) -> None:
    """Print the dataset's hash: DVC's directory md5, as recorded with each trained model."""
    from edm.data.lineage import dataset_hash

    console.print(dataset_hash(data_dir), highlight=False)
