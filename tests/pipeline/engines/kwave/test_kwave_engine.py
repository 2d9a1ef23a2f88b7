"""k-Wave engine: the fast step equals k-wave-python's own step; the CW field matches O'Neil; preconditions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.engines.kwave.engine import simulate_kwave
from tfus.pipeline.engines.kwave.problem import prepare
from tfus.pipeline.engines.kwave.stepper import build_simulation
from tfus.pipeline.engines.problem import water_medium
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.kwave_compat import import_kwave
from tfus.pipeline.transducers import BowlTransducer, Pose

SMALL = BowlTransducer("small", 10.0, 10.0, 1.0e6, 1.0e5)


def _layered(shape, spacing, alpha_power=2.0):
    m = MediumGrid.homogeneous(shape, spacing)
    c, rho, alpha = m.sound_speed.copy(), m.density.copy(), m.alpha_coeff.copy()
    c[shape[0] * 5 // 8:], rho[shape[0] * 5 // 8:], alpha[shape[0] * 5 // 8:] = 2400.0, 1800.0, 8.0
    return MediumGrid(c, rho, alpha, alpha_power, m.affine)


@pytest.mark.parametrize("fused", ["1", "0"])
@pytest.mark.parametrize("ndim,alpha_power", [(3, 2.0), (2, 2.0), (2, 1.5)])
def test_fast_step_equals_kwave_python(ndim, alpha_power, fused, monkeypatch):
    """Same inputs, same number of steps: fields agree to float32 round-off (well under 1e-4 of the peak), with the
    fused Numba updates and with the whole-array path (the one CuPy takes)."""
    monkeypatch.setenv("TFUS_FUSED", fused)
    shape = (32, 20, 20)[:ndim]
    medium = _layered(shape, 0.5, alpha_power)
    pose = Pose([-6.0, 0, 0], [4.0, 0, 0])
    run = prepare(medium, SMALL, pose, KWaveConfig(pml_size=10, domain_crossings=0.3))
    steps = 60
    fast = build_simulation(run.kgrid, run.medium, pml_size=(10,) * ndim, pml_alpha=(2.0,) * ndim)
    fast.setup()
    assert fast._fused == (fused == "1")
    fast.set_source(run.index, run.weights, run.signal, run.scale)
    for _ in range(steps):
        fast.step()
    import_kwave()
    from kwave.solvers.kspace_solver import Simulation

    src = SimpleNamespace(p_mask=run.mask, p=run.weights[:, None] * run.signal[None, :steps], p_mode="additive", p0=0)
    ref = Simulation(run.kgrid, run.medium, src, SimpleNamespace(mask=None, record=("p_final",)),
                     pml_size=(10,) * ndim, pml_alpha=(2.0,) * ndim, quiet=True, dtype=np.float64)
    for _ in range(steps):
        ref.step()
    assert np.abs(ref.p).max() > 1e3
    assert np.abs(fast.p - ref.p).max() / np.abs(ref.p).max() < 1e-4


@pytest.mark.parametrize("fused", ["1", "0"])
def test_fftw_and_scipy_steps_agree_on_heterogeneous_medium(fused, monkeypatch):
    """The two CPU FFT backends step a layered, absorbing 3D medium to the same field: float32 round-off, which
    grows at most linearly with the steps and with log2 of the grid size (the transforms' error), relative to the
    peak."""
    pytest.importorskip("pyfftw")
    monkeypatch.setenv("TFUS_FUSED", fused)
    medium = _layered((32, 20, 20), 0.5)
    run = prepare(medium, SMALL, Pose([-6.0, 0, 0], [4.0, 0, 0]), KWaveConfig(pml_size=10, domain_crossings=0.3))
    steps, fields = 60, {}
    for name in ("fftw", "scipy"):
        sim = build_simulation(run.kgrid, run.medium, pml_size=(10,) * 3, pml_alpha=(2.0,) * 3, fft=name)
        sim.setup()
        sim.set_source(run.index, run.weights, run.signal, run.scale)
        assert sim.fft_name == name
        for _ in range(steps):
            sim.step()
        fields[name] = sim.p.copy()
    peak = np.abs(fields["scipy"]).max()
    assert peak > 1e3
    tol = np.finfo(np.float32).eps * steps * np.log2(fields["scipy"].size)
    assert np.abs(fields["fftw"] - fields["scipy"]).max() / peak < tol


@pytest.mark.slow
def test_bowl_in_water_matches_oneil():
    """1 MHz, R = aperture = 10 mm (ka = 21), 0.5 mm grid = 3 points per wavelength: k-Wave's own unit test allows
    1 % on-axis error at 3 PPW; the peak lies 0.5 grid cells or less from O'Neil's."""
    bowl = BowlTransducer("small", 10.0, 10.0, 1.0e6, 1.0e5)
    pose = Pose([0.0, 0.0, 0.0], [0.0, 0.0, 10.0])
    medium = water_medium(bowl, pose, spacing_mm=0.5, margin_mm=4.0, beyond_focus=0.5)
    field = simulate_kwave(medium, bowl, pose, KWaveConfig(pml_size=12, domain_crossings=1.0, bli_tolerance=0.01))
    i, j, _ = np.rint(medium.world_to_index(np.zeros(3))).astype(int)
    line = field.amplitude[i, j, :]
    z = medium.index_to_world(np.stack([np.full(line.size, i), np.full(line.size, j), np.arange(line.size)], 1))[:, 2]
    sel = z > 3.0  # beyond the near field of the bowl surface
    kwave = import_kwave()
    u0 = bowl.source_amplitude_pa / (1000.0 * 1500.0)
    ref, _, _ = kwave.utils.mapgen.focused_bowl_oneil(0.010, 0.010, u0, 1e6, 1500.0, 1000.0,
                                                      axial_positions=z[sel] * 1e-3)
    sim = line[sel]
    assert abs(sim.max() / ref.max() - 1) < 0.015
    assert abs(z[sel][sim.argmax()] - z[sel][ref.argmax()]) <= 0.5 + 1e-9
    # the whole axial profile beyond the near field, L-inf relative to the peak
    assert np.abs(sim - ref).max() / ref.max() < 0.03


def test_snapshots_are_recorded():
    medium = MediumGrid.homogeneous((24, 24, 24), 0.5)
    field = simulate_kwave(medium, SMALL, Pose([-5.0, 0, 0], [5.0, 0, 0]),
                           KWaveConfig(pml_size=8, domain_crossings=0.3, snapshots=4))
    snaps = field.meta["snapshots"]
    assert snaps.shape == (4, 24, 24, 24)
    assert np.abs(snaps).max() > 0
    # CW: the last period, equally spaced to within one time step, times after the step
    times, dt, period = field.meta["snapshot_times_s"], field.meta["dt_s"], 1 / SMALL.frequency_hz
    assert times.shape == (4,) and np.all(np.diff(times) > 0)
    assert abs(times[-1] - field.meta["steps"] * dt) < period and np.allclose(np.diff(times), period / 4, atol=dt)


def test_tone_burst_records_snapshots_and_peak_maps():
    medium = MediumGrid.homogeneous((24, 24, 24), 0.5)
    field = simulate_kwave(medium, SMALL, Pose([-5.0, 0, 0], [5.0, 0, 0]),
                           KWaveConfig(pml_size=8, domain_crossings=0.5, burst_cycles=3, snapshots=6))
    snaps, p_max, p_min = field.meta["snapshots"], field.meta["p_max"], field.meta["p_min"]
    assert snaps.shape == (6, 24, 24, 24)
    # the peak maps bound every snapshot, and a focused burst has a positive and a negative phase
    assert np.all(p_max >= snaps.max(axis=0) - 1e-3) and np.all(p_min <= snaps.min(axis=0) + 1e-3)
    assert p_max.max() > 0 > p_min.min()


@pytest.mark.parametrize("kwargs,needle", [
    ({"spacing": 1.0, "frequency": 1.0e6}, "too coarse"),
    ({"frequency": -1.0}, "frequency"),
])
def test_preconditions(kwargs, needle):
    medium = MediumGrid.homogeneous((24, 24, 24), kwargs.get("spacing", 0.5))
    with pytest.raises(TfusInputError, match=needle):
        simulate_kwave(medium, SMALL, Pose([-5.0, 0, 0], [5.0, 0, 0]), KWaveConfig(pml_size=8),
                       frequency_hz=kwargs.get("frequency", 1.0e6) if kwargs.get("frequency", 1) > 0 else -1.0)


def test_bowl_outside_grid_and_unstable_cfl():
    medium = MediumGrid.homogeneous((24, 24, 24), 0.5)
    with pytest.raises(TfusInputError, match="outside the simulation grid"):
        simulate_kwave(medium, SMALL, Pose([-30.0, 0, 0], [-20.0, 0, 0]), KWaveConfig(pml_size=8))
    with pytest.raises(TfusInputError, match="unstable time step"):
        KWaveConfig(cfl=0.9)
