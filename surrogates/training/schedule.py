"""The learning-rate schedule of ``tfus train``: a linear warm-up, then a cosine from ``lr`` down to ``min_lr``, per
optimizer step, built from ``torch.optim.lr_scheduler`` (``LinearLR`` then ``CosineAnnealingLR`` in a
``SequentialLR``).

Step ``s`` of ``T`` with ``W`` warm-up steps has the factor (of ``lr``)

* ``(s + 1) / (W + 1)`` for ``s < W``,
* ``f + (1 - f) * (1 + cos(pi * (s - W) / max(1, T - W))) / 2`` after, with ``f = min_lr / lr``,

up to float round-off (torch steps the cosine recursively). A resumed run loads the stored scheduler state and
continues bit for bit; a run whose ``epochs`` were raised (or a checkpoint of another schedule) gets a fresh schedule
of the new length, stepped to where the run is, so the cosine stretches to the new length.

Example:
    >>> import torch
    >>> from tfus.surrogates.training import TrainConfig
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    >>> sched = make_scheduler(opt, TrainConfig(lr=1e-3, warmup_steps=3), total_steps=10)
    >>> round(opt.param_groups[0]["lr"], 6)
    0.00025
"""

from __future__ import annotations

import math
import warnings

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR

from tfus.surrogates.training.config import TrainConfig

__all__ = ["lr_factor", "make_scheduler", "resume_scheduler"]


def lr_factor(cfg: TrainConfig, total_steps: int, step: int) -> float:
    """The closed form of the schedule: the factor of ``cfg.lr`` at optimizer step ``step`` of ``total_steps``.

    Example:
        >>> from tfus.surrogates.training import TrainConfig
        >>> lr_factor(TrainConfig(lr=1e-3, warmup_steps=1), 11, 0), lr_factor(TrainConfig(lr=1e-3), 10, 10)
        (0.5, 0.0)
    """
    if step < cfg.warmup_steps:
        return (step + 1) / (cfg.warmup_steps + 1)
    floor = cfg.min_lr / cfg.lr
    t = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int) -> LRScheduler | None:
    """The scheduler for ``cfg`` (None for ``scheduler: none``), stepped once per optimizer step.

    Example:
        >>> import torch
        >>> from tfus.surrogates.training import TrainConfig
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> type(make_scheduler(opt, TrainConfig(lr=1.0, warmup_steps=2), 8)).__name__
        'SequentialLR'
    """
    if cfg.scheduler != "cosine":
        return None
    warm = cfg.warmup_steps
    cosine = CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warm), eta_min=cfg.min_lr)
    if warm == 0:
        return cosine
    # factors 1/(W+1) ... W/(W+1) over steps 0 ... W-1; then the cosine starts at lr (its closed form at 0)
    linear = LinearLR(optimizer, start_factor=1 / (warm + 1), end_factor=warm / (warm + 1), total_iters=warm - 1)
    return SequentialLR(optimizer, [linear, cosine], milestones=[warm])


def resume_scheduler(scheduler: LRScheduler | None, state: dict | None, optimizer: torch.optim.Optimizer,
                     cfg: TrainConfig, total_steps: int, step: int) -> LRScheduler | None:
    """The scheduler of a resumed run at global ``step`` (call after ``optimizer.load_state_dict``).

    The stored ``state`` is loaded when it is a schedule of this length; otherwise (``epochs`` raised, or a
    checkpoint of another schedule) a fresh schedule of ``total_steps`` is stepped ``step`` times.
    """
    if scheduler is None:
        return None
    if state and _cosine_length(state) == _cosine_length(scheduler.state_dict()):
        scheduler.load_state_dict(state)
        return scheduler
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"]
    fresh = make_scheduler(optimizer, cfg, total_steps)
    with warnings.catch_warnings():  # stepping without optimizer steps, on purpose
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(step):
            fresh.step()
    return fresh


def _cosine_length(state: dict) -> int | None:
    """``T_max`` of the cosine in a scheduler state (plain or in a SequentialLR); None for another schedule."""
    if "_schedulers" in state:
        state = state["_schedulers"][-1]
    return state.get("T_max")
