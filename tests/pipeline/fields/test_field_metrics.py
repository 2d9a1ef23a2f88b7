"""Focal metrics for reports: intracranial focus (bone and near field excluded), Isppa, MI, JSON-ready output."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields.metrics import bowl_surface_distance, default_near_field_mm, field_metrics
from tfus.pipeline.transducers.pose import bowl_surface_points
from tfus.pipeline.validation.itrusst import itrusst_medium


def _scene(ndim: int = 3):
    """BM4 layers at 1 mm; a Gaussian focus in the brain at x = 55 mm, a stronger spike in the skull (x = 31 mm) and
    a still stronger one in the near field (x = 5 mm)."""
    b = itrusst_medium(4, 1.0, ndim=ndim, lateral_half_width_mm=10.0)
    m = b.medium
    idx = np.indices(m.shape).reshape(ndim, -1).T
    world = m.index_to_world(idx).reshape(m.shape + (ndim,))
    r2 = (world[..., 1:] ** 2).sum(-1)
    amp = 3e5 * np.exp(-((world[..., 0] - 55.0) ** 2) / (2 * 4.0**2) - r2 / (2 * 1.2**2))
    i0 = int(round(m.world_to_index([0.0] * ndim)[0]))
    centre = tuple(n // 2 for n in m.shape[1:])
    amp[(i0 + 31,) + centre] = 6e5
    amp[(i0 + 5,) + centre] = 7e5
    return b, SteadyStateField(amp, np.zeros(m.shape), m.affine, 5e5)


def test_intracranial_focus_with_labels():
    b, f = _scene()
    out = field_metrics(f, b.medium, transducer=b.transducer, pose=b.pose, labels=b.labels)
    assert out["focus_region"] == "brain" and out["focus_label"] == 4
    assert out["focus_mm"] == pytest.approx([55.0, 0.0, 0.0])
    assert out["peak_pressure_pa"] == pytest.approx(3e5)
    assert out["global_peak_pressure_pa"] == pytest.approx(7e5) and out["global_peak_mm"] == pytest.approx([5, 0, 0])
    assert out["isppa_w_cm2"] == pytest.approx((3e5) ** 2 / (2 * 1040 * 1560) / 1e4)
    assert out["mi"] == pytest.approx(0.3 / math.sqrt(0.5))
    assert out["focus_distance_to_target_mm"] == pytest.approx(9.0)
    assert out["focus_axial_mm"] == pytest.approx(55.0) and out["focus_off_axis_mm"] == pytest.approx(0.0)
    fw = 2 * math.sqrt(2 * math.log(2))
    assert out["focal_length_6db_mm"] == pytest.approx(fw * 4.0, rel=0.03)
    assert out["focal_widths_6db_mm"] == pytest.approx([fw * 1.2] * 2, rel=0.1)
    semi = [s * math.sqrt(2 * math.log(2)) for s in (4.0, 1.2, 1.2)]
    assert out["focal_volume_mm3"] == pytest.approx(4 / 3 * math.pi * np.prod(semi), rel=0.15)
    assert out["near_field_exclusion_mm"] == 16.0
    json.dumps(out, allow_nan=False)


def test_rules_without_labels():
    b, f = _scene()
    water = field_metrics(f, None, transducer=b.transducer, pose=b.pose)
    assert water["focus_region"] == "medium" and water["focus_mm"] == pytest.approx([31.0, 0.0, 0.0])
    assert water["isppa_w_cm2"] == pytest.approx((6e5) ** 2 / (2 * 1000 * 1500) / 1e4)
    assert field_metrics(f, b.medium, transducer=b.transducer, pose=b.pose, near_field_mm=0)["focus_mm"] == \
        pytest.approx([5.0, 0.0, 0.0])
    plain = field_metrics(f, b.medium, target_mm=[5.0, 0.0, 3.0])
    assert plain["focus_mm"] == pytest.approx([5.0, 0.0, 0.0]) and plain["focus_distance_to_target_mm"] == 3.0
    assert "focus_axial_mm" not in plain and plain["near_field_exclusion_mm"] is None


def test_2d_field_reports_area():
    b, f = _scene(ndim=2)
    out = field_metrics(f, b.medium, transducer=b.transducer, pose=b.pose, labels=b.labels)
    assert out["focus_mm"] == pytest.approx([55.0, 0.0])
    assert out["focal_volume_mm3"] is None and out["focal_area_mm2"] > 0
    json.dumps(out, allow_nan=False)


def test_bowl_surface_distance():
    b = itrusst_medium(1, 2.0, ndim=3, lateral_half_width_mm=40.0)
    d = bowl_surface_distance(b.medium.shape, b.medium.affine, b.transducer, b.pose)
    at = lambda xyz: float(d[tuple(np.rint(b.medium.world_to_index(xyz)).astype(int))])  # noqa: E731
    assert at([0, 0, 0]) == pytest.approx(0.0, abs=1e-5)
    assert at([64, 0, 0]) == pytest.approx(64.0)
    assert at([-4, 0, 0]) == pytest.approx(4.0)
    rim_x = b.transducer.dome_height_mm
    p = np.array([10.0, 32.0, 2.0])  # just outside the cap's cone: the rim circle is nearest
    ring = np.array([rim_x, *(32 * p[1:] / np.linalg.norm(p[1:]))])
    assert at(p) == pytest.approx(float(np.linalg.norm(p - ring)), rel=1e-5)
    pts = bowl_surface_points(b.transducer, b.pose, 4.0)
    idx = np.rint(b.medium.world_to_index(pts)).astype(int)
    snapped = b.medium.index_to_world(idx)
    assert np.all(d[tuple(idx.T)] <= np.linalg.norm(snapped - pts, axis=1) + 1e-4)
    assert default_near_field_mm(b.transducer) == 16.0


def test_shape_mismatch_and_empty_region():
    b, f = _scene()
    with pytest.raises(TfusInputError):
        field_metrics(f, b.medium, labels=b.labels[:-1])
    with pytest.raises(TfusInputError):
        field_metrics(f, b.medium, transducer=b.transducer, pose=b.pose, near_field_mm=1000)
