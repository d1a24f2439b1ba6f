"""``edm data …``: make synthetic tracks, check a data folder, print its dataset hash."""

from __future__ import annotations

from pathlib import Path

import typer

from edm.cli.data_options import (
    as_paths,
    audio_dir_option,
    min_confidence_option,
    min_tier_option,
    tier_summary,
)
from edm.cli.output import console, err_console, plain, print_json

app = typer.Typer(
    help="Datasets: synthetic tracks, annotation checks, dataset hash.", no_args_is_help=True
)


@app.command("synth")
def synth(
    out_dir: Path = typer.Argument(..., help="Folder to write track_NNN.wav and .yaml into."),
    tracks: int = typer.Option(32, "--tracks", "-n", min=1, help="How many tracks."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same files (byte for byte)."),
    min_seconds: float = typer.Option(
        None, "--min-seconds", help="Shortest track length (default: 60, or --max-seconds if less)."
    ),
    max_seconds: float = typer.Option(
        100.0, "--max-seconds", help="Longest track length (lead-in and tail included)."
    ),
    min_bpm: int = typer.Option(118, "--min-bpm", min=40, help="Slowest tempo."),
    max_bpm: int = typer.Option(150, "--max-bpm", max=250, help="Fastest tempo."),
    sound_families: str = typer.Option(
        None,
        "--sound-families",
        help="Comma-separated sound families (default: all of classic,analog,sampled).",
    ),
    arrangement_families: str = typer.Option(
        None,
        "--arrangement-families",
        help="Comma-separated arrangement families (default: all of template,pickup,extended).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Generate synthetic EDM tracks with exact annotations (beats, sections, energy), each
    drawn from one sound family and one arrangement family (recorded in its metadata)."""
    from rich.progress import Progress

    from edm.synth import SynthConfig, write_synthetic_dataset
    from edm.synth.families import ARRANGEMENT_FAMILIES, SOUND_FAMILIES, parse_family_list

    config = SynthConfig(
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        min_bpm=min_bpm,
        max_bpm=max_bpm,
        sound_families=(
            SOUND_FAMILIES
            if sound_families is None
            else parse_family_list("sound", sound_families, SOUND_FAMILIES)
        ),
        arrangement_families=(
            ARRANGEMENT_FAMILIES
            if arrangement_families is None
            else parse_family_list("arrangement", arrangement_families, ARRANGEMENT_FAMILIES)
        ),
    )
    with Progress(
        console=err_console, transient=True, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task("Synthesising tracks", total=tracks)
        written = write_synthetic_dataset(
            out_dir, tracks, seed=seed, config=config, on_track=lambda _: progress.advance(task)
        )
    if as_json:
        print_json({"folder": str(out_dir), "tracks": [str(path) for path in written]})
        return
    console.print(f"Wrote {len(written)} tracks (WAV + YAML) to {plain(out_dir)}", highlight=False)


@app.command("other-music")
def other_music(
    out_dir: Path = typer.Argument(..., help="Folder to write other_NNN.wav and .yaml into."),
    tracks: int = typer.Option(16, "--tracks", "-n", min=1, help="How many tracks."),
    seed: int = typer.Option(7, "--seed", help="Same seed, same files (byte for byte)."),
    min_bpm: float = typer.Option(118.0, "--min-bpm", help="Slowest tempo."),
    max_bpm: float = typer.Option(150.0, "--max-bpm", help="Fastest tempo."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Generate evaluation-only tracks made another way than `edm data synth` makes them
    (other sounds, arrangement rules and transitions): never train on them."""
    from rich.progress import Progress

    from edm.benchmarks import write_other_music

    with Progress(
        console=err_console, transient=True, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task("Rendering tracks", total=tracks)
        written = write_other_music(
            out_dir,
            tracks,
            seed,
            min_bpm=min_bpm,
            max_bpm=max_bpm,
            on_track=lambda _: progress.advance(task),
        )
    if as_json:
        print_json({"folder": str(out_dir), "tracks": [str(path) for path in written]})
        return
    console.print(f"Wrote {len(written)} tracks (WAV + YAML) to {plain(out_dir)}", highlight=False)


@app.command("check")
def check(
    data_dir: Path = typer.Argument(..., help="Folder with annotation YAML files (and audio)."),
    audio_dir: list[Path] = audio_dir_option(),
    min_tier: int = min_tier_option(),
    min_confidence: float = min_confidence_option(),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Validate every annotation of a data folder (ours or the spec project's form); list the
    files that would be skipped, and the hash of the files a training would use."""
    from edm.data.label_map import mapping_report
    from edm.data.tracks import TrackSelection, load_dataset

    selection = TrackSelection(min_tier, min_confidence)
    loaded = load_dataset(data_dir, audio_dirs=as_paths(audio_dir), selection=selection)
    seconds = sum(track.annotation.audio.duration for track in loaded.tracks)
    labels = mapping_report(e for track in loaded.tracks for e in track.annotation.structure)
    if as_json:
        print_json(
            {
                "folder": str(data_dir),
                "usable_tracks": len(loaded.tracks),
                "audio_minutes": round(seconds / 60, 2),
                "tracks_per_tier": loaded.tier_counts(),
                "left_out": len(loaded.excluded),
                "warnings": [str(entry) for entry in loaded.warnings],
                "labels": labels,
                "skipped": [str(entry) for entry in loaded.skipped],
                "dataset_hash": loaded.files_hash(),
            }
        )
        if loaded.skipped:
            raise typer.Exit(1)
        return
    console.print(
        f"{len(loaded.tracks)} usable tracks ({seconds / 60:.1f} min of audio) in "
        f"{plain(data_dir)}: "
        f"{tier_summary(loaded.tier_counts())}",
        highlight=False,
        soft_wrap=True,
    )
    if loaded.excluded:
        console.print(
            f"{len(loaded.excluded)} more left out: not {selection.describe()}", highlight=False
        )
    for entry in loaded.warnings:
        console.print(f"[yellow]warning[/] {plain(entry)}", highlight=False, soft_wrap=True)
    if labels["counts"]:
        console.print(
            "Labels mapped onto ours (label_map.yaml beside the annotations adds to the table):",
            highlight=False,
        )
        for source, count in labels["counts"].items():
            ours = labels["mapped"].get(source, "unknown (ignored in training)")
            console.print(f"  {plain(source)} -> {ours}: {count}", highlight=False)
    console.print(f"Unmapped labels: {labels['unmapped_total']}", highlight=False)
    for entry in loaded.skipped:
        console.print(f"[yellow]skipped[/] {plain(entry)}", highlight=False, soft_wrap=True)
    console.print(f"Dataset hash of the files used: {loaded.files_hash()}", highlight=False)
    if loaded.skipped:
        raise typer.Exit(1)


@app.command("hash")
def hash_(
    data_dir: Path = typer.Argument(..., help="Data folder (a DVC .dvc file beside it is used)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the dataset's hash: DVC's directory md5, as recorded with each trained model."""
    from edm.data.lineage import dataset_hash

    digest = dataset_hash(data_dir)
    if as_json:
        print_json({"folder": str(data_dir), "dataset_hash": digest})
        return
    console.print(digest, highlight=False)


@app.command("split")
def split(
    data_dir: Path = typer.Argument(..., help="Folder of annotated tracks (reviewed ones)."),
    holdout: float = typer.Option(0.2, "--holdout", help="Share of tracks held out (0..1)."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same assignment."),
    audio_dir: list[Path] = audio_dir_option(),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Hold out tracks by audio content hash: edm train leaves them out, edm evaluate and the
    promotion gate judge on them. A track never changes sides as the folder grows."""
    from edm.data.split import SPLIT_FILE, write_split

    result = write_split(data_dir, holdout, seed, audio_dirs=as_paths(audio_dir))
    if as_json:
        print_json(
            {
                "folder": str(data_dir),
                "holdout": holdout,
                "seed": seed,
                "heldout": [t.name for t in result.heldout],
                "train": [t.name for t in result.train],
            }
        )
        return
    console.print(
        f"{plain(data_dir / SPLIT_FILE)}: {len(result.heldout)} held out, "
        f"{len(result.train)} to train on (holdout {holdout:g}, seed {seed})",
        highlight=False,
        soft_wrap=True,
    )
