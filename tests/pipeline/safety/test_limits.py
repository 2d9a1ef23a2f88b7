"""ITRUSST flags, the binding limit and the largest safe drive: the drive factor predicted from the scaling laws is
checked against a rerun at that drive (the binding quantity lands on its level, every group stays green) and just
above it (the binding group turns red)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tfus.pipeline.acoustics import AcousticProperties
from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.fields.acoustic_safety import AcousticSafety, RegionAcoustics, acoustic_safety
from tfus.pipeline.fields.acoustic_safety import free_field_from_water_field as water_ff
from tfus.pipeline.safety import Protocol, simulate_thermal
from tfus.pipeline.safety.limits import CEM43_LIMIT_MIN, MI_LIMIT, cem43_of_course, check_limits

F = 500e3
SHAPE = (15, 15, 15)
AFFINE = np.diag([1.0, 1.0, 1.0, 1.0])
CW = Protocol(name="cw-10s", pulse_duration_ms=10_000.0, duty_cycle_percent=100.0, train_duration_s=10.0,
              train_repetition_interval_s=10.0, total_duration_s=10.0, source_amplitude_pa=1e5)


def _region(mi: float) -> RegionAcoustics:
    return RegionAcoustics(1, mi * 1e6 * math.sqrt(0.5), (0.0, 0.0, 0.0), 1.0, 1.0, mi, 1.0, (0.0, 0.0, 0.0))


def test_mechanical_group_is_green_when_either_mi_is():
    """MI (free field) 2.4 is red, MItc 1.2 green: the group is green and MItc sets the factor 1.9 / 1.2."""
    ff = water_ff(SteadyStateField(np.full((2, 2, 2), 2.4e6 * math.sqrt(0.5)), np.zeros((2, 2, 2)), np.eye(4), F))
    acoustics = AcousticSafety(F, 1.0, {"brain": _region(1.2), "skull": _region(0.9)}, free_field=ff)
    check = check_limits(acoustics, None)
    flags = {f.criterion: f for f in check.flags}
    assert not flags["MI (free field)"].ok and flags["MItc"].ok and check.ok
    assert flags["MItc"].region == "brain"
    assert check.binding.criterion == "MItc" and check.max_scale == pytest.approx(MI_LIMIT / 1.2, rel=1e-8)
    assert flags["MI (free field)"].max_scale == pytest.approx(MI_LIMIT / 2.4, rel=1e-8)
    red = check_limits(AcousticSafety(F, 1.0, {"brain": _region(2.0)}, free_field=ff), None)
    assert not red.ok and red.groups == {"mechanical": False} and red.max_scale == pytest.approx(0.95)


def test_cem43_of_course_matches_constant_temperatures():
    """CEM43 of 1 min at 45 deg C is 4 min (R = 0.5 above 43); 2 min at 41 deg C is 2 x 0.25^2 min."""
    t = np.array([0.0, 30.0, 60.0])
    assert cem43_of_course(t, np.full(3, 8.0)) == pytest.approx(4.0, rel=1e-12)
    assert cem43_of_course(2 * t, np.full(3, 4.0)) == pytest.approx(2 * 0.25**2, rel=1e-12)


def _brain_case(absorption_db_cm: float = 6.0):
    """A homogeneous perfused brain box with a Gaussian focus (sigma 2 mm) at its centre; strong absorption so that
    the thermal groups bind before the mechanical one."""
    labels = np.full(SHAPE, 4, np.uint8)
    labels[:, :, :2] = 1                                     # a skin slab far from the focus
    idx = np.indices(SHAPE) - 7
    pressure = 4e5 * np.exp(-(idx**2).sum(0) / (2 * 2.0**2))
    medium = AcousticProperties(np.full(SHAPE, 1560.0), np.full(SHAPE, 1040.0),
                                np.full(SHAPE, absorption_db_cm / 0.25), 2.0, "brain")
    return labels, pressure, medium


def _plan(labels, pressure, medium, scale=1.0):
    field = SteadyStateField(pressure * scale, np.zeros(SHAPE), AFFINE, F)
    acoustics = acoustic_safety(field, medium, labels, duty_cycle=CW.duty_cycle)
    thermal = simulate_thermal(pressure * scale, medium, labels, AFFINE, F, CW)
    return check_limits(acoustics, thermal)


def test_thermal_flags_and_the_largest_drive_match_a_rerun():
    labels, pressure, medium = _brain_case()
    base = _plan(labels, pressure, medium)
    assert set(base.groups) == {"mechanical", "thermal skin", "thermal brain"}
    flags = {(f.group, f.criterion): f for f in base.flags}
    rise = flags[("thermal brain", "temperature rise")]
    assert rise.max_scale == pytest.approx(math.sqrt(2.0 / rise.value), rel=1e-8)
    assert flags[("thermal brain", "temperature")].max_scale == pytest.approx(rise.max_scale, rel=1e-12)
    # any one criterion suffices: the CEM43 level (2 min) allows more than a 2 degC rise for a 10 s sonication
    assert base.binding.group == "thermal brain" and base.binding.criterion == "CEM43"
    s = base.max_scale
    assert 1.0 < s < 20 and s > rise.max_scale
    # a rerun at the predicted drive: the binding dose lands on its level (the hottest brain voxel is the focus at
    # every time, so the bound is exact up to round-off), every group is green
    at = _plan(labels, pressure, medium, s)
    dose = {(f.group, f.criterion): f for f in at.flags}[("thermal brain", "CEM43")]
    assert dose.value == pytest.approx(CEM43_LIMIT_MIN["brain"], rel=1e-7)
    assert at.ok and at.max_scale == pytest.approx(1.0, rel=1e-6)
    # the temperature rise is quadratic in the drive
    rise_at = {(f.group, f.criterion): f for f in at.flags}[("thermal brain", "temperature rise")]
    assert rise_at.value == pytest.approx(rise.value * s * s, rel=1e-9)
    # just above it the brain group is red: every one of its criteria is exceeded
    above = _plan(labels, pressure, medium, s * 1.01)
    assert not above.ok and above.groups["thermal brain"] is False and above.groups["mechanical"] is True
    json.dumps(base.to_dict(), allow_nan=False)


def test_mechanical_binds_when_heating_is_weak():
    labels, pressure, medium = _brain_case(absorption_db_cm=0.05)
    check = _plan(labels, pressure * 5, medium)   # 2 MPa in situ: MI 2.83
    assert not check.ok and check.binding.criterion == "MItc"
    assert check.max_scale == pytest.approx(MI_LIMIT / (2e6 / 1e6 / math.sqrt(0.5)), rel=1e-9)
    assert _plan(labels, pressure * 5 * check.max_scale, medium).ok


def test_older_consensus_levels_can_be_applied():
    labels, pressure, medium = _brain_case()
    field = SteadyStateField(pressure, np.zeros(SHAPE), AFFINE, F)
    thermal = simulate_thermal(pressure, medium, labels, AFFINE, F, CW)
    v3 = check_limits(acoustic_safety(field, medium, labels), thermal)
    v1 = check_limits(acoustic_safety(field, medium, labels), thermal, cem43_limits_min={"brain": 0.25})
    cem = lambda c: {(f.group, f.criterion): f for f in c.flags}[("thermal brain", "CEM43")]  # noqa: E731
    assert cem(v1).limit == 0.25 and cem(v1).max_scale < cem(v3).max_scale
