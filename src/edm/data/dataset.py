"""PyTorch datasets over annotated tracks: random fixed-length crops for training, whole tracks
(or fixed windows) for validation, and the ``collate`` that batches them.

Each item is a dict, with T frames at the feature frame rate (50 per second by default)::

    features    float32 (n_mels, T)   log-mel features        (input="mel")
    audio       float32 (S,)          mono waveform at audio_sample_rate, S = T * rate / 50
                                      (input="audio", instead of "features")
    boundary    float32 (T,)          soft section starts
    beat        float32 (T,)          1.0 on beats, 0.5 beside
    downbeat    float32 (T,)
    label       int64   (T,)          index into LABELS; IGNORE_INDEX (-100) on padding
    energy      float32 (3, T)        low/mid/high in 0..1
    mask        bool    (T,)          True on real frames, False on padding
    has_energy  bool    ()            whether the annotation has energy values
    start_frame int64   ()            where the item starts in its track
    track       str                   the track's name

``collate`` stacks items into a batch and pads items of different lengths at the end (labels
with IGNORE_INDEX, the mask with False, everything else with 0).

Features come from :func:`edm.audio.cache.load_features`: computed once per file and read from
the on-disk cache afterwards, so the second epoch decodes no audio. Call
``dataset.warm_cache()`` before training to compute them all up front in one process.

Crops are random but reproducible: crop ``i`` of epoch ``e`` depends only on ``(seed, e, i)``,
so the same seed gives the same crops with any number of DataLoader workers. Call
``set_epoch(e)`` before iterating the loader for epoch ``e``: the epoch lives in shared memory,
so persistent workers see it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from edm.audio.cache import FeatureCache, load_features, load_waveform
from edm.audio.features import FeatureParams
from edm.data.grouped_split import split_tracks
from edm.data.targets import DEFAULT_BOUNDARY_SIGMA, FrameTargets, frame_targets
from edm.data.targets import IGNORE_INDEX as TARGET_IGNORE_INDEX
from edm.data.tracks import (
    FileWarning,
    LoadedDataset,
    SkippedFile,
    Track,
    TrackSelection,
    load_dataset,
)
from edm.vocabulary import INPUT_KINDS, MERT_SAMPLE_RATE, InputKind

__all__ = [
    "IGNORE_INDEX",
    "FileWarning",
    "LoadedDataset",
    "SkippedFile",
    "Track",
    "TrackSelection",
    "TrainingDataset",
    "ValidationDataset",
    "collate",
    "load_dataset",
    "split_tracks",
]

IGNORE_INDEX = TARGET_IGNORE_INDEX  # nn.CrossEntropyLoss's default ignore_index

_PAD_VALUES = {"label": IGNORE_INDEX, "mask": False}


class _TrackSource:
    """Loads a track's input and targets and cuts windows out of them."""

    def __init__(
        self,
        params: FeatureParams,
        cache: FeatureCache | bool,
        input: InputKind,
        audio_sample_rate: int,
        boundary_sigma: float,
    ) -> None:
        if input not in INPUT_KINDS:
            raise ValueError(f"input must be one of {', '.join(INPUT_KINDS)}, got {input!r}")
        self.params = params
        self.cache = cache
        self.input = input
        self.audio_sample_rate = audio_sample_rate
        self.samples_per_frame = audio_sample_rate / params.frame_rate
        self.boundary_sigma = boundary_sigma
        self._n_frames: dict[str, int] = {}
        self._targets: dict[str, FrameTargets] = {}

    def array(self, track: Track) -> np.ndarray:
        # Memory-mapped: a crop reads only its own frames from the cache file.
        if self.input == "mel":
            return load_features(track.audio_path, self.params, self.cache, mmap=True)
        return load_waveform(track.audio_path, self.audio_sample_rate, self.cache, mmap=True)

    def n_frames(self, track: Track) -> int:
        if track.name not in self._n_frames:
            array = self.array(track)
            if self.input == "mel":
                self._n_frames[track.name] = int(array.shape[-1])
            else:
                self._n_frames[track.name] = 1 + int(array.shape[0] // self.samples_per_frame)
        return self._n_frames[track.name]

    def targets(self, track: Track) -> FrameTargets:
        if track.name not in self._targets:
            self._targets[track.name] = frame_targets(
                track.annotation,
                self.n_frames(track),
                self.params.frame_rate,
                boundary_sigma=self.boundary_sigma,
            )
        return self._targets[track.name]

    def window(self, track: Track, start: int, length: int) -> dict[str, Any]:
        """Frames ``start`` to ``start + length`` of a track, zero-padded past its end."""
        n_frames = self.n_frames(track)
        real = max(0, min(length, n_frames - start))
        targets = self.targets(track)
        frames = slice(start, start + real)
        item: dict[str, Any] = {}
        if self.input == "mel":
            item["features"] = _padded(self.array(track)[:, frames], length, 0.0)
        else:
            first = round(start * self.samples_per_frame)
            n_samples = round(length * self.samples_per_frame)
            waveform = self.array(track)[first : first + n_samples]
            item["audio"] = _padded(waveform, n_samples, 0.0)
        item["boundary"] = _padded(targets.boundary[frames], length, 0.0)
        item["beat"] = _padded(targets.beat[frames], length, 0.0)
        item["downbeat"] = _padded(targets.downbeat[frames], length, 0.0)
        item["label"] = _padded(targets.label[frames], length, IGNORE_INDEX)
        item["energy"] = _padded(targets.energy[:, frames], length, 0.0)
        mask = torch.zeros(length, dtype=torch.bool)
        mask[:real] = True
        item["mask"] = mask
        item["has_energy"] = torch.tensor(targets.has_energy)
        item["start_frame"] = torch.tensor(start, dtype=torch.int64)
        item["track"] = track.name
        return item


class _TrackDataset(Dataset):
    def __init__(
        self,
        tracks: Sequence[Track],
        params: FeatureParams | None,
        cache: FeatureCache | bool,
        input: InputKind,
        audio_sample_rate: int,
        boundary_sigma: float,
    ) -> None:
        if not tracks:
            raise ValueError("a dataset needs at least one track")
        self.tracks = list(tracks)
        self.params = params or FeatureParams()
        self.source = _TrackSource(self.params, cache, input, audio_sample_rate, boundary_sigma)

    @property
    def frame_rate(self) -> float:
        return self.params.frame_rate

    def warm_cache(self, on_track: Callable[[Track], None] | None = None) -> None:
        """Compute (or find) every track's input now; AudioError names a bad file."""
        for track in self.tracks:
            self.source.n_frames(track)
            if on_track is not None:
                on_track(track)


class TrainingDataset(_TrackDataset):
    """``crops_per_track`` random crops of ``crop_seconds`` from every track per epoch.

    Tracks shorter than a crop come whole, padded (``mask`` False on the padding).
    """

    def __init__(
        self,
        tracks: Sequence[Track],
        params: FeatureParams | None = None,
        *,
        crop_seconds: float = 12.0,
        crops_per_track: int = 1,
        seed: int = 0,
        cache: FeatureCache | bool = True,
        input: InputKind = "mel",
        audio_sample_rate: int = MERT_SAMPLE_RATE,
        boundary_sigma: float = DEFAULT_BOUNDARY_SIGMA,
    ) -> None:
        super().__init__(tracks, params, cache, input, audio_sample_rate, boundary_sigma)
        if crop_seconds <= 0 or crops_per_track < 1:
            raise ValueError("crop_seconds must be > 0 and crops_per_track >= 1")
        self.crop_frames = max(1, round(crop_seconds * self.params.frame_rate))
        self.crops_per_track = crops_per_track
        self.seed = seed
        # In shared memory so that persistent DataLoader workers see set_epoch too.
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """New crops for epoch ``epoch``; call it before iterating the DataLoader."""
        self._epoch.fill_(epoch)

    def __len__(self) -> int:
        return len(self.tracks) * self.crops_per_track

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        track = self.tracks[index % len(self.tracks)]
        last_start = max(0, self.source.n_frames(track) - self.crop_frames)
        generator = torch.Generator().manual_seed(_mixed_seed(self.seed, self.epoch, index))
        start = int(torch.randint(last_start + 1, (1,), generator=generator))
        return self.source.window(track, start, self.crop_frames)


class ValidationDataset(_TrackDataset):
    """Whole tracks, or with ``window_seconds`` consecutive windows covering each track."""

    def __init__(
        self,
        tracks: Sequence[Track],
        params: FeatureParams | None = None,
        *,
        window_seconds: float | None = None,
        cache: FeatureCache | bool = True,
        input: InputKind = "mel",
        audio_sample_rate: int = MERT_SAMPLE_RATE,
        boundary_sigma: float = DEFAULT_BOUNDARY_SIGMA,
    ) -> None:
        super().__init__(tracks, params, cache, input, audio_sample_rate, boundary_sigma)
        self.window_frames = (
            None if window_seconds is None else max(1, round(window_seconds * self.frame_rate))
        )
        self._windows: list[tuple[int, int, int]] | None = None  # (track, start, length)

    def _index(self) -> list[tuple[int, int, int]]:
        # Needs every track's length, so it is built on first use rather than in __init__.
        if self._windows is None:
            windows = []
            for i, track in enumerate(self.tracks):
                n_frames = self.source.n_frames(track)
                size = self.window_frames or n_frames
                windows += [(i, s, min(size, n_frames - s)) for s in range(0, n_frames, size)]
            self._windows = windows
        return self._windows

    def __len__(self) -> int:
        if self.window_frames is None:
            return len(self.tracks)
        return len(self._index())

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        if self.window_frames is None:
            track = self.tracks[index]
            return self.source.window(track, 0, self.source.n_frames(track))
        track_index, start, length = self._index()[index]
        return self.source.window(self.tracks[track_index], start, length)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch items: tensors stacked along a new first axis, padded at the end to the longest."""
    if not items:
        raise ValueError("cannot collate an empty batch")
    batch: dict[str, Any] = {}
    for key, first in items[0].items():
        values = [item[key] for item in items]
        if not isinstance(first, torch.Tensor):
            batch[key] = values
        elif first.dim() == 0:
            batch[key] = torch.stack(values)
        else:
            batch[key] = _stack_padded(values, _PAD_VALUES.get(key, 0))
    return batch


def _stack_padded(tensors: list[torch.Tensor], pad_value: float | bool) -> torch.Tensor:
    longest = max(t.shape[-1] for t in tensors)
    if all(t.shape[-1] == longest for t in tensors):
        return torch.stack(tensors)
    out = torch.full(
        (len(tensors), *tensors[0].shape[:-1], longest), pad_value, dtype=tensors[0].dtype
    )
    for i, tensor in enumerate(tensors):
        out[i, ..., : tensor.shape[-1]] = tensor
    return out


def _padded(array: np.ndarray, length: int, pad_value: float) -> torch.Tensor:
    """A tensor copy of ``array`` with its last axis padded (or cut) to ``length``."""
    out = np.full((*array.shape[:-1], length), pad_value, dtype=array.dtype)
    n = min(length, array.shape[-1])
    out[..., :n] = array[..., :n]
    return torch.from_numpy(out)


def _mixed_seed(*values: int) -> int:
    """A well-mixed 63-bit seed from several integers (nearby inputs give unrelated seeds)."""
    state = np.random.SeedSequence([abs(v) for v in values]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
