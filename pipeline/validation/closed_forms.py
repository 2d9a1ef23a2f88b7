"""Closed-form fields every engine is checked against: O'Neil's focused bowl, the flat piston, Green's functions.

Conventions (those of :mod:`tfus.pipeline.engines.sources` and
:class:`~tfus.pipeline.engines.field.SteadyStateField`): time dependence ``exp(+i w t)``, i.e.
``p(t) = Re(P exp(i w t))``; outgoing waves are ``exp(-i k r)``; absorption enters through a complex wavenumber
``k = w / c - i alpha`` (alpha in Np/m). Positions are in **mm**; the axial coordinate ``z`` is measured from the
bowl apex (piston centre) towards the focus; pressures in Pa.

* :func:`oneil_axial` / :func:`oneil_lateral` — O'Neil (1949), written out as in REFERENCE.md section 1:
  ``h = R - sqrt(R^2 - a^2)``, ``B = sqrt((z - h)^2 + a^2)``, ``d = B - z``, ``E = 2 / (1 - z/R)``,
  ``|p(z)| = rho c u0 |E sin(k d / 2)|``; focal plane ``p(r) = 2 rho c u0 k h J1(X)/X``, ``X = k a r / R``.
  :func:`oneil_axial_kwave` / :func:`oneil_lateral_kwave` call k-wave-python's ``focused_bowl_oneil`` instead.
* :func:`bowl_axial_complex` — the on-axis Rayleigh integral over the spherical cap in closed form. On the axis
  ``dS / r = 2 pi R dr / (R - z)``, so the integral is elementary and *exact*:
  ``P(z) = (w rho u0 / k) R / (R - z) (exp(-i k z) - exp(-i k B))``; for real ``k`` its modulus **is** O'Neil's
  on-axis formula (O'Neil's approximation only enters off the axis). Written with ``B - z = 2 h (R - z) / (B + z)``
  it has no singularity at ``z = R``, and it holds for complex ``k`` (absorbing water, ITRUSST BM2).
* :func:`piston_axial` — baffled flat piston on its axis, ``|p| = 2 rho c u0 |sin(k (sqrt(z^2 + a^2) - z) / 2)|``.
* :func:`green_2d` / :func:`green_3d` — free-space Green's functions of ``(laplacian + k^2) G = -delta``.
* :func:`oneil_reference` — the ITRUSST SC1 quantities (peak, position, p(R), -6 dB extents) by root finding.

Example:
    >>> from tfus.pipeline.transducers.bowl import load_transducer
    >>> ref = oneil_reference(load_transducer("itrusst-sc1"))
    >>> round(ref.peak_pa / 1e6, 3), round(ref.peak_z_mm, 1), round(ref.focal_pressure_pa / 1e6, 3)
    (1.094, 61.9, 1.077)
    >>> [round(v, 1) for v in ref.axial_6db_mm], round(ref.lateral_6db_width_mm, 2)
    ([51.8, 78.0], 4.23)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import hankel1, hankel2, j1

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import BowlTransducer

__all__ = [
    "NP_PER_DB",
    "OneilReference",
    "bowl_axial_complex",
    "green_2d",
    "green_3d",
    "oneil_axial",
    "oneil_axial_kwave",
    "oneil_lateral",
    "oneil_lateral_kwave",
    "oneil_reference",
    "piston_axial",
    "wavenumber",
]

#: Nepers per decibel: ``alpha [Np/m] = alpha [dB/cm] * 100 * NP_PER_DB``.
NP_PER_DB = 1.0 / (20.0 * math.log10(math.e))


def wavenumber(frequency_hz: float, sound_speed: float = 1500.0, alpha_db_cm: float = 0.0) -> complex:
    """Complex wavenumber ``k = w / c - i alpha`` in 1/m (alpha converted from dB/cm to Np/m).

    Example:
        >>> k = wavenumber(500e3, 1500.0, 1.0)
        >>> round(k.real, 3), round(-k.imag, 3)  # 1 dB/cm = 11.513 Np/m
        (2094.395, 11.513)
    """
    if not (frequency_hz > 0 and sound_speed > 0 and alpha_db_cm >= 0):
        raise TfusInputError("frequency and sound speed must be positive and absorption non-negative")
    return complex(2 * math.pi * frequency_hz / sound_speed, -alpha_db_cm * 100.0 * NP_PER_DB)


def _u0(transducer: BowlTransducer, u0: float | None, density: float, sound_speed: float) -> float:
    return transducer.normal_velocity_m_s(density, sound_speed) if u0 is None else float(u0)


def _geometry(transducer: BowlTransducer) -> tuple[float, float, float]:
    """R, a, h in metres."""
    return (transducer.radius_of_curvature_mm * 1e-3, transducer.aperture_radius_mm * 1e-3,
            transducer.dome_height_mm * 1e-3)


def oneil_axial(transducer: BowlTransducer, z_mm, *, sound_speed: float = 1500.0, density: float = 1000.0,
                u0: float | None = None) -> np.ndarray:
    """O'Neil's on-axis pressure amplitude (Pa), the explicit formula of REFERENCE.md (lossless).

    Args:
        transducer: the bowl (R, aperture, frequency; ``u0`` defaults to ``p0 / (rho c)``).
        z_mm: axial distances from the apex in mm (array-like); ``z = R`` takes the limit ``rho c u0 k h``. The
            literal formula cancels digits near ``z = R`` (relative error ~1e-4 at ``|z - R| = 1e-9`` mm);
            :func:`bowl_axial_complex` is the cancellation-free form.
        sound_speed: m/s. density: kg/m^3. u0: normal surface velocity in m/s.

    Example:
        >>> from tfus.pipeline.transducers.bowl import load_transducer
        >>> round(float(oneil_axial(load_transducer("itrusst-sc1"), 64.0)) / 1e6, 3)
        1.077
    """
    r, a, h = _geometry(transducer)
    k = 2 * math.pi * transducer.frequency_hz / sound_speed
    z = np.asarray(z_mm, float) * 1e-3
    b = np.sqrt((z - h) ** 2 + a * a)
    at_focus = np.abs(z - r) < 1e-12 * r
    with np.errstate(divide="ignore", invalid="ignore"):
        e = 2.0 / (1.0 - z / r)
        p = np.abs(e * np.sin(k * (b - z) / 2))
    p = np.where(at_focus, k * h, p)
    return density * sound_speed * _u0(transducer, u0, density, sound_speed) * p


def bowl_axial_complex(transducer: BowlTransducer, z_mm, *, sound_speed: float = 1500.0, density: float = 1000.0,
                       alpha_db_cm: float = 0.0, u0: float | None = None) -> np.ndarray:
    """Exact on-axis Rayleigh integral of the cap (complex Pa, ``exp(+i w t)``), lossless or absorbing.

    ``P = 2 i w rho u0 R h / (B + z) exp(-i k (z + B) / 2) sinc(k h (R - z) / (B + z))`` with ``sinc(x) = sin x / x``
    (algebraically the module docstring's form). Valid for ``z >= 0``.

    Example:
        >>> from tfus.pipeline.transducers.bowl import load_transducer
        >>> p = bowl_axial_complex(load_transducer("itrusst-sc1"), [60.65], alpha_db_cm=1.0)
        >>> round(float(abs(p[0])) / 1e3)  # ITRUSST BM2: 539 kPa at 60.65 mm
        539
    """
    r, a, h = _geometry(transducer)
    z = np.asarray(z_mm, float) * 1e-3
    if np.any(z < 0):
        raise TfusInputError("bowl_axial_complex needs z >= 0 (in front of the apex)")
    omega = 2 * math.pi * transducer.frequency_hz
    k = wavenumber(transducer.frequency_hz, sound_speed, alpha_db_cm)
    b = np.sqrt((z - h) ** 2 + a * a)
    x = k * h * (r - z) / (b + z)
    sinc = np.sinc(x / math.pi)  # numpy's sinc is sin(pi t)/(pi t); complex arguments are fine
    u = _u0(transducer, u0, density, sound_speed)
    return 2j * omega * density * u * r * h / (b + z) * np.exp(-1j * k * (z + b) / 2) * sinc


def oneil_lateral(transducer: BowlTransducer, r_mm, *, sound_speed: float = 1500.0, density: float = 1000.0,
                  u0: float | None = None) -> np.ndarray:
    """O'Neil's focal-plane amplitude (Pa) at lateral distance ``r_mm`` from the axis in the plane ``z = R``:
    ``2 rho c u0 k h J1(X) / X`` with ``X = k a r / R`` (an approximation valid for ``a >> h``, ``k a >> 1``).

    Example:
        >>> from tfus.pipeline.transducers.bowl import load_transducer
        >>> round(float(oneil_lateral(load_transducer("itrusst-sc1"), 0.0)) / 1e6, 3)
        1.077
    """
    r, a, h = _geometry(transducer)
    k = 2 * math.pi * transducer.frequency_hz / sound_speed
    x = k * a * np.abs(np.asarray(r_mm, float)) * 1e-3 / r
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(x > 1e-12, 2 * j1(x) / np.where(x > 1e-12, x, 1.0), 1.0)
    return density * sound_speed * _u0(transducer, u0, density, sound_speed) * k * h * np.abs(ratio)


def _kwave_oneil(transducer, axial_mm, lateral_mm, sound_speed, density, u0):
    from tfus.pipeline.kwave_compat import import_kwave_submodule

    mapgen = import_kwave_submodule("utils.mapgen")
    r, a, _ = _geometry(transducer)
    with np.errstate(divide="ignore", invalid="ignore"):  # kwave evaluates the singular form before the limit
        return mapgen.focused_bowl_oneil(
            r, 2 * a, _u0(transducer, u0, density, sound_speed), transducer.frequency_hz, sound_speed, density,
            axial_positions=None if axial_mm is None else np.asarray(axial_mm, float).reshape(-1) * 1e-3,
            lateral_positions=None if lateral_mm is None else np.asarray(lateral_mm, float).reshape(-1) * 1e-3)


def oneil_axial_kwave(transducer: BowlTransducer, z_mm, *, sound_speed: float = 1500.0, density: float = 1000.0,
                      u0: float | None = None) -> np.ndarray:
    """On-axis amplitude (Pa) from k-wave-python's ``kwave.utils.mapgen.focused_bowl_oneil`` (1D ``z_mm``).

    Example:
        >>> from tfus.pipeline.transducers.bowl import load_transducer
        >>> round(float(oneil_axial_kwave(load_transducer("itrusst-sc1"), [61.9])[0]) / 1e6, 3)
        1.094
    """
    return np.asarray(_kwave_oneil(transducer, z_mm, None, sound_speed, density, u0)[0], float)


def oneil_lateral_kwave(transducer: BowlTransducer, r_mm, *, sound_speed: float = 1500.0, density: float = 1000.0,
                        u0: float | None = None) -> np.ndarray:
    """Focal-plane pressure (Pa) from k-wave-python's ``focused_bowl_oneil`` (1D ``r_mm``). Note: k-wave returns
    the *signed* ``J1(X)/X`` form (negative in odd side lobes); :func:`oneil_lateral` returns its modulus."""
    return np.asarray(_kwave_oneil(transducer, None, r_mm, sound_speed, density, u0)[1], float)


def piston_axial(radius_mm: float, z_mm, frequency_hz: float, *, sound_speed: float = 1500.0,
                 density: float = 1000.0, u0: float = 0.04) -> np.ndarray:
    """Baffled flat piston of radius ``radius_mm`` on its axis: ``2 rho c u0 |sin(k (sqrt(z^2 + a^2) - z) / 2)|`` (Pa).

    Example:
        >>> round(float(piston_axial(10.0, 100.0, 500e3)) / 1e3, 1)  # ITRUSST SC2 disc, far field
        59.9
    """
    k = 2 * math.pi * frequency_hz / sound_speed
    z = np.asarray(z_mm, float) * 1e-3
    a = radius_mm * 1e-3
    return 2 * density * sound_speed * u0 * np.abs(np.sin(k * (np.sqrt(z * z + a * a) - z) / 2))


def green_3d(k: complex, r_m) -> np.ndarray:
    """3D free-space Green's function ``exp(-i k r) / (4 pi r)`` (``exp(+i w t)``; ``r`` in metres)."""
    r = np.asarray(r_m, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(-1j * k * r) / (4 * np.pi * r)


def green_2d(k: complex, r_m, convention: str = "exp(+iwt)") -> np.ndarray:
    """2D free-space Green's function of ``(laplacian + k^2) G = -delta`` (``r`` in metres).

    The textbook form ``(i/4) H0^(1)(k r)`` belongs to the ``exp(-i w t)`` convention; tfus uses ``exp(+i w t)``,
    whose outgoing Green's function is its complex conjugate ``(-i/4) H0^(2)(k r)`` (the default here). Pass
    ``convention="exp(-iwt)"`` for the textbook form.

    Example:
        >>> g1, g2 = green_2d(10.0, 0.3), green_2d(10.0, 0.3, convention="exp(-iwt)")
        >>> bool(np.isclose(g1, np.conj(g2)))
        True
    """
    r = np.asarray(r_m, float)
    if convention == "exp(+iwt)":
        return -0.25j * hankel2(0, k * r)
    if convention == "exp(-iwt)":
        return 0.25j * hankel1(0, k * r)
    raise TfusInputError(f"unknown time convention {convention!r}; use 'exp(+iwt)' or 'exp(-iwt)'")


@dataclass(frozen=True)
class OneilReference:
    """Focal quantities of O'Neil's solution (lossless): on-axis peak ``peak_pa`` at ``peak_z_mm`` from the apex,
    ``focal_pressure_pa`` = p(R), the axial -6 dB interval around the peak and the lateral -6 dB width in the
    focal plane ``z = R`` (relative to p(R)); -3 dB likewise (``p / p_max = 1 / sqrt 2``)."""

    peak_pa: float
    peak_z_mm: float
    focal_pressure_pa: float
    axial_6db_mm: tuple[float, float]
    lateral_6db_width_mm: float
    axial_3db_mm: tuple[float, float]
    lateral_3db_width_mm: float


def oneil_reference(transducer: BowlTransducer, *, sound_speed: float = 1500.0, density: float = 1000.0,
                    u0: float | None = None) -> OneilReference:
    """Peak, focal pressure and -6/-3 dB extents of O'Neil's field by bracketing and root finding (to ~1e-9 mm).

    The axial search looks for the global on-axis maximum beyond the aperture plane (``z > h``) and the half-maximum
    crossings on either side of it; see the module example for the ITRUSST SC1 values.
    """
    def axial(z):
        return float(oneil_axial(transducer, z, sound_speed=sound_speed, density=density, u0=u0))

    rr, h = transducer.radius_of_curvature_mm, transducer.dome_height_mm
    grid = np.linspace(h + 1e-6, 2 * rr, 20001)
    values = oneil_axial(transducer, grid, sound_speed=sound_speed, density=density, u0=u0)
    i = int(np.argmax(values))
    lo_b, hi_b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    best = minimize_scalar(lambda z: -axial(z), bounds=(lo_b, hi_b), method="bounded",
                           options={"xatol": 1e-10})
    z_peak, p_peak = float(best.x), -float(best.fun)

    def crossings(level: float) -> tuple[float, float]:
        target = level * p_peak
        below = values < target
        left = np.nonzero(below[:i])[0]
        right = np.nonzero(below[i:])[0]
        if left.size == 0 or right.size == 0:
            return (math.nan, math.nan)
        j0, j1_ = int(left[-1]), i + int(right[0])
        f = lambda z: axial(z) - target  # noqa: E731
        return (float(brentq(f, grid[j0], z_peak, xtol=1e-12)), float(brentq(f, z_peak, grid[j1_], xtol=1e-12)))

    p_focus = float(oneil_lateral(transducer, 0.0, sound_speed=sound_speed, density=density, u0=u0))

    def width(level: float) -> float:
        # the main lobe ends at the first zero of J1 (X = 3.8317); the crossing lies well inside it
        r_zero = 3.8317 * rr / (2 * math.pi * transducer.frequency_hz / sound_speed * 1e-3
                                * transducer.aperture_radius_mm)
        f = lambda r: float(oneil_lateral(transducer, r, sound_speed=sound_speed, density=density, u0=u0)) \
            - level * p_focus  # noqa: E731
        return 2 * float(brentq(f, 1e-9, r_zero, xtol=1e-12))

    half, root_half = 0.5, 1 / math.sqrt(2)
    return OneilReference(p_peak, z_peak, p_focus, crossings(half), width(half), crossings(root_half),
                          width(root_half))
