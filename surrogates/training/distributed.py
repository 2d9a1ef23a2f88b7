"""Devices and multi-process training: one process per GPU (or several CPU processes) launched by ``torchrun``,
which sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``. Backends: ``nccl`` on CUDA, ``gloo`` on CPU. Without
those variables everything runs in this one process and the collectives below are no-ops.

Example:
    >>> ctx = setup_distributed("cpu")
    >>> ctx.rank, ctx.world_size, ctx.is_main, str(ctx.device)
    (0, 1, True, 'cpu')
    >>> teardown_distributed(ctx)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from tfus.pipeline.device import Device, resolve_device
from tfus.pipeline.errors import TfusInputError

__all__ = ["DistContext", "all_gather_objects", "all_reduce_sum", "barrier", "setup_distributed",
           "teardown_distributed", "weights_digest"]


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "auto", timeout_s: float = 1800.0) -> DistContext:
    """Resolve the device and join the process group when launched by ``torchrun`` with more than one process."""
    kind = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if kind is Device.GPU:
        if local >= torch.cuda.device_count():
            raise TfusInputError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} CUDA devices; launch at "
                                 "most one process per GPU (torchrun --nproc_per_node)")
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    owns = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if kind is Device.GPU else "gloo", timeout=timedelta(seconds=timeout_s))
        owns = True
    if dist.is_initialized():
        world, rank = dist.get_world_size(), dist.get_rank()
    return DistContext(rank=rank, world_size=world, local_rank=local, device=dev, owns_group=owns)


def teardown_distributed(ctx: DistContext) -> None:
    """Leave the process group if :func:`setup_distributed` joined it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    if _active():
        dist.barrier()


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` over all processes, in place (through the GPU for nccl)."""
    if _active():
        if dist.get_backend() == "nccl" and values.device.type != "cuda":
            moved = values.to(torch.device("cuda", torch.cuda.current_device()))
            dist.all_reduce(moved, op=dist.ReduceOp.SUM)
            values.copy_(moved.cpu())
        else:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def all_gather_objects(obj: Any) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` (just ``[obj]`` in a single process)."""
    if not _active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer (names, shapes, bytes): equal digests = identical weights."""
    h = hashlib.sha256()
    for name, value in module.state_dict().items():
        t = value.detach().to("cpu").contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()
