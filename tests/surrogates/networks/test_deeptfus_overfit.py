"""A tiny DeepTFUS fits one 16^3 sample: the total loss falls more than 10x within 100 Adam steps, and by then the
predicted focus is at most one voxel (diagonal) from the true one."""

from __future__ import annotations

import math

import torch

from tfus.surrogates.losses import DeepTFUSLoss, LossConfig
from tfus.surrogates.metrics import focal_error_mm
from tfus.surrogates.networks.blocks import grid_coordinates
from tfus.surrogates.networks.nets import DeepTFUS, DeepTFUSConfig


def test_tiny_model_overfits_one_sample():
    torch.manual_seed(0)
    net = DeepTFUS(DeepTFUSConfig.from_mapping({"preset": "tiny"}))
    grid = grid_coordinates((16, 16, 16))
    ct = 0.5 * (grid.norm(dim=-1) < 0.8).float()[None, None]
    focus = torch.tensor([0.3, -0.2, 0.1])
    amplitude = torch.exp(-((grid - focus) ** 2).sum(-1) / (2 * 0.15 ** 2))
    target = (torch.log1p(amplitude) / math.log(2.0))[None, None]
    points = focus + 0.3 * torch.randn(1, 64, 3)
    loss_fn = DeepTFUSLoss(LossConfig(focal_weight=0.01))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        out = net(ct, points)
        loss = loss_fn(out.field, target, out.log_peak, torch.tensor([0.5]))["total"]
        losses.append(loss.item())
        if losses[-1] < losses[0] / 10:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < losses[0] / 10, f"loss only fell from {losses[0]:.3g} to {min(losses):.3g}"
    assert focal_error_mm(out.field[0, 0], target[0, 0]) <= math.sqrt(3) + 1e-9
