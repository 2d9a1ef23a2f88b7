"""ITRUSST BM1-BM6 media: frame, layer positions and media values, 2D and 3D, absorption convention."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.validation.itrusst import ComparisonPlane, itrusst_labels, itrusst_medium

W, S, C, T, B = (int(v) for v in (Label.BACKGROUND, Label.SCALP, Label.CORTICAL, Label.TRABECULAR, Label.BRAIN))


def _axis_labels(bm: int, ndim: int = 2):
    b = itrusst_medium(bm, 0.5, ndim=ndim)
    centre = tuple(n // 2 for n in b.medium.shape[1:])
    x = b.medium.index_to_world(np.column_stack([np.arange(b.medium.shape[0])] + [np.full(b.medium.shape[0], c)
                                                                                for c in centre]))[:, 0]
    return b, x, b.labels[(slice(None),) + centre]


def test_frame_grid_and_pose():
    b = itrusst_medium(1, 0.5, ndim=3)
    assert b.medium.shape == (249, 145, 145)
    np.testing.assert_allclose(b.medium.index_to_world([8, 72, 72]), [0, 0, 0])  # apex on a node
    assert b.pose.apex.tolist() == [0, 0, 0] and b.pose.focus(b.transducer).tolist() == [64, 0, 0]
    assert b.transducer.frequency_hz == 500e3 and b.transducer.source_amplitude_pa == 60e3
    assert b.staircase_error_mm == 0.25
    assert np.all(b.medium.sound_speed == 1500) and np.all(b.medium.alpha_coeff == 0)


def test_absorbing_water_convention():
    b = itrusst_medium(2, 1.0, ndim=2)
    assert b.medium.alpha_power == 2.0
    assert np.all(b.medium.alpha_coeff == 4.0)  # 1 dB/cm at 0.5 MHz with y = 2


@pytest.mark.parametrize("bm", [3, 4, 5, 6])
def test_layers_on_axis(bm):
    _, x, lab = _axis_labels(bm)
    runs = [(float(x[i]), int(lab[i])) for i in np.r_[0, np.nonzero(np.diff(lab))[0] + 1]]
    expected = {3: [(-4.0, W), (30.0, C), (36.5, W)], 5: [(-4.0, W), (30.0, C), (36.5, W)],
                4: [(-4.0, W), (26.0, S), (30.0, C), (31.5, T), (35.5, C), (36.5, B)]}
    expected[6] = expected[4]
    assert runs == expected[bm]


def test_media_values_bm4():
    b, _, _ = _axis_labels(4)
    for label, (c, rho, alpha_db_cm) in {S: (1610, 1090, 0.2), C: (2800, 1850, 4.0), T: (2300, 1700, 8.0),
                                         B: (1560, 1040, 0.3)}.items():
        sel = b.labels == label
        assert np.all(b.medium.sound_speed[sel] == c) and np.all(b.medium.density[sel] == rho)
        np.testing.assert_allclose(b.medium.alpha_coeff[sel] * 0.5**2, alpha_db_cm, rtol=1e-6)


def test_curved_shell_geometry():
    # off axis the shell front face recedes: x = 105 - sqrt(75^2 - y^2)
    y = 30.0
    front = 105 - np.sqrt(75**2 - y**2)
    assert itrusst_labels(5, np.array([[front + 0.01, y], [front - 0.01, y]])).tolist() == [C, W]
    inner = 105 - np.sqrt(68.5**2 - y**2)
    assert itrusst_labels(5, np.array([[inner - 0.01, y, 0.0], [inner + 0.01, y, 0.0]])).tolist() == [C, W]
    assert itrusst_labels(6, np.array([[105 - np.sqrt(79**2 - y**2) + 0.01, 0.0, y]])).tolist() == [S]
    # 3D grid is symmetric about the axis
    b = itrusst_medium(6, 1.0, ndim=3)
    assert np.array_equal(b.labels, b.labels[:, ::-1, :]) and np.array_equal(b.labels, b.labels.transpose(0, 2, 1))


def test_comparison_plane():
    plane = ComparisonPlane.default()
    assert plane.axial_mm[0] == 0 and plane.axial_mm[-1] == 120 and plane.axial_mm.size == 241
    assert plane.lateral_mm.size == 141 and plane.lateral_mm[0] == -35
    assert plane.points_mm(3).shape == (241, 141, 3) and plane.points_mm(2).shape == (241, 141, 2)
    assert plane.exit_plane_mm == 9.5 and plane.focal_min_axial_mm == 37.0


def test_bad_inputs():
    for kwargs in ({"bm": 7, "spacing_mm": 1.0}, {"bm": 1, "spacing_mm": 0.0}, {"bm": 1, "spacing_mm": 1.0, "ndim": 4},
                   {"bm": 1, "spacing_mm": 1.0, "axial_range_mm": (5.0, 100.0)}):
        with pytest.raises(TfusInputError):
            itrusst_medium(**kwargs)
