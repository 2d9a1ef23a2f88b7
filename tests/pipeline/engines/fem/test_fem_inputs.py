"""Bad inputs to the FE engine: one-line TfusInputError (or a warning) before any heavy work."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tfus.pipeline.engines.fem import (
    BowlSource,
    FemConfig,
    FemHelmholtzConfig,
    PointSource,
    simulate_fem_helmholtz,
    simulate_fem_time,
)
from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose

WATER = MediumGrid.homogeneous((21, 21), spacing_mm=0.5)
POINT = PointSource([0.0, 0.0], 1e-4)


def _one_line(err: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(err.value)


def test_grid_too_coarse_is_refused_and_marginal_warned():
    with pytest.raises(TfusInputError, match="too coarse") as err:
        simulate_fem_time(WATER, POINT, FemConfig(frequency_hz=1.6e6))  # 1.9 points per wavelength
    _one_line(err)
    with pytest.raises(TfusInputError, match="too coarse"):
        simulate_fem_helmholtz(WATER, POINT, 1.6e6)
    with pytest.warns(UserWarning, match="points per wavelength"):
        simulate_fem_helmholtz(WATER, POINT, 1.2e6)  # 2.5 points per wavelength


@pytest.mark.parametrize("bad", [0.0, -3e5, float("nan"), float("inf"), "3e5", True])
def test_nonpositive_or_invalid_frequency(bad):
    with pytest.raises(TfusInputError, match="frequency") as err:
        FemConfig(frequency_hz=bad)
    _one_line(err)
    with pytest.raises(TfusInputError, match="frequency"):
        simulate_fem_helmholtz(WATER, POINT, bad)


def test_point_source_needs_a_frequency():
    with pytest.raises(TfusInputError, match="frequency_hz"):
        simulate_fem_time(WATER, POINT)


def test_source_outside_the_grid():
    with pytest.raises(TfusInputError, match="outside the medium grid") as err:
        simulate_fem_time(WATER, PointSource([6.0, 0.0], 1e-4), FemConfig(frequency_hz=3e5))  # grid ends at 5.25
    _one_line(err)
    with pytest.raises(TfusInputError, match="coordinates"):
        simulate_fem_helmholtz(WATER, PointSource([0.0, 0.0, 0.0], 1e-4), 3e5)
    bowl = BowlTransducer("wide", 10.0, 12.0, 3e5, 1e4)  # rim at +-6 mm: wider than the +-5.25 mm grid
    with pytest.raises(TfusInputError, match="transducer wide lies"):
        simulate_fem_time(WATER, BowlSource(bowl, Pose([-4.0, 0, 0], [4.0, 0, 0])))
    # a rigid (non-absorbing) axis has no padding: a source must lie between the outer nodes there
    with pytest.raises(TfusInputError, match="outside"):
        simulate_fem_helmholtz(WATER, PointSource([0.0, 5.1], 1e-4), 3e5, FemHelmholtzConfig(absorbing_axes=(0,)))


def test_2d_bowl_needs_a_pose_in_the_plane():
    bowl = BowlTransducer("b", 4.0, 4.0, 3e5, 1e4)
    with pytest.raises(TfusInputError, match="z = 0"):
        simulate_fem_time(WATER, BowlSource(bowl, Pose([-3.0, 0, 1.0], [1.0, 0, 1.0])))


def test_unstable_time_step_is_refused():
    with pytest.raises(TfusInputError, match="unstable time step") as err:
        simulate_fem_time(WATER, POINT, FemConfig(frequency_hz=3e5, cfl=0.9))  # limit 0.866 (modified rule)
    _one_line(err)
    with pytest.raises(TfusInputError, match="unstable time step"):
        simulate_fem_time(WATER, POINT, FemConfig(frequency_hz=3e5, time_step_s=4e-7))  # h / c = 3.3e-7 s
    # the Gauss rule's limit is h / c: cfl 0.9 is fine there
    field = simulate_fem_time(WATER, POINT, FemConfig(frequency_hz=3e5, cfl=0.9, quadrature="gauss",
                                                      settle_transits=0.2, ramp_periods=1.0))
    assert field.meta["cfl"] <= 0.9


@pytest.mark.parametrize("kwargs,match", [
    ({"cfl": 0.0}, "cfl"), ({"cfl": -1.0}, "cfl"), ({"periods_recorded": 0}, "periods_recorded"),
    ({"periods_recorded": 2.5}, "periods_recorded"), ({"ramp_periods": -1.0}, "ramp_periods"),
    ({"sponge_wavelengths": -1.0}, "sponge_wavelengths"), ({"sponge_reflection": 1.0}, "sponge_reflection"),
    ({"absorbing_axes": [0]}, "absorbing_axes"), ({"absorbing_axes": (3,)}, "absorbing_axes"),
    ({"quadrature": "simpson"}, "quadrature"), ({"source_interpolation": "sinc"}, "source_interpolation"),
    ({"time_step_s": 0.0}, "time_step_s"), ({"progress_every": 0}, "progress_every"),
])
def test_time_domain_config_validation(kwargs, match):
    with pytest.raises(TfusInputError, match=match):
        FemConfig(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"pml_wavelengths": -0.5}, "pml_wavelengths"), ({"pml_reflection": 0.0}, "pml_reflection"),
    ({"mass": "diagonal"}, "mass"), ({"quadrature": "exact"}, "quadrature"),
])
def test_helmholtz_config_validation(kwargs, match):
    with pytest.raises(TfusInputError, match=match):
        FemHelmholtzConfig(**kwargs)


def test_axis_the_medium_lacks():
    with pytest.raises(TfusInputError, match="absorbing_axes"):
        simulate_fem_helmholtz(WATER, POINT, 3e5, FemHelmholtzConfig(absorbing_axes=(2,)))


def test_absorption_is_reported():
    lossy = MediumGrid.homogeneous((21, 21), spacing_mm=0.5, alpha_coeff=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        field = simulate_fem_helmholtz(lossy, POINT, 3e5)
    assert field.meta["absorption"] == "complex wavenumber at the frequency"
    assert np.all(np.isfinite(field.amplitude))
