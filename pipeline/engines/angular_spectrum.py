"""Hybrid angular spectrum (HAS): a one-way, plane-by-plane wave model through a heterogeneous medium, milliseconds per
field.

Vyas & Christensen, "Ultrasound beam simulation using the hybrid angular spectrum method", IEEE TUFFC 2012; the
transcranial planning tools (e.g. BabelBrain's fast path, PRESTUS comparisons) use the same idea. A complex pressure
plane ``p(x, y)`` at ``z`` is carried to ``z + dz`` in two halves:

- **space**: for every ``(x, y)``, the pressure transmission coefficient ``T = 2 Z1 / (Z0 + Z1)`` of the interface
  crossed between the two planes (normal incidence), the absorption ``exp(-alpha dz)`` and the phase
  ``exp(-i w (1/c - 1/c_ref) dz)`` of the slab's local sound speed against the plane's reference ``c_ref``;
- **spectrum**: the exact propagator ``exp(-i k_z dz)``, ``k_z = sqrt((w/c_ref)^2 - k_x^2 - k_y^2)``
  (evanescent components decay), with ``c_ref`` the plane's energy-weighted mean sound speed (the choice that keeps
  the split's error smallest where the beam is).

Time convention as everywhere in tfus: ``p(t) = Re(P exp(+i w t))``, outgoing waves ``exp(-i k r)``. The planes are
zero-padded laterally to at least twice their width and a cosine taper absorbs what reaches the padding, so nothing
wraps around.

What it leaves out, by construction: reflected waves (so no standing waves between skull and transducer and no
reverberation inside the skull plate), shear waves, and transmission at oblique incidence beyond the normal-incidence
coefficient. In a homogeneous medium it is exact (the angular spectrum is the exact solution of the Helmholtz equation
between planes); through a plate at normal incidence it gives the single-pass transmission ``4 Z0 Z1 / (Z0 + Z1)^2``
times the absorption and the phase delay ``w d (1/c1 - 1/c0)`` (both tested against these closed forms).

Example:
    >>> import numpy as np
    >>> c = np.full((32, 32, 20), 1500.0); rho = np.full_like(c, 1000.0); alpha = np.zeros_like(c)
    >>> plane = np.ones((32, 32), complex)  # a plane wave, truncated to the grid
    >>> p = hybrid_angular_spectrum(plane, c, rho, alpha, spacing_mm=1.0, frequency_hz=5e5)
    >>> p.shape, round(float(abs(p[16, 16, 5])), 2)
    ((32, 32, 20), 1.0)
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from tfus.pipeline.errors import TfusInputError

__all__ = ["DB_PER_NEPER", "hybrid_angular_spectrum"]

#: dB per neper (amplitude): alpha [Np/m] = alpha [dB/cm] * 100 / DB_PER_NEPER
DB_PER_NEPER = 20.0 / math.log(10.0)


def _taper(n: int, inner: int, offset: int) -> np.ndarray:
    """1 on ``[offset, offset + inner)``, a raised cosine down to 0 over the padding on either side."""
    w = np.zeros(n)
    w[offset:offset + inner] = 1.0
    left, right = offset, n - offset - inner
    if left:
        w[:left] = 0.5 - 0.5 * np.cos(np.pi * np.arange(left) / left)
    if right:
        w[offset + inner:] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(right) + 1) / right)
    return w


def hybrid_angular_spectrum(source_plane: np.ndarray, sound_speed: np.ndarray, density: np.ndarray,
                            alpha_db_cm: np.ndarray, *, spacing_mm: float, frequency_hz: float, start: int = 0,
                            pad_factor: float = 2.0, reflections: bool = False) -> np.ndarray:
    """Complex pressure (Pa) on every plane ``k >= start`` of a grid, marched along the last axis from a source plane.

    Args:
        source_plane: complex pressure ``(nx, ny)`` on plane ``start`` (e.g. a Rayleigh integral in water).
        sound_speed: m/s, ``(nx, ny, nz)``.
        density: kg/m^3, same shape.
        alpha_db_cm: absorption at ``frequency_hz`` (dB/cm), same shape.
        spacing_mm: isotropic grid spacing (the march step is one grid step).
        frequency_hz: driving frequency.
        start: index of the source plane; planes before it hold only the reflected wave (zero without).
        pad_factor: lateral padding (the padded plane is at least this many times the grid's width).
        reflections: add the once-reflected wave: every interface sends ``R = (Z1 - Z0) / (Z0 + Z1)`` of the wave
            arriving at it back towards plane 0, marched like the forward wave (transmission ``2 Z0 / (Z0 + Z1)``,
            absorption, phase) but not reflected again; the result is the sum of both waves (the standing-wave
            pattern in front of the skull).

    Returns:
        complex64 ``(nx, ny, nz)``.

    Raises:
        TfusInputError: shapes that do not match, a non-positive speed, density or spacing, or ``start`` off the grid.
    """
    c = np.asarray(sound_speed, np.float64)
    rho = np.asarray(density, np.float64)
    alpha = np.asarray(alpha_db_cm, np.float64) * 100.0 / DB_PER_NEPER  # Np/m
    plane = np.asarray(source_plane, np.complex128)
    if c.ndim != 3 or rho.shape != c.shape or alpha.shape != c.shape:
        raise TfusInputError(f"the angular spectrum needs sound speed, density and absorption of one 3D shape, got "
                             f"{c.shape}, {rho.shape}, {alpha.shape}")
    if plane.shape != c.shape[:2]:
        raise TfusInputError(f"the source plane has shape {plane.shape}; it must be the grid's cross-section "
                             f"{c.shape[:2]}")
    if not (c.min() > 0 and rho.min() > 0 and alpha.min() >= 0):
        raise TfusInputError("sound speed and density must be > 0 and absorption >= 0 everywhere")
    if not (math.isfinite(spacing_mm) and spacing_mm > 0 and math.isfinite(frequency_hz) and frequency_hz > 0):
        raise TfusInputError(f"spacing ({spacing_mm!r} mm) and frequency ({frequency_hz!r} Hz) must be positive")
    nx, ny, nz = c.shape
    if not 0 <= start < nz:
        raise TfusInputError(f"the source plane index {start} is off the grid's {nz} planes")

    dz = spacing_mm * 1e-3
    omega = 2 * math.pi * frequency_hz
    px = scipy.fft.next_fast_len(max(int(math.ceil(pad_factor * nx)), nx + 8))
    py = scipy.fft.next_fast_len(max(int(math.ceil(pad_factor * ny)), ny + 8))
    ox, oy = (px - nx) // 2, (py - ny) // 2
    window = np.outer(_taper(px, nx, ox), _taper(py, ny, oy))
    kx = 2 * math.pi * scipy.fft.fftfreq(px, d=dz)
    ky = 2 * math.pi * scipy.fft.fftfreq(py, d=dz)
    k_perp2 = (kx[:, None] ** 2 + ky[None, :] ** 2).astype(np.float32)

    pads = ((ox, px - nx - ox), (oy, py - ny - oy), (0, 0))
    c = np.pad(c, pads, mode="edge")  # the medium beyond the grid continues its edge values
    impedance = np.pad(rho, pads, mode="edge") * c
    alpha = np.pad(alpha, pads, mode="edge")
    # per slab j (planes j -> j + 1), everything but the reference speed's share, at once: the slab's absorption and
    # its phase at the mean slowness of its two planes, and the taper; one contiguous plane per slab
    slowness = np.ascontiguousarray(np.moveaxis(0.5 * (1.0 / c[:, :, :-1] + 1.0 / c[:, :, 1:]), 2, 0))
    slab = np.exp(-0.5 * (alpha[:, :, :-1] + alpha[:, :, 1:]) * dz) * window[:, :, None]
    slab = np.ascontiguousarray(np.moveaxis(slab, 2, 0)) * np.exp(-1j * omega * dz * slowness)
    z0 = np.ascontiguousarray(np.moveaxis(impedance[:, :, :-1], 2, 0))
    z1 = np.ascontiguousarray(np.moveaxis(impedance[:, :, 1:], 2, 0))
    del c, impedance, alpha

    def step(p: np.ndarray, j: int, factor: np.ndarray) -> np.ndarray:
        """Carry ``p`` across slab ``j`` (either way: the propagator is the same), times ``factor``."""
        energy = p.real * p.real + p.imag * p.imag
        total = float(energy.sum())
        ref = float((energy * slowness[j]).sum() / total) if total > 0 else float(slowness[j].mean())
        kz2 = (omega * ref) ** 2 - k_perp2
        root = np.sqrt(np.abs(kz2)) * dz
        # propagating: exp(-i kz dz); evanescent (kz2 < 0): exp(-|kz| dz), decaying
        propagator = np.where(kz2 >= 0, np.cos(root) - 1j * np.sin(root), np.exp(-root)).astype(np.complex64)
        out = scipy.fft.ifft2(scipy.fft.fft2(p) * propagator)
        return (out * (slab[j] * factor * np.exp(1j * omega * dz * ref))).astype(np.complex64)

    forward = np.zeros((nz, px, py), np.complex64)
    forward[start, ox:ox + nx, oy:oy + ny] = plane
    for j in range(start, nz - 1):  # transmitted: 2 Z1 / (Z0 + Z1) at each interface
        forward[j + 1] = step(forward[j], j, 2.0 * z1[j] / (z0[j] + z1[j]))
    total = forward
    if reflections:
        # one reflection: at each interface the incident wave (the transmitted one over T) times R goes back. The
        # backward wave crossing slab j is transmitted (T' = 2 Z0 / (Z0 + Z1)) except the part just reflected at
        # that interface, which is already on its near side: it is injected as R inc / T' =
        # (Z1^2 - Z0^2) / (4 Z0 Z1) of the transmitted field, so the step's T' leaves it R inc. Backward waves are
        # absorbed on their way to plane 0 but not reflected again.
        back = np.zeros((px, py), np.complex64)
        total = forward.copy()
        for j in range(nz - 2, -1, -1):
            ratio = ((z1[j] * z1[j] - z0[j] * z0[j]) / (4.0 * z0[j] * z1[j])).astype(np.float32)
            back = step(back + forward[j + 1] * ratio, j, 2.0 * z0[j] / (z0[j] + z1[j]))
            total[j] += back
    return np.ascontiguousarray(np.moveaxis(total[:, ox:ox + nx, oy:oy + ny], 0, 2))
