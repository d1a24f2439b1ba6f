"""Running under ``torchrun``: process group set-up, rank checks, and reductions.

Everything here is a no-op in a single process, so the Trainer has one code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, Sampler, WeightedRandomSampler


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process logs to MLflow and writes checkpoints."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def process_device(device: torch.device) -> torch.device:
    """Under torchrun on CUDA, each process takes the GPU of its local rank."""
    if device.type != "cuda" or not launched_by_torchrun():
        return device
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.cuda.set_device(device)
    return device


def setup(device: torch.device) -> DistributedContext:
    """Join the process group torchrun prepared (gloo on CPU, nccl on CUDA)."""
    if not launched_by_torchrun():
        return DistributedContext()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return DistributedContext(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def teardown(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(context: DistributedContext, values: torch.Tensor) -> torch.Tensor:
    if context.enabled:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_flag(context: DistributedContext, flag: bool, device: torch.device) -> bool:
    """Rank 0's decision (stop early, say) for every rank."""
    if not context.enabled:
        return flag
    tensor = torch.tensor([1 if flag else 0], device=device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def shard_loader(
    loader: DataLoader, context: DistributedContext, *, shuffle: bool, seed: int
) -> DataLoader:
    """``loader`` for this process's share of each epoch. A loader that samples by weight
    (``edm train --mix``) keeps its weights: each process draws its share from them, with a
    generator of its own rank, instead of a plain shard that would ignore them."""
    if not context.enabled or isinstance(loader.sampler, DistributedSampler | RankWeightedSampler):
        return loader
    sampler: Sampler[int]
    if isinstance(loader.sampler, WeightedRandomSampler):
        weighted = loader.sampler
        sampler = RankWeightedSampler(weighted.weights, weighted.num_samples, context, seed)
    else:
        sampler = DistributedSampler(
            loader.dataset,
            num_replicas=context.world_size,
            rank=context.rank,
            shuffle=shuffle,
            seed=seed,
        )
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        collate_fn=loader.collate_fn,
        num_workers=loader.num_workers,
        drop_last=loader.drop_last,
    )


class RankWeightedSampler(WeightedRandomSampler):
    """One process's share (``ceil(num_samples / world_size)``) of a weighted draw with
    replacement; each rank's generator is seeded apart, so ranks draw different samples."""

    def __init__(
        self, weights: torch.Tensor, num_samples: int, context: DistributedContext, seed: int
    ) -> None:
        share = -(-num_samples // context.world_size)
        generator = torch.Generator().manual_seed(seed * 1_000_003 + context.rank)
        super().__init__(weights, share, replacement=True, generator=generator)
