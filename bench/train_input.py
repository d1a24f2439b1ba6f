"""One training epoch of input over 32 synthetic tracks: feature cache against decoding each epoch.

The baseline, written here as the spec project did it: every item decodes its audio file,
computes the log-mel features of the whole track and its targets, then cuts the crop. Ours:
``TrainingDataset`` with the on-disk feature cache, warm (the cost of every epoch after the
first): a memory-mapped read of the crop's frames and memoised targets. Both run through the
same DataLoader with the same crops; their first items are checked to match.

    python bench/train_input.py [--tracks 32] [--repeats 7] [--workers 0] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
import torch
from torch.utils.data import DataLoader, Dataset

from edm.audio.cache import FeatureCache
from edm.audio.features import FeatureParams, log_mel
from edm.data.dataset import Track, TrainingDataset, collate, load_dataset
from edm.data.targets import frame_targets
from edm.synth import write_synthetic_dataset


class DecodeEveryEpoch(Dataset):
    """The baseline: decode, compute features and targets for every item of every epoch."""

    def __init__(self, crops: TrainingDataset) -> None:
        self.crops = crops  # only for its tracks, crop length and crop positions

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> dict[str, Any]:
        crops = self.crops
        track: Track = crops.tracks[index % len(crops.tracks)]
        params = crops.params
        samples, rate = sf.read(track.audio_path, dtype="float32", always_2d=True)
        samples = samples.mean(axis=1)
        if rate != params.sample_rate:
            samples = soxr.resample(samples, rate, params.sample_rate)
        features = log_mel(samples, params)
        n_frames = features.shape[1]
        targets = frame_targets(track.annotation, n_frames, params.frame_rate)
        length = crops.crop_frames
        start = _crop_start(crops, index, n_frames)
        end = start + length
        return {
            "features": torch.from_numpy(np.ascontiguousarray(features[:, start:end])),
            "boundary": torch.from_numpy(targets.boundary[start:end].copy()),
            "beat": torch.from_numpy(targets.beat[start:end].copy()),
            "downbeat": torch.from_numpy(targets.downbeat[start:end].copy()),
            "label": torch.from_numpy(targets.label[start:end].copy()),
            "energy": torch.from_numpy(targets.energy[:, start:end].copy()),
            "mask": torch.ones(length, dtype=torch.bool),
            "track": track.name,
        }


def _crop_start(crops: TrainingDataset, index: int, n_frames: int) -> int:
    # The same draw TrainingDataset makes, so both sides cut the same crops.
    from edm.data.dataset import _mixed_seed

    generator = torch.Generator().manual_seed(_mixed_seed(crops.seed, crops.epoch, index))
    return int(torch.randint(max(0, n_frames - crops.crop_frames) + 1, (1,), generator=generator))


def epoch_seconds(loader: DataLoader) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def make_loader(dataset: Dataset, batch_size: int, workers: int) -> DataLoader:
    # Persistent workers: an epoch's time is its data, not the start of fresh processes.
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=True, collate_fn=collate, num_workers=workers,
        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop-seconds", type=float, default=12.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        start = time.perf_counter()
        write_synthetic_dataset(data_dir, args.tracks, seed=0)
        synth_s = time.perf_counter() - start
        tracks = load_dataset(data_dir).tracks
        minutes = sum(t.annotation.audio.duration for t in tracks) / 60

        ours = TrainingDataset(
            tracks, FeatureParams(), crop_seconds=args.crop_seconds, seed=0,
            cache=FeatureCache(Path(tmp) / "cache"),
        )  # fmt: skip
        baseline = DecodeEveryEpoch(ours)
        ours_loader = make_loader(ours, args.batch_size, args.workers)
        base_loader = make_loader(baseline, args.batch_size, args.workers)
        cold_s = epoch_seconds(ours_loader)  # fills the cache

        # Features made in a worker (1 thread) and here (more) differ in the last float bits.
        ours_item = ours[0]
        for key, value in baseline[0].items():
            if isinstance(value, torch.Tensor):
                assert torch.allclose(value.double(), ours_item[key].double(), atol=1e-4), key

        ours_s, base_s = [], []
        for epoch in range(1, args.repeats + 1):
            ours.set_epoch(epoch)
            ours_s.append(epoch_seconds(ours_loader))
            base_s.append(epoch_seconds(base_loader))

    ours_median, base_median = statistics.median(ours_s), statistics.median(base_s)
    print(
        f"{len(tracks)} synthetic tracks ({minutes:.1f} min of audio, made in {synth_s:.1f} s); "
        f"{args.crop_seconds:g} s crops, batch {args.batch_size}, {args.workers} workers; "
        f"median of {args.repeats} epochs"
    )
    print(f"baseline (decode + features every epoch): {base_median * 1000:9.1f} ms/epoch")
    print(f"edm, first epoch (computes the cache):    {cold_s * 1000:9.1f} ms")
    print(f"edm, later epochs (warm feature cache):   {ours_median * 1000:9.1f} ms/epoch")
    print(f"speed-up per epoch: {base_median / ours_median:.1f}x")


if __name__ == "__main__":
    main()
