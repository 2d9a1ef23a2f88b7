"""Numerical dispersion of the Q1 schemes on the voxel grid, and its correction at the driving frequency.

A plane wave ``exp(i xi . x / h)`` (``xi`` in radians per cell) solves the discrete steady-state equations when
``S(xi) = lam M(xi)``, with per axis ``k1(xi) = 2 - 2 cos xi`` (stiffness) and the two-point-rule mass symbol
``m(xi) = 1 - (1 - s^2)(1 - cos xi)/2`` (points ``+-s`` on [-1, 1]; Gauss ``s^2 = 1/3``, modified ``s^2 = 2/3``)::

    S = sum_a k1(xi_a) prod_{b != a} m(xi_b),   M = prod_a m(xi_a) (consistent) or 1 (lumped)

and ``lam = alpha r (kh)^2``: ``kh = w h / c``, ``r = (w~ / w)^2`` with ``w~ = (2/dt) sin(w dt/2)`` for the leapfrog
scheme (1 in the frequency domain), ``alpha`` the mass scaling below (1 uncorrected).

**Correction at the driving frequency** (``dispersion_correction``, both solvers): each element's compressibility is
scaled by ``alpha = (2 - 2 cos kh) / (r (kh)^2 m_axis(kh))`` (its own ``c``), which puts the discrete wavenumber
along the grid axes exactly at ``w / c``; what is left is the anisotropy (O((kh)^4) with the modified rule, whose
leading error is isotropic). The far-field amplitude of a discrete point source is ``2 xi0 / D'(xi0)`` times the exact
one (``D = S - lam M`` along an axis, root ``xi0`` — the discrete group velocity); with the correction ``xi0 = kh``
and sources are scaled by ``gamma = D'(kh) / (2 kh)``, e.g. ``sin(kh) / kh`` for the lumped mass.

Example:
    >>> lo, hi = phase_error_range(10, 2, quadrature="gauss", mass="consistent")
    >>> -0.02 < lo < hi < 0
    True
    >>> lo, hi = phase_error_range(6, 3, mass="lumped", cfl=0.8, corrected=True)
    >>> max(abs(lo), abs(hi)) < 2e-3
    True
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

_S2 = {"gauss": 1.0 / 3.0, "modified": 2.0 / 3.0}


def _mass_1d(xi, quadrature: str, mass: str):
    if mass == "lumped":
        return np.ones_like(np.asarray(xi, complex if np.iscomplexobj(xi) else float))
    return 1.0 - (1.0 - _S2[quadrature]) * (1.0 - np.cos(xi)) / 2.0


def time_ratio(kh, cfl: float | None):
    """``r = (w~ / w)^2`` of the leapfrog scheme at Courant number ``cfl`` (1 for None)."""
    kh = np.asarray(kh, float)
    if cfl is None:
        return np.ones_like(kh)
    return (2.0 / (cfl * kh) * np.sin(kh * cfl / 2.0)) ** 2


def correction_factors(kh, quadrature: str, mass: str, ratio=1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(alpha, gamma)``: compressibility scaling and source scaling (module docstring) for ``kh = w h / c``
    (array) and the time-discretisation ratio ``r``. A complex ``kh = kappa h`` (``kappa = w/c - i alpha``, an
    absorbing medium) gives the complex scaling that puts the discrete wavenumber along the axes at ``kappa``
    (multiply by ``(kappa c / w)^2``: the returned ``alpha`` is relative to ``(kappa h)^2``)."""
    kh = np.asarray(kh)
    kh = kh.astype(complex if np.iscomplexobj(kh) else float)
    m_axis = _mass_1d(kh, quadrature, mass)
    alpha = (2.0 - 2.0 * np.cos(kh)) / (ratio * kh**2 * m_axis)
    dm = 0.0 if mass == "lumped" else (1.0 - _S2[quadrature]) * np.sin(kh) / 2.0  # -m'(kh)
    gamma = (2.0 * np.sin(kh) + alpha * ratio * kh**2 * dm) / (2.0 * kh)
    return alpha, gamma


def discrete_symbols(xi: np.ndarray, quadrature: str, mass: str) -> tuple[float, float]:
    """``(S(xi), M(xi))``: stiffness and mass symbols (per unit h^(d-2) and h^d) for the wave vector ``xi``."""
    k1 = 2.0 - 2.0 * np.cos(xi)
    m_rule = _mass_1d(xi, quadrature, "consistent")
    stiff = sum(k1[a] * np.prod(np.delete(m_rule, a)) for a in range(len(xi)))
    return float(stiff), float(np.prod(_mass_1d(xi, quadrature, mass)))


def _directions(ndim: int, n: int) -> list[np.ndarray]:
    a = np.linspace(0.0, np.pi / 4, n)
    if ndim == 2:
        return [np.array([np.cos(t), np.sin(t)]) for t in a]
    out = []
    for b in np.linspace(0.0, np.arctan(1 / np.sqrt(2)), n):  # up to the cube diagonal
        for t in a:
            out.append(np.array([np.cos(b) * np.cos(t), np.cos(b) * np.sin(t), np.sin(b)]))
    return out


def phase_error_range(points_per_wavelength: float, ndim: int, quadrature: str = "modified",
                      mass: str = "consistent", cfl: float | None = None, corrected: bool = False,
                      n_directions: int = 16) -> tuple[float, float]:
    """Smallest and largest relative wavenumber error ``k_h / k - 1`` over propagation directions.

    ``cfl`` (``c dt / h``) adds the leapfrog time discretisation (None: frequency domain); ``corrected`` applies the
    mass scaling ``alpha``.
    """
    kh = 2 * np.pi / points_per_wavelength
    ratio = float(time_ratio(kh, cfl))
    alpha = float(correction_factors(kh, quadrature, mass, ratio)[0]) if corrected else 1.0
    lam = alpha * ratio * kh**2
    errs = []
    for d in _directions(ndim, n_directions):
        def residual(x, d=d):
            s, m = discrete_symbols(x * d, quadrature, mass)
            return s - lam * m
        errs.append(brentq(residual, 1e-9, np.pi * (1 - 1e-9)) / kh - 1.0)
    return float(min(errs)), float(max(errs))
