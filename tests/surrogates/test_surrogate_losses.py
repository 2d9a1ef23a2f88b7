"""DeepTFUS losses: zero on identical fields, the focal weighting checked by hand, the gradient loss blind to a
constant offset, and the soft-argmax focal term measuring the focal shift."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.losses import (
    DeepTFUSLoss,
    LossConfig,
    focal_position_loss,
    focal_weights,
    gradient_loss,
    soft_argmax,
    weighted_mse,
)


def blob(shape, centre, sigma=1.5):
    axes = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in shape], indexing="ij")
    r2 = sum((a - c) ** 2 for a, c in zip(axes, centre))
    return torch.exp(-r2 / (2 * sigma ** 2))[None, None]


def test_all_terms_zero_for_identical_fields():
    t = torch.rand(2, 1, 6, 7, 5)
    out = DeepTFUSLoss(LossConfig(focal_weight=1.0))(t, t.clone(), torch.ones(2), torch.ones(2))
    assert {k: float(v) for k, v in out.items()} == {"weighted": 0.0, "gradient": 0.0, "focal": 0.0, "scale": 0.0,
                                                    "total": 0.0}


def test_weighted_loss_by_hand():
    target = torch.tensor([1.0, 0.0]).view(1, 1, 2, 1)
    alpha = math.log(3.0)  # raw weights 1 and 1/3, mean 2/3 -> normalised 1.5 (focus) and 0.5
    assert torch.allclose(focal_weights(target, alpha).flatten(), torch.tensor([1.5, 0.5]))
    err_focus = target + torch.tensor([1.0, 0.0]).view_as(target)
    err_background = target + torch.tensor([0.0, 1.0]).view_as(target)
    assert float(weighted_mse(err_focus, target, alpha)) == pytest.approx(0.75)
    assert float(weighted_mse(err_background, target, alpha)) == pytest.approx(0.25)
    assert float(weighted_mse(err_focus, target, 0.0)) == pytest.approx(0.5)  # alpha 0: plain MSE


def test_weights_average_to_one_and_peak_at_focus():
    t = blob((9, 9, 9), (2, 5, 6))
    w = focal_weights(t, 5.0)
    assert float(w.mean()) == pytest.approx(1.0)
    assert torch.equal(w.flatten().argmax(), t.flatten().argmax())
    assert float(w.max() / w.min()) == pytest.approx(math.exp(5.0 * float(t.max() - t.min())), rel=1e-4)


def test_gradient_loss_ignores_offsets_not_shapes():
    t = torch.rand(1, 1, 5, 6, 7)
    assert float(gradient_loss(t + 0.7, t)) == pytest.approx(0.0, abs=1e-10)
    ramp = torch.arange(5.0).view(1, 1, 5, 1, 1).expand(1, 1, 5, 6, 7)
    # differences of the ramp are 1 along axis 0 only: mean over the 3 axes = 1/3
    assert float(gradient_loss(t + ramp, t)) == pytest.approx(1 / 3, rel=1e-5)


def test_soft_argmax_and_focal_loss_measure_the_shift():
    a, b = blob((16, 16), (5, 6)), blob((16, 16), (8, 10))
    assert soft_argmax(a, beta=50.0).flatten().tolist() == pytest.approx([5.0, 6.0], abs=1e-3)
    assert float(focal_position_loss(b, a, beta=50.0)) == pytest.approx(5.0, abs=1e-2)
    assert float(focal_position_loss(b, a, beta=50.0, spacing=(2.0, 1.0))) == pytest.approx(math.hypot(6, 4),
                                                                                            abs=1e-2)
    moved = b.clone().requires_grad_(True)
    focal_position_loss(moved, a).backward()
    assert moved.grad.abs().sum() > 0


def test_bad_inputs():
    with pytest.raises(TfusInputError, match="same shape"):
        weighted_mse(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
    with pytest.raises(TfusInputError, match="loss weights"):
        LossConfig(grad_weight=-1.0)


def test_linear_term_is_the_squared_rel_l2_of_the_amplitude_maps():
    from tfus.surrogates.losses import DeepTFUSLoss, LossConfig, linear_rel_l2
    from tfus.surrogates.metrics import sample_metrics
    from tfus.surrogates.normalization import Normalization

    rng = np.random.default_rng(0)
    true_pa = rng.random((2, 6, 6, 6)) * 1e5
    pred_pa = true_pa * (1 + 0.2 * rng.standard_normal(true_pa.shape))
    norm = Normalization()
    t = torch.tensor(np.stack([norm.field(p)[0] for p in true_pa])[:, None], dtype=torch.float32)
    # predicted maps normalised by the true peak, so the term compares amplitude over the same peak
    p = torch.tensor(np.stack([np.log2(1 + np.maximum(q, 0) / tp.max()) for q, tp in zip(pred_pa, true_pa,
                                                                                         strict=True)])[:, None],
                     dtype=torch.float32)
    expected = np.mean([(sample_metrics(np.maximum(q, 0), tp, spacing=1.0)["rel_l2_percent"] / 100) ** 2
                        for q, tp in zip(pred_pa, true_pa, strict=True)])
    assert float(linear_rel_l2(p, t)) == pytest.approx(expected, rel=1e-4)
    assert "linear" not in DeepTFUSLoss()(p, t)
    out = DeepTFUSLoss(LossConfig(linear_weight=0.5))(p, t)
    assert float(out["total"]) == pytest.approx(float(out["weighted"] + 0.1 * out["gradient"] + 0.5 * out["linear"]))
    with pytest.raises(TfusInputError):
        LossConfig(linear_weight=-1.0)
