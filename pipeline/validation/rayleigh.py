"""Rayleigh integral for a focused bowl or a flat disc in a homogeneous, optionally absorbing, fluid.

``P(x) = (i w rho u0 / (2 pi)) * integral over the source of exp(-i k r) / r dS``, ``r = |x - y|``, with the tfus time
convention ``p(t) = Re(P exp(+i w t))`` (outgoing ``exp(-i k r)``, as :func:`tfus.pipeline.engines.sources.
point_source_field`: a baffled surface element ``dS`` is a monopole of strength ``2 u0 dS``). Absorption enters
through the complex wavenumber ``k = w / c - i alpha`` (alpha from dB/cm to Np/m), so ``exp(-i k r)`` also decays as
``exp(-alpha r)``; ``rho`` and ``w`` stay real. For the flat disc this is the exact baffled-piston solution; for the
bowl it is the standard approximation also behind O'Neil's formula (the bowl is treated as if each element radiated
into a half space) and is exact on the axis in the sense of :func:`~tfus.pipeline.validation.closed_forms.
bowl_axial_complex` (same integral, closed form).

Quadrature: the cap is split in polar angle into panels of Gauss-Legendre nodes (order 8) with at least
``points_per_wavelength`` nodes per wavelength of arc, and each ring into uniformly spaced azimuths (spectrally
accurate for the periodic azimuthal integrand), again ``points_per_wavelength`` per wavelength of circumference.
For ITRUSST SC1 the default 8 (26k source points) matches the exact on-axis integral to ~1e-12 of the peak (4: ~3e-8,
6: ~3e-10), off the axis likewise against 16; evaluate no closer than about one wavelength to the surface. The sum
is evaluated in chunks of target points so that at most
``chunk_elements`` complex numbers are held at once.

Points are given in world mm with a :class:`~tfus.pipeline.transducers.pose.Pose`, or (``pose=None``) in the source
frame: column 0 axial distance from the apex (disc centre) towards the focus, columns 1 (and 2) lateral; a last
dimension of 2 means points in the plane through the axis.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers.bowl import load_transducer
    >>> sc1 = load_transducer("itrusst-sc1")
    >>> p = rayleigh_bowl(sc1, np.array([[64.0, 0.0], [60.65, 0.0]]), alpha_db_cm=1.0)
    >>> round(float(abs(p[1])) / 1e3)  # ITRUSST BM2 focus in 1 dB/cm water
    539
"""

from __future__ import annotations

import math

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import BowlTransducer
from tfus.pipeline.transducers.pose import Pose, orthonormal_frame
from tfus.pipeline.validation.closed_forms import wavenumber

__all__ = ["bowl_quadrature", "disc_quadrature", "rayleigh_bowl", "rayleigh_disc", "rayleigh_sum"]

_ORDER = 8  # Gauss-Legendre nodes per panel in the radial (polar-angle / radius) direction


def _check_ppw(points_per_wavelength: float) -> float:
    if not (math.isfinite(points_per_wavelength) and points_per_wavelength >= 2):
        raise TfusInputError(f"points_per_wavelength must be a number >= 2, got {points_per_wavelength!r}")
    return float(points_per_wavelength)


def _panels(lo: float, hi: float, length_mm: float, wavelength_mm: float, ppw: float) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [lo, hi]."""
    n_panels = max(1, math.ceil(ppw * length_mm / wavelength_mm / _ORDER))
    x, w = np.polynomial.legendre.leggauss(_ORDER)
    edges = np.linspace(lo, hi, n_panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def _rings(radii_mm: np.ndarray, axial_mm: np.ndarray, radial_weights: np.ndarray, wavelength_mm: float,
           ppw: float) -> tuple[np.ndarray, np.ndarray]:
    rows, weights = [], []
    for ring, ax, wr in zip(radii_mm, axial_mm, radial_weights, strict=True):
        n_phi = max(8, math.ceil(ppw * 2 * math.pi * ring / wavelength_mm))
        phi = np.arange(n_phi) * (2 * math.pi / n_phi)
        rows.append(np.column_stack([np.full(n_phi, ax), ring * np.cos(phi), ring * np.sin(phi)]))
        weights.append(np.full(n_phi, wr * 2 * math.pi / n_phi))
    return np.concatenate(rows), np.concatenate(weights)


def bowl_quadrature(transducer: BowlTransducer, wavelength_mm: float, points_per_wavelength: float = 8.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Source-frame points ``(M, 3)`` (mm) on the cap and weights ``(M,)`` (mm^2) summing to the area ``2 pi R h``.

    Example:
        >>> from tfus.pipeline.transducers.bowl import load_transducer
        >>> t = load_transducer("itrusst-sc1")
        >>> pts, w = bowl_quadrature(t, 3.0)
        >>> bool(np.isclose(w.sum(), 2 * np.pi * 64.0 * t.dome_height_mm))
        True
    """
    ppw = _check_ppw(points_per_wavelength)
    r, half = transducer.radius_of_curvature_mm, transducer.half_angle_rad
    theta, wt = _panels(0.0, half, r * half, wavelength_mm, ppw)
    return _rings(r * np.sin(theta), r * (1 - np.cos(theta)), r * r * np.sin(theta) * wt, wavelength_mm, ppw)


def disc_quadrature(radius_mm: float, wavelength_mm: float, points_per_wavelength: float = 8.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Source-frame points ``(M, 3)`` (mm, axial 0) on a disc and weights (mm^2) summing to ``pi a^2``."""
    ppw = _check_ppw(points_per_wavelength)
    if not (math.isfinite(radius_mm) and radius_mm > 0):
        raise TfusInputError(f"disc radius must be a positive number of mm, got {radius_mm!r}")
    rho, wr = _panels(0.0, radius_mm, radius_mm, wavelength_mm, ppw)
    return _rings(rho, np.zeros_like(rho), rho * wr, wavelength_mm, ppw)


def _to_source_frame(points_mm, pose: Pose | None) -> tuple[np.ndarray, tuple[int, ...]]:
    pts = np.asarray(points_mm, float)
    if pts.ndim == 0 or pts.shape[-1] not in (2, 3):
        raise TfusInputError(f"points must have 2 or 3 coordinates in the last dimension, got shape {pts.shape}")
    shape = pts.shape[:-1]
    pts = pts.reshape(-1, pts.shape[-1])
    if pose is None:
        if pts.shape[1] == 2:
            pts = np.column_stack([pts, np.zeros(len(pts))])
        return pts, shape
    if pts.shape[1] != 3:
        raise TfusInputError("with a pose, points must be world coordinates (x, y, z) in mm")
    w, u, v = orthonormal_frame(pose.axis)
    rel = pts - pose.apex
    return np.column_stack([rel @ w, rel @ u, rel @ v]), shape


def rayleigh_sum(src_mm: np.ndarray, weights_mm2: np.ndarray, points_mm: np.ndarray, frequency_hz: float, *,
                 sound_speed: float = 1500.0, density: float = 1000.0, alpha_db_cm: float = 0.0, u0: float = 0.04,
                 chunk_elements: int = 2**21) -> np.ndarray:
    """The sum ``(i w rho u0 / 2 pi) sum_j w_j exp(-i k r_j) / r_j`` at ``points_mm`` ``(N, 3)`` (complex Pa).

    All coordinates in one frame (mm); ``chunk_elements`` bounds the temporary ``(chunk, M)`` arrays.
    """
    k = wavenumber(frequency_hz, sound_speed, alpha_db_cm)
    omega = 2 * math.pi * frequency_hz
    src = np.asarray(src_mm, float) * 1e-3
    wts = np.asarray(weights_mm2, float) * 1e-6
    pts = np.asarray(points_mm, float) * 1e-3
    out = np.empty(len(pts), complex)
    step = max(1, int(chunk_elements) // max(1, len(src)))
    for start in range(0, len(pts), step):
        block = pts[start:start + step]
        r = np.sqrt(((block[:, None, :] - src[None, :, :]) ** 2).sum(-1))
        out[start:start + step] = (np.exp(-1j * k * r) / r) @ wts
    return 1j * omega * density * u0 / (2 * math.pi) * out


def rayleigh_bowl(transducer: BowlTransducer, points_mm, *, pose: Pose | None = None, sound_speed: float = 1500.0,
                  density: float = 1000.0, alpha_db_cm: float = 0.0, u0: float | None = None,
                  points_per_wavelength: float = 8.0, chunk_elements: int = 2**21) -> np.ndarray:
    """Complex pressure (Pa) of a focused bowl at ``points_mm`` (``(..., 3)`` or ``(..., 2)``, see the module docs).

    Args:
        transducer: the bowl; ``u0`` defaults to ``p0 / (rho c)`` of the given fluid.
        points_mm: target points; the result has their leading shape.
        pose: world placement; ``None`` means points in the source frame.
        sound_speed, density, alpha_db_cm: the fluid (absorption at the transducer frequency, dB/cm).
        points_per_wavelength: quadrature density (>= 4 is converged to ~1e-7 beyond the near field).
        chunk_elements: memory bound of the vectorised sum.
    """
    u = transducer.normal_velocity_m_s(density, sound_speed) if u0 is None else float(u0)
    wavelength = sound_speed / transducer.frequency_hz * 1e3
    src, w = bowl_quadrature(transducer, wavelength, points_per_wavelength)
    pts, shape = _to_source_frame(points_mm, pose)
    p = rayleigh_sum(src, w, pts, transducer.frequency_hz, sound_speed=sound_speed, density=density,
                     alpha_db_cm=alpha_db_cm, u0=u, chunk_elements=chunk_elements)
    return p.reshape(shape)


def rayleigh_disc(radius_mm: float, frequency_hz: float, points_mm, *, pose: Pose | None = None,
                  sound_speed: float = 1500.0, density: float = 1000.0, alpha_db_cm: float = 0.0, u0: float = 0.04,
                  points_per_wavelength: float = 8.0, chunk_elements: int = 2**21) -> np.ndarray:
    """Complex pressure (Pa) of a baffled flat disc (e.g. ITRUSST SC2: radius 10 mm) at ``points_mm``; the pose's
    apex is the disc centre and its axis the disc normal.

    Example:
        >>> from tfus.pipeline.validation.closed_forms import piston_axial
        >>> p = rayleigh_disc(10.0, 500e3, np.array([[50.0, 0.0]]))
        >>> bool(np.isclose(abs(p[0]), piston_axial(10.0, 50.0, 500e3), rtol=1e-4))
        True
    """
    wavelength = sound_speed / frequency_hz * 1e3
    src, w = disc_quadrature(radius_mm, wavelength, points_per_wavelength)
    pts, shape = _to_source_frame(points_mm, pose)
    p = rayleigh_sum(src, w, pts, frequency_hz, sound_speed=sound_speed, density=density, alpha_db_cm=alpha_db_cm,
                     u0=u0, chunk_elements=chunk_elements)
    return p.reshape(shape)
