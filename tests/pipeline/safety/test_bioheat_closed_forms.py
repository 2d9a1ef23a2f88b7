"""The bioheat solver against closed forms of Pennes' equation (see pipeline/safety/README.md for the full table).

Tolerances come from the discretisation: second-order central differences in space give a relative error of order
``(dx / sigma)^2`` times a constant below 1/8 for a Gaussian of width sigma (measured 0.07); Crank-Nicolson in time
adds ``O((dt / tau)^2)`` with tau the shortest time scale of the solution, far smaller here (measured < 0.1 % at
dt = 4 s).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.safety import Protocol, ThermalSettings, ThermalTissue, cem43_rate, solve_bioheat, tissue_maps
from tfus.pipeline.safety.validation import (
    continuous_protocol,
    gaussian_source,
    steady_error,
    steady_gaussian_perfused,
    transient_error,
    transient_gaussian,
)

SIGMA = 2e-3


def test_closed_forms_agree_with_their_limits_and_a_quadrature():
    """The closed forms themselves: b -> 0 gives q0 sigma^2 / k; the r-profile equals the Fourier-integral solution."""
    from scipy.integrate import quad

    q0, k, b = 1e6, 0.5, 3e4
    assert steady_gaussian_perfused(0.0, q0, SIGMA, k, 1e-12)[0] == pytest.approx(q0 * SIGMA**2 / k, rel=1e-6)
    assert transient_gaussian(0.0, q0, SIGMA, k, 1.4e-7, 1e12)[0] == pytest.approx(q0 * SIGMA**2 / k, rel=1e-4)
    for r in (0.0, 1e-3, 4e-3, 9e-3):
        # theta(r) = 1 / (2 pi^2 r) int q sin(q r) Qhat / (k q^2 + b) dq, Qhat = q0 (2 pi)^1.5 s^3 e^(-q^2 s^2 / 2)
        def integrand(q, r=r):
            kernel = q * q if r == 0 else q * math.sin(q * r) / r
            return kernel * q0 * (2 * math.pi) ** 1.5 * SIGMA**3 * math.exp(-(q * SIGMA) ** 2 / 2) / (k * q * q + b)
        ref = quad(integrand, 0, 40 / SIGMA, limit=400)[0] / (2 * math.pi**2)
        assert steady_gaussian_perfused(r, q0, SIGMA, k, b)[0] == pytest.approx(ref, rel=1e-6)


def test_steady_state_perfused_gaussian_matches_closed_form():
    """dx = 1 mm, sigma = 2 mm: tolerance (dx / sigma)^2 / 8 = 3.1 % of the peak (measured 1.72 %)."""
    dx = 1e-3
    assert steady_error(dx) < (dx / SIGMA) ** 2 / 8


def test_transient_unperfused_gaussian_matches_closed_form():
    """t = 20 s, dx = 1 mm: tolerance (dx / sigma)^2 / 8 = 3.1 % (measured 1.77 % at dt = 0.5 s); a step 8x longer
    changes the error by less than 0.2 % of the peak (Crank-Nicolson, second order in dt)."""
    dx = 1e-3
    fine = transient_error(dx, 0.5)
    assert fine < (dx / SIGMA) ** 2 / 8
    assert abs(transient_error(dx, 4.0) - fine) < 2e-3


@pytest.mark.slow
def test_spatial_error_is_second_order():
    """Halving dx divides the error by about 4 (measured 4.2 steady, 4.1 transient); require > 3."""
    assert steady_error(1e-3) / steady_error(0.5e-3) > 3.0
    assert transient_error(1e-3, 0.5) / transient_error(0.5e-3, 0.5) > 3.0


def test_energy_is_conserved_insulated_unperfused_heterogeneous():
    """No perfusion, insulated box, random tissues: sum(rho c dT dV) equals the deposited energy sum(Q dV) x on time
    (the flux form and the ADI steps conserve it exactly; tolerance: round-off, 1e-9)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=(14, 12, 10))
    tissues = {i: ThermalTissue(f"t{i}", 900 + 200 * i, 1300 + 600 * i, 0.3 + 0.1 * i, 0.0) for i in range(5)}
    cap, k, perf = tissue_maps(labels, tissues)
    heat = rng.random(labels.shape) * 1e5
    protocol = Protocol(pulse_duration_ms=30.0, pulse_repetition_frequency_hz=10.0, train_duration_s=4.0,
                        train_repetition_interval_s=10.0, total_duration_s=25.0, source_amplitude_pa=1.0)
    dv = 0.5e-3 * 0.7e-3 * 1e-3
    sol = solve_bioheat(heat, cap, k, perf, (0.5e-3, 0.7e-3, 1e-3), protocol,
                        ThermalSettings(boundary="insulated", cooling_s=5.0))
    stored = float((cap * sol.final_rise_c).sum() * dv)
    deposited = float(heat.sum() * dv * protocol.on_time_s)
    assert protocol.on_time_s == pytest.approx(3 * 4.0 * 0.3)
    assert stored == pytest.approx(deposited, rel=1e-9)


def test_uniform_heating_with_perfusion_follows_the_zero_dimensional_solution():
    """Uniform Q, insulated, perfusion b: theta = Q / b (1 - exp(-b t / (rho c))); Crank-Nicolson error
    (dt / tau)^2 / 12 relative with tau = rho c / b = 100 s, dt = 2 s: 3e-5; tolerance 1e-4."""
    cap, b, q = 4e6, 4e4, 1e5
    ones = np.ones((3, 4, 5))
    sol = solve_bioheat(ones * q, ones * cap, ones * 0.5, ones * b, (1e-3,) * 3, continuous_protocol(60.0),
                        ThermalSettings(max_time_step_s=2.0, steps_per_train=1, boundary="insulated"))
    exact = q / b * (1 - np.exp(-b * sol.times_s / cap))
    assert np.allclose(sol.peak_rise_c, exact, rtol=1e-4, atol=0)
    assert np.allclose(sol.final_rise_c, exact[-1], rtol=1e-4)


def test_body_boundary_cools_and_cem43_accumulates_at_the_sapareto_dewey_rate():
    """Without heat the box stays at 37 C and CEM43 is time x 0.25^6 (rate at 37 C); the rate doubles per degree
    above 43 C and quarters per degree below."""
    ones = np.ones((5, 5, 5))
    sol = solve_bioheat(ones * 0, ones * 4e6, ones * 0.5, ones * 0, (1e-3,) * 3, continuous_protocol(120.0))
    assert np.all(sol.final_rise_c == 0)
    assert np.allclose(sol.cem43_min, 120.0 / 60.0 * 0.25**6, rtol=1e-12)
    assert cem43_rate(np.array([45.0, 43.0, 42.0, 37.0])) == pytest.approx([4.0, 1.0, 0.25, 0.25**6])
    q, _ = gaussian_source(9, 1e-3, 1e6, SIGMA)
    hot = solve_bioheat(q, np.full(q.shape, 4e6), np.full(q.shape, 0.5), np.zeros(q.shape),
                        (1e-3,) * 3, continuous_protocol(10.0), ThermalSettings(cooling_s=20.0))
    assert hot.hottest_time_s == pytest.approx(10.0)
    assert hot.final_rise_c.max() < hot.rise_at_hottest_c.max() == pytest.approx(hot.max_rise_c.max())


def test_pulse_averaging_reports_its_ripple_bound():
    """theta-burst (20 ms on, 180 ms off): bound = max(Q / rho c) x 20 ms x 0.9."""
    ones = np.ones((4, 4, 4))
    p = Protocol(pulse_duration_ms=20.0, pulse_repetition_frequency_hz=5.0, train_duration_s=2.0,
                 train_repetition_interval_s=2.0, total_duration_s=2.0, source_amplitude_pa=1.0)
    sol = solve_bioheat(ones * 4e6, ones * 4e6, ones * 0.5, ones * 0, (1e-3,) * 3, p)
    assert sol.pulse_ripple_bound_c == pytest.approx(1.0 * 0.02 * 0.9)


def test_bad_inputs_are_one_line_errors():
    ones = np.ones((4, 4, 4))
    cw = continuous_protocol(1.0)
    with pytest.raises(TfusInputError, match="NaN"):
        solve_bioheat(ones * np.nan, ones, ones, ones, (1e-3,) * 3, cw)
    with pytest.raises(TfusInputError, match="one grid"):
        solve_bioheat(ones, np.ones((4, 4, 5)), ones, ones, (1e-3,) * 3, cw)
    with pytest.raises(TfusInputError, match="spacing"):
        solve_bioheat(ones, ones, ones, ones, (1e-3, 0.0, 1e-3), cw)
    with pytest.raises(TfusInputError, match="implicitness"):
        ThermalSettings(implicitness=0.2)
