"""The learning-rate schedule (LinearLR warm-up + CosineAnnealingLR in a SequentialLR) follows the closed form of the
hand-written warm-up + cosine it replaced, resumes bit for bit and stretches when epochs are raised."""

from __future__ import annotations

import math

import pytest
import torch

from tfus.surrogates.training import TrainConfig
from tfus.surrogates.training.schedule import lr_factor, make_scheduler, resume_scheduler


def _closed_form(cfg: TrainConfig, total: int, step: int) -> float:
    """The schedule as it was written by hand before (training/run.py ``_lr_lambda``), times ``lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * ((step + 1) / (cfg.warmup_steps + 1))
    floor = cfg.min_lr / cfg.lr
    t = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


def _optimizer(cfg: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=cfg.lr)


def _run(cfg: TrainConfig, total: int, steps: int, optimizer=None, scheduler=None) -> list[float]:
    """Learning rates of ``steps`` optimizer steps (the lr each step used)."""
    optimizer = optimizer or _optimizer(cfg)
    scheduler = scheduler or make_scheduler(optimizer, cfg, total)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("warmup", [0, 1, 3, 10])
@pytest.mark.parametrize("total", [1, 4, 25, 300])
@pytest.mark.parametrize(("lr", "min_lr"), [(5e-3, 0.0), (1e-3, 1e-5), (3e-4, 3e-4)])
def test_lr_sequence_matches_the_closed_form(warmup, total, lr, min_lr):
    cfg = TrainConfig.from_mapping({"lr": lr, "min_lr": min_lr, "warmup_steps": warmup})
    lrs = _run(cfg, total, total)
    expected = [_closed_form(cfg, total, s) for s in range(total)]
    assert lrs == pytest.approx(expected, rel=1e-12, abs=0)
    assert [cfg.lr * lr_factor(cfg, total, s) for s in range(total)] == expected


def test_no_scheduler():
    cfg = TrainConfig.from_mapping({"scheduler": "none"})
    assert make_scheduler(_optimizer(cfg), cfg, 10) is None


@pytest.mark.parametrize("warmup", [0, 4])
def test_resume_from_the_stored_state_is_bit_identical(warmup):
    cfg = TrainConfig.from_mapping({"lr": 2e-3, "min_lr": 1e-5, "warmup_steps": warmup})
    total, cut = 40, 13
    straight = _run(cfg, total, total)
    opt = _optimizer(cfg)
    sched = make_scheduler(opt, cfg, total)
    first = _run(cfg, total, cut, opt, sched)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    opt2 = _optimizer(cfg)
    fresh = make_scheduler(opt2, cfg, total)
    opt2.load_state_dict(saved_opt)
    resumed = resume_scheduler(fresh, saved_sched, opt2, cfg, total, cut)
    assert resumed is fresh
    assert first + _run(cfg, total, total - cut, opt2, resumed) == straight  # exact, not approx


def test_raised_epochs_stretch_the_cosine_to_the_new_length():
    cfg = TrainConfig.from_mapping({"lr": 1e-3, "min_lr": 0.0, "warmup_steps": 2})
    opt = _optimizer(cfg)
    _run(cfg, 20, 20, opt, sched := make_scheduler(opt, cfg, 20))
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    opt2 = _optimizer(cfg)
    fresh = make_scheduler(opt2, cfg, 30)
    opt2.load_state_dict(saved_opt)
    resumed = resume_scheduler(fresh, saved_sched, opt2, cfg, 30, 20)
    later = _run(cfg, 30, 10, opt2, resumed)
    assert later == pytest.approx([_closed_form(cfg, 30, s) for s in range(20, 30)], rel=1e-12)
