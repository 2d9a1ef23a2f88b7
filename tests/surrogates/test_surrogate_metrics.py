"""Surrogate metrics on analytic fields: a known focal shift under an anisotropic affine, overlaps of identical and
disjoint regions, a scaled field's peak and L2 errors, focal volumes of boxes, and the aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields import focal_region, focal_volume_mm3
from tfus.surrogates.metrics import (
    METRIC_NAMES,
    aggregate,
    batch_metrics,
    focal_dice,
    focal_error_mm,
    focal_iou,
    focal_volume_error_percent,
    peak_error_percent,
    rel_l2_log_percent,
    rel_l2_percent,
    sample_metrics,
)


def gaussian(shape, centre, sigma=2.0, peak=1e6):
    grid = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return peak * np.exp(-sum((g - c) ** 2 for g, c in zip(grid, centre)) / (2 * sigma ** 2))


def test_focal_error_is_the_world_offset_with_an_anisotropic_affine():
    true, pred = gaussian((20, 24, 16), (8, 10, 6)), gaussian((20, 24, 16), (10, 9, 9))
    spacing = (0.5, 1.0, 2.0)
    expected = math.sqrt((2 * 0.5) ** 2 + (1 * 1.0) ** 2 + (3 * 2.0) ** 2)
    assert focal_error_mm(pred, true, spacing=spacing) == pytest.approx(expected)
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]) @ np.diag(spacing)
    affine = np.eye(4)
    affine[:3, :3], affine[:3, 3] = rot, [10.0, -3.0, 7.0]
    assert focal_error_mm(pred, true, affine=affine) == pytest.approx(expected)
    with pytest.raises(TfusInputError, match="4x4 affine"):
        focal_error_mm(pred, true, affine=np.eye(3))


def test_identical_fields_are_perfect():
    p = gaussian((12, 12, 12), (5, 6, 7)) + gaussian((12, 12, 12), (1, 1, 1), peak=3e5)
    m = sample_metrics(p, p.copy(), spacing=0.5)
    assert m["focal_dice"] == 1.0 and m["focal_iou"] == 1.0
    assert m["rel_l2_percent"] == 0.0 and m["focal_error_mm"] == 0.0 and m["peak_error_percent"] == 0.0
    assert m["focal_volume_error_percent"] == 0.0 and set(METRIC_NAMES) <= set(m)


def test_scaled_field_errors_equal_the_scale():
    p = gaussian((10, 10), (4, 5))
    assert peak_error_percent(1.2 * p, p) == pytest.approx(20.0)
    assert rel_l2_percent(0.7 * p, p) == pytest.approx(30.0)
    assert rel_l2_log_percent(0.7 * p, p) == pytest.approx(0.0, abs=1e-10)  # each map normalised by its own peak
    assert focal_dice(0.7 * p, p) == 1.0 and focal_error_mm(0.7 * p, p) == 0.0


def test_focal_regions_of_boxes():
    true = np.zeros((10, 10, 10))
    true[2:5, 2:5, 2:5] = 1.0  # 27 voxels
    true[8, 8, 8] = 0.9  # above half max, not connected
    pred = np.zeros_like(true)
    pred[3:6, 2:5, 2:5] = 1.0  # shifted one voxel: 18 shared
    assert focal_region(true).sum() == 27 and focal_region(true, connected=False).sum() == 28
    assert focal_dice(pred, true) == pytest.approx(2 * 18 / 54)
    assert focal_iou(pred, true) == pytest.approx(18 / 36)
    assert focal_volume_mm3(true, spacing=(0.5, 0.5, 2.0)) == pytest.approx(27 * 0.5)
    pred[3:6, 2:5, 5] = 0.8  # 9 more voxels above half max -> 36 vs 27
    assert focal_volume_error_percent(pred, true) == pytest.approx(100 * 9 / 27)


def test_batch_metrics_accept_torch_and_per_sample_affines():
    true = np.stack([gaussian((8, 8), (3, 3)), gaussian((8, 8), (4, 2))])[:, None]
    pred = np.roll(true, 1, axis=2)
    affines = np.stack([np.diag([1.0, 1.0, 1.0]), np.diag([3.0, 1.0, 1.0])])
    recs = batch_metrics(torch.from_numpy(pred), torch.from_numpy(true), affine=affines)
    assert [r["focal_error_mm"] for r in recs] == pytest.approx([1.0, 3.0])


def test_aggregate_means_medians_and_nan():
    recs = [{"a": 1.0, "b": 2.0}, {"a": 2.0, "b": float("nan")}, {"a": 9.0, "b": 4.0}]
    agg = aggregate(recs)
    assert agg["a"] == {"mean": 4.0, "median": 2.0, "n": 3}
    assert agg["b"] == {"mean": 3.0, "median": 3.0, "n": 2}
    assert aggregate([], names=["a"])["a"]["n"] == 0


def test_intracranial_focus_ignores_a_hot_spot_outside_the_mask():
    """A simulated field whose maximum is a scalp hot spot, and a prediction with the intracranial focus only: the
    whole-field focal error is the hot spot's distance to the focus, the intracranial one is zero; the intracranial
    peak error compares the two foci."""
    shape, spacing = (20, 24, 16), (0.5, 1.0, 2.0)
    focus, hot = (12, 14, 9), (2, 3, 2)
    true = gaussian(shape, focus, peak=1e6) + gaussian(shape, hot, sigma=1.0, peak=1.5e6)
    pred = gaussian(shape, focus, peak=0.8e6)
    brain = np.zeros(shape, bool)
    brain[6:, 6:, 4:] = True
    m = sample_metrics(pred, true, spacing=spacing, mask=brain)
    offset = np.subtract(focus, hot) * spacing
    assert m["focal_error_mm"] == pytest.approx(float(np.linalg.norm(offset)))
    assert m["focal_error_brain_mm"] == 0.0
    assert m["peak_error_brain_percent"] == pytest.approx(100 * abs(0.8e6 - true[focus]) / true[focus])
    assert m["peak_brain_true_pa"] == pytest.approx(true[focus]) and m["peak_true_pa"] == pytest.approx(true[hot])
    # a prediction whose intracranial maximum is elsewhere in the brain: the world distance between the two
    moved = gaussian(shape, (15, 20, 12), peak=1e6)
    assert focal_error_mm(moved, true, spacing=spacing, mask=brain) == pytest.approx(
        float(np.linalg.norm(np.subtract((15, 20, 12), focus) * spacing)))
    assert peak_error_percent(moved, true, mask=torch.from_numpy(brain)) == pytest.approx(
        100 * abs(1e6 - true[focus]) / true[focus])


def test_intracranial_metrics_of_an_empty_or_misshaped_mask():
    true = gaussian((10, 10, 10), (5, 5, 5))
    m = sample_metrics(true, true, mask=np.zeros((10, 10, 10), bool))
    assert math.isnan(m["focal_error_brain_mm"]) and math.isnan(m["peak_error_brain_percent"])
    assert "focal_error_brain_mm" not in sample_metrics(true, true)
    with pytest.raises(TfusInputError, match="mask"):
        sample_metrics(true, true, mask=np.ones((10, 10), bool))
