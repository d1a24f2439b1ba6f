"""`edm train` unchanged under torchrun: 2 CPU processes, gloo; only rank 0 logs and saves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edm.registry import ModelRegistry


@pytest.mark.slow
def test_two_processes_train_one_registered_model(
    synth_data: Path, tmp_path: Path, store_uri: str
) -> None:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "edm", "--tracking-uri", store_uri, "train", str(synth_data),
            "--epochs", "2", "--batch-size", "4", "--crop-seconds", "8", "--no-progress",
            "--run-name", "ddp", "--output", str(tmp_path / "out"),
        ],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("Registered version 1") == 1  # rank 1 says nothing
    [model] = ModelRegistry(tracking_uri=store_uri).list_models()
    assert model["params"]["world_size"] == "2"
    assert model["run_name"] == "ddp"
    assert sorted(p.name for p in (tmp_path / "out" / "ddp").glob("*.pt")) == ["best.pt", "last.pt"]


def test_each_process_gets_its_share_and_mix_weights_survive_sharding() -> None:
    from torch.utils.data import DataLoader, WeightedRandomSampler

    from edm.training.distributed import DistributedContext, RankWeightedSampler, shard_loader

    items = list(range(10))
    single = DataLoader(items, batch_size=1, shuffle=True)
    assert shard_loader(single, DistributedContext(), shuffle=True, seed=0) is single

    # A plain loader: disjoint shards that cover every item between them.
    shards = [
        list(shard_loader(single, DistributedContext(rank, 2), shuffle=True, seed=0).sampler)
        for rank in (0, 1)
    ]
    assert not set(shards[0]) & set(shards[1]) and set(shards[0]) | set(shards[1]) == set(items)

    # A --mix loader: the second folder (items 5-9) weighs nothing, and so under torchrun too.
    weights = [1.0] * 5 + [0.0] * 5
    mixed = DataLoader(items, batch_size=1, sampler=WeightedRandomSampler(weights, 10))
    draws = []
    for rank in (0, 1):
        sharded = shard_loader(mixed, DistributedContext(rank, 2), shuffle=True, seed=0)
        assert isinstance(sharded.sampler, RankWeightedSampler)
        draws.append(list(sharded.sampler))
    assert all(len(d) == 5 and max(d) < 5 for d in draws)
    assert draws[0] != draws[1]  # each rank draws its own samples
