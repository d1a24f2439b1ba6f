"""Training data from several folders, with sampling weights, less their held-out tracks.

``edm train DATA [DATA...] [--mix DIR=WEIGHT,...]``: each folder's usable tracks are loaded
(:func:`edm.data.tracks.load_dataset`), its held-out tracks (``edm data split``) are left out,
and each folder gets a share of the training crops proportional to its weight (1 by default).
With one folder, no weights and no split file this is exactly what ``edm train DIR`` did before.
Each folder's data hash, weight and counts become run tags (``data.<i>.*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from edm.data.split import read_rule, split_tracks_by_content
from edm.data.tracks import FileWarning, LoadedDataset, SkippedFile, Track, TrackSelection
from edm.data.tracks import load_dataset as load_folder
from edm.errors import ConfigError


@dataclass
class Source:
    folder: Path
    weight: float
    loaded: LoadedDataset
    tracks: list[Track]  # selected, held-out ones left out, names made unique
    heldout: list[Track] = field(default_factory=list)


@dataclass
class TrainingData:
    sources: list[Source]

    @property
    def tracks(self) -> list[Track]:
        return [track for source in self.sources for track in source.tracks]

    @property
    def skipped(self) -> list[SkippedFile]:
        return [s for source in self.sources for s in source.loaded.skipped]

    @property
    def warnings(self) -> list[FileWarning]:
        return [w for source in self.sources for w in source.loaded.warnings]

    @property
    def excluded(self) -> list[Track]:
        return [t for source in self.sources for t in source.loaded.excluded]

    @property
    def n_heldout(self) -> int:
        return sum(len(source.heldout) for source in self.sources)

    @property
    def weighted(self) -> bool:
        return len(self.sources) > 1 and len({s.weight for s in self.sources}) > 1

    def tier_counts(self, tracks: Iterable[Track] | None = None) -> dict[int, int]:
        counts = {1: 0, 2: 0, 3: 0}
        for track in self.tracks if tracks is None else tracks:
            counts[track.tier] = counts.get(track.tier, 0) + 1
        return counts

    def sampling_weights(self, tracks: Sequence[Track]) -> list[float]:
        """One weight per track of ``tracks``: its folder's weight shared by the folder's
        tracks among ``tracks``, so each folder's share of the crops follows its weight."""
        folder_of = {id(t): i for i, s in enumerate(self.sources) for t in s.tracks}
        per_folder: dict[int, int] = {}
        for track in tracks:
            per_folder[folder_of[id(track)]] = per_folder.get(folder_of[id(track)], 0) + 1
        return [
            self.sources[folder_of[id(t)]].weight / per_folder[folder_of[id(t)]] for t in tracks
        ]

    def tags(self, selection: TrackSelection) -> dict[str, str]:
        """What the run was trained on: per folder its hash, weight and counts."""
        first = self.sources[0].loaded
        used = [
            LoadedDataset(s.tracks, [], data_dir=s.folder, audio_dirs=s.loaded.audio_dirs)
            for s in self.sources
        ]  # held-out tracks are not in the hash: they were not trained on
        tags = {
            "dataset_hash": used[0].files_hash() if len(used) == 1 else self._joint_hash(),
            "data_selection": selection.describe(),
            "data_excluded_tracks": str(len(self.excluded)),
            "data_skipped_files": str(len(self.skipped)),
            "data_folders": str(len(self.sources)),
            "data_heldout_tracks": str(self.n_heldout),
        }
        for tier, count in self.tier_counts().items():
            tags[f"data_tier_{tier}_tracks"] = str(count)
        for i, source in enumerate(self.sources):
            tags[f"data.{i}.dir"] = str(source.folder)
            tags[f"data.{i}.hash"] = used[i].files_hash()
            tags[f"data.{i}.weight"] = f"{source.weight:g}"
            tags[f"data.{i}.tracks"] = str(len(source.tracks))
            tags[f"data.{i}.heldout_tracks"] = str(len(source.heldout))
        if first.audio_dirs:
            tags["audio_dirs"] = ":".join(str(d) for d in first.audio_dirs)
        return tags

    def _joint_hash(self) -> str:
        from edm.data.lineage import files_hash

        files: dict[str, Path] = {}
        for i, source in enumerate(self.sources):
            for track in source.tracks:
                files[f"{i}/{track.name}.yaml"] = track.annotation_path
                files[f"{i}/{track.name}.audio"] = track.audio_path
        return files_hash(files)


def parse_mix(items: Iterable[str]) -> dict[Path, float]:
    """``--mix DIR=WEIGHT,...`` (repeatable, comma-separated) as {folder: weight}."""
    weights: dict[Path, float] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            folder, _, value = part.rpartition("=")
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
            if not folder or not 0.0 < weight < float("inf"):
                raise ConfigError(f"--mix '{part}' is not DIR=WEIGHT with a weight above 0")
            weights[Path(folder)] = weight
    return weights


def load_sources(
    data_dirs: Sequence[Path | str],
    *,
    mix: dict[Path, float] | None = None,
    selection: TrackSelection | None = None,
    audio_dirs: Iterable[Path | str] = (),
) -> TrainingData:
    """Every folder of ``data_dirs`` (and of ``mix``), its held-out tracks left out."""
    mix = dict(mix or {})
    folders = [Path(d) for d in data_dirs]
    known = {f.resolve() for f in folders}
    folders += [f for f in mix if f.resolve() not in known]  # --mix may add a folder
    weight_of = {f.resolve(): w for f, w in mix.items()}
    audio_dirs = tuple(audio_dirs)
    names = [f.resolve().name or str(i) for i, f in enumerate(folders)]
    unique = len(set(names)) == len(names)
    sources = []
    for i, folder in enumerate(folders):
        loaded = load_folder(folder, audio_dirs=audio_dirs, selection=selection)
        split = split_tracks_by_content(loaded.tracks, read_rule(folder))
        prefix = "" if len(folders) == 1 else (f"{names[i]}/" if unique else f"{i}:{names[i]}/")
        tracks = [replace(t, name=prefix + t.name) for t in split.train]
        if not tracks:
            raise ConfigError(
                f"{folder}: every usable track is held out (edm data split): none left to train on"
            )
        sources.append(
            Source(folder, weight_of.get(folder.resolve(), 1.0), loaded, tracks, split.heldout)
        )
    return TrainingData(sources)
