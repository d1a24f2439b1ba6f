from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from edm.audio.cache import FeatureCache
from edm.data.dataset import (
    IGNORE_INDEX,
    TrainingDataset,
    ValidationDataset,
    collate,
    load_dataset,
)
from edm.vocabulary import LABELS


@pytest.fixture
def tracks(tmp_path: Path, write_track):
    write_track(tmp_path / "data", "a", duration=10.0, seed=1)
    write_track(tmp_path / "data", "b", duration=11.0, seed=2)
    write_track(tmp_path / "data", "c", duration=9.0, seed=3)
    return load_dataset(tmp_path / "data").tracks


@pytest.fixture
def cache(tmp_path: Path) -> FeatureCache:
    return FeatureCache(tmp_path / "cache")


def test_training_item_has_every_key_with_its_shape(tracks, cache) -> None:
    dataset = TrainingDataset(tracks, crop_seconds=4.0, cache=cache)
    item = dataset[0]
    assert item["features"].shape == (80, 200) and item["features"].dtype == torch.float32
    for key in ("boundary", "beat", "downbeat"):
        assert item[key].shape == (200,) and item[key].dtype == torch.float32
    assert item["label"].shape == (200,) and item["label"].dtype == torch.int64
    assert item["energy"].shape == (3, 200)
    assert item["mask"].dtype == torch.bool and item["mask"].all()
    assert item["has_energy"].item() is True
    assert item["track"] == "a"
    assert dataset.frame_rate == 50.0


def test_crops_are_reproducible_and_change_with_epoch_and_seed(tracks, cache) -> None:
    def starts(dataset: TrainingDataset) -> list[int]:
        return [int(dataset[i]["start_frame"]) for i in range(len(dataset))]

    one = TrainingDataset(tracks, crop_seconds=2.0, crops_per_track=4, seed=5, cache=cache)
    two = TrainingDataset(tracks, crop_seconds=2.0, crops_per_track=4, seed=5, cache=cache)
    assert len(one) == 12
    assert starts(one) == starts(two)
    first_epoch = starts(one)
    one.set_epoch(1)
    assert starts(one) != first_epoch
    assert (
        starts(TrainingDataset(tracks, crop_seconds=2.0, crops_per_track=4, seed=6, cache=cache))
        != first_epoch
    )


def test_crop_matches_the_whole_track_at_its_offset(tracks, cache) -> None:
    crops = TrainingDataset(tracks, crop_seconds=3.0, seed=1, cache=cache)
    whole = ValidationDataset(tracks, cache=cache)
    crop, full = crops[1], whole[1]
    start = int(crop["start_frame"])
    assert torch.equal(crop["features"], full["features"][:, start : start + 150])
    for key in ("beat", "downbeat", "boundary", "label"):
        assert torch.equal(crop[key], full[key][start : start + 150])


def test_track_shorter_than_the_crop_is_padded_and_masked(tracks, cache) -> None:
    dataset = TrainingDataset(tracks, crop_seconds=12.0, cache=cache)
    item = dataset[2]  # track c: 9 s = 451 frames
    assert item["features"].shape == (80, 600)
    assert int(item["start_frame"]) == 0
    assert item["mask"][:451].all() and not item["mask"][451:].any()
    assert (item["label"][451:] == IGNORE_INDEX).all()
    assert not item["features"][:, 451:].any()


def test_validation_batches_pad_different_lengths(tracks, cache) -> None:
    batch = collate([ValidationDataset(tracks, cache=cache)[i] for i in range(3)])
    assert batch["features"].shape == (3, 80, 551)
    assert batch["mask"].sum(dim=1).tolist() == [501, 551, 451]
    assert (batch["label"][2, 451:] == IGNORE_INDEX).all()
    assert (batch["label"][1] != IGNORE_INDEX).all()
    assert batch["energy"].shape == (3, 3, 551)
    assert batch["track"] == ["a", "b", "c"]
    assert batch["has_energy"].tolist() == [True, True, True]
    unlabeled = LABELS.index("unlabeled")
    assert (batch["label"][0, :25] == unlabeled).all()


def test_validation_windows_cover_each_track(tracks, cache) -> None:
    dataset = ValidationDataset(tracks, window_seconds=4.0, cache=cache)
    items = [dataset[i] for i in range(len(dataset))]
    per_track: dict[str, int] = {}
    for item in items:
        per_track[item["track"]] = per_track.get(item["track"], 0) + int(item["mask"].sum())
    assert per_track == {"a": 501, "b": 551, "c": 451}
    assert len(dataset) == 3 + 3 + 3


def test_audio_input_gives_the_waveform_with_targets_at_50_fps(tracks, cache) -> None:
    dataset = TrainingDataset(tracks, crop_seconds=4.0, input="audio", cache=cache)
    item = dataset[0]
    assert "features" not in item
    assert item["audio"].shape == (4 * 24000,) and item["audio"].dtype == torch.float32
    assert item["beat"].shape == (200,)
    whole = ValidationDataset(tracks, input="audio", audio_sample_rate=16000, cache=cache)[0]
    assert whole["beat"].shape == (501,)
    assert whole["audio"].shape == (501 * 320,)  # T frames of 320 samples: 10 s, then padding
    assert not whole["audio"][160000:].any()
    batch = collate([item, dataset[1]])
    assert batch["audio"].shape == (2, 96000)


@pytest.mark.parametrize("persistent", [False, True])
def test_dataloader_with_two_workers_gives_what_one_process_gives(
    tracks, cache, persistent: bool
) -> None:
    dataset = TrainingDataset(tracks, crop_seconds=2.0, crops_per_track=2, seed=3, cache=cache)
    dataset.warm_cache()
    parallel_loader = DataLoader(
        dataset, batch_size=2, collate_fn=collate, num_workers=2, persistent_workers=persistent
    )
    single_loader = DataLoader(dataset, batch_size=2, collate_fn=collate, num_workers=0)

    starts_per_epoch = []
    for epoch in range(2):
        dataset.set_epoch(epoch)
        single, parallel = list(single_loader), list(parallel_loader)
        assert len(single) == len(parallel) == 3
        for a, b in zip(single, parallel, strict=True):
            assert a["track"] == b["track"]
            assert torch.equal(a["start_frame"], b["start_frame"])
            assert torch.equal(a["features"], b["features"])
            assert a["mask"].shape == (2, 100)
        starts_per_epoch.append(torch.cat([b["start_frame"] for b in parallel]).tolist())
    assert starts_per_epoch[0] != starts_per_epoch[1]


def test_second_epoch_reads_features_from_the_cache_only(tracks, cache, monkeypatch) -> None:
    import edm.audio.cache as cache_module

    calls: list[str] = []
    real = cache_module.load_audio

    def counting_load_audio(path, sample_rate):
        calls.append(str(path))
        return real(path, sample_rate)

    monkeypatch.setattr(cache_module, "load_audio", counting_load_audio)
    dataset = TrainingDataset(tracks, crop_seconds=2.0, cache=cache)
    _ = [dataset[i] for i in range(len(dataset))]
    assert len(calls) == 3
    dataset.set_epoch(1)
    fresh = TrainingDataset(tracks, crop_seconds=2.0, cache=cache)  # a new process's view
    _ = [dataset[i] for i in range(len(dataset))] + [fresh[i] for i in range(len(fresh))]
    assert len(calls) == 3
