"""From a pressure field to temperature and CEM43 per region (simulate_thermal), and its input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfus.pipeline.acoustics import AcousticProperties
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.safety import (
    THERMAL_TISSUES,
    ThermalSettings,
    heat_deposition,
    load_protocol,
    simulate_thermal,
    solve_bioheat,
    tissue_maps,
)


def _layered_head(shape=(16, 16, 24)):
    """Layers along the last axis: water, skin, cortical, trabecular, cortical, brain; a focus in the brain."""
    labels = np.zeros(shape, dtype=np.int16)
    for label, (a, b) in zip((1, 2, 3, 2, 4), ((3, 6), (6, 8), (8, 10), (10, 11), (11, shape[2]))):
        labels[..., a:b] = label
    c = np.array([8, 8, 17])
    idx = np.indices(shape)
    r2 = sum((idx[i] - c[i]) ** 2 for i in range(3)) * (1.0**2)  # voxel units
    pressure = 1.2e6 * np.exp(-r2 / (2 * 2.5**2)) + 2e5
    speed = np.choose(labels, [1500.0, 1610.0, 2800.0, 2300.0, 1560.0])
    density = np.choose(labels, [1000.0, 1090.0, 1850.0, 1700.0, 1040.0])
    alpha_db_cm = np.choose(labels, [0.0, 0.2, 4.0, 8.0, 0.3])  # ITRUSST media at 500 kHz
    medium = AcousticProperties(speed, density, alpha_db_cm / 0.25, 2.0, "itrusst-layers")
    return labels, pressure, medium


def test_heat_deposition_is_two_alpha_intensity():
    labels, pressure, medium = _layered_head()
    q = heat_deposition(pressure, medium, 500e3)
    i, j, k = 8, 8, 7  # cortical bone: 4 dB/cm at 500 kHz
    alpha = 4.0 * 100 * math.log(10) / 20
    intensity = pressure[i, j, k] ** 2 / (2 * 1850.0 * 2800.0)
    assert q[i, j, k] == pytest.approx(2 * alpha * intensity, rel=1e-6)
    assert np.all(q[labels == 0] == 0)


def test_simulate_thermal_reports_regions_and_matches_the_solver():
    labels, pressure, medium = _layered_head()
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    protocol = load_protocol("rtus-verhagen2019")
    result = simulate_thermal(pressure, medium, labels, affine, 500e3, protocol)
    assert set(result.regions) == {"water", "skin", "skull_cortical", "skull_trabecular", "skull", "brain", "all"}
    cap, k, perf = tissue_maps(labels)
    sol = solve_bioheat(heat_deposition(pressure, medium, 500e3), cap, k, perf, (1e-3,) * 3, protocol)
    assert np.array_equal(result.max_rise_c, sol.max_rise_c)
    skull = result.regions["skull"]
    assert skull.max_rise_c == pytest.approx(sol.max_rise_c[np.isin(labels, (2, 3))].max())
    assert skull.max_temperature_c == pytest.approx(37.0 + skull.max_rise_c)
    assert skull.max_rise_c == max(result.regions["skull_cortical"].max_rise_c,
                                   result.regions["skull_trabecular"].max_rise_c)
    assert result.regions["all"].max_rise_c == pytest.approx(float(result.max_rise_c.max()))
    assert result.regions["skull"].voxels == int(np.isin(labels, (2, 3)).sum())
    # the 1.2 MPa focus makes the brain the hottest region; heating ends with the sonication
    hottest = np.unravel_index(np.argmax(result.max_rise_c), labels.shape)
    assert labels[hottest] == 4 and result.regions["brain"].max_rise_c == result.regions["all"].max_rise_c > 0
    assert result.hottest_time_s == pytest.approx(protocol.total_duration_s)
    assert result.temperature_at_hottest_c.max() == pytest.approx(37.0 + result.max_rise_c.max())
    assert result.cem43_min.max() == pytest.approx(result.regions["all"].cem43_min)
    assert result.summary()["regions"]["brain"]["voxels"] == int((labels == 4).sum())
    # each region's hottest course: the box's peak course for "all", its maximum over time the region's max rise
    assert np.array_equal(result.region_peak_rise_c["all"], result.peak_rise_c)
    for name, region in result.regions.items():
        course = result.region_peak_rise_c[name]
        assert course.shape == result.times_s.shape and course.max() == pytest.approx(region.max_rise_c, rel=1e-12)


def test_drive_scaling_and_spacing_from_the_affine():
    """Heat is quadratic in pressure and the solver linear: doubling the drive quadruples the rise; a 2 mm affine
    gives the same rise as passing 2 mm spacing directly."""
    labels, pressure, medium = _layered_head()
    protocol = load_protocol("pulsed-1khz-50pct")
    settings = ThermalSettings(boundary="insulated")
    base = simulate_thermal(pressure, medium, labels, np.diag([2.0, 2.0, 2.0, 1.0]), 500e3, protocol, settings)
    double = simulate_thermal(2 * pressure, medium, labels, np.diag([2.0, 2.0, 2.0, 1.0]), 500e3, protocol, settings)
    assert np.allclose(double.max_rise_c, 4 * base.max_rise_c, rtol=1e-9, atol=1e-15)
    cap, k, perf = tissue_maps(labels)
    sol = solve_bioheat(heat_deposition(pressure, medium, 500e3), cap, k, perf, (2e-3,) * 3, protocol, settings)
    assert np.allclose(base.max_rise_c, sol.max_rise_c)


def test_bad_inputs_are_one_line_errors():
    labels, pressure, medium = _layered_head()
    affine = np.eye(4)
    protocol = load_protocol("legon2018-1khz")
    bad = pressure.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(TfusInputError, match="NaN"):
        simulate_thermal(bad, medium, labels, affine, 500e3, protocol)
    with pytest.raises(TfusInputError, match="labels .* and pressure field .* differ"):
        simulate_thermal(pressure, medium, labels[:-1], affine, 500e3, protocol)
    with pytest.raises(TfusInputError, match="no thermal properties"):
        simulate_thermal(pressure, medium, np.where(labels == 4, 7, labels), affine, 500e3, protocol)
    with pytest.raises(TfusInputError, match="4x4"):
        simulate_thermal(pressure, medium, labels, np.eye(3), 500e3, protocol)


def test_tissue_table_documents_its_values():
    """IT'IS v4.1 values; perfusion length of brain ~3.7 mm; water has no perfusion."""
    assert THERMAL_TISSUES[0].perfusion_w_m3_k == 0 and math.isinf(THERMAL_TISSUES[0].perfusion_length_m)
    assert THERMAL_TISSUES[4].perfusion_length_m == pytest.approx(3.71e-3, rel=1e-2)
    assert THERMAL_TISSUES[2].conductivity == 0.32 and THERMAL_TISSUES[3].perfusion_ml_min_kg == 30.0
