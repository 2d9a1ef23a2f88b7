"""Fused element-wise updates of the k-space time step on the CPU (Numba, all cores).

k-Wave's time step is FFTs plus a dozen element-wise passes over the grid (k-space operators, split-field PML before
and after each update, the density and velocity updates, the source, the equation of state). Done with NumPy, each
pass reads and writes whole grid-sized arrays (single-threaded, with temporaries); these kernels do each update in
one multithreaded pass over memory, with the same arithmetic as k-wave-python's step (results agree to float32
round-off):

- gradient spectra:      ``P_a = kappa * P * d_a`` for every axis ``a`` in one pass over ``P = F[p]`` (the k-space
                         operator is separable: ``kappa`` on the grid times 1D shift-derivative factors ``d_a``)
- divergence spectrum:   ``U_a *= kappa * e_a`` in place, ``e_a`` the other staggered shift
- velocity, axis ``a``:  ``u = pml_a * (pml_a * u - dt/rho0_a * grad)``
- density,  axis ``a``:  ``rho_a = pml_a * (pml_a * rho_a - dt rho0 * div_a) + s(t) * source``, summing ``div_a``;
  the last axis also evaluates the equation of state in the same pass:
  ``p = c0^2 * (sum_a rho_a + tau * rho0 * div)``  (Stokes absorption; lossless without tau)

Threading: Numba's ``workqueue`` layer is used unless ``NUMBA_THREADING_LAYER`` says otherwise — the OpenMP layer
spin-waits after each kernel and slows the multithreaded FFTs that follow by ~40 %. ``workqueue`` must not run two
parallel kernels at once, so calls go through :func:`velocity`, :func:`density`, :func:`density_state` and the
spectral wrappers, which hold a lock. Rows are handed to the inner loop as 1D views, which LLVM vectorises.

PML profiles are 1D (``(n, 1, 1)`` style): each kernel takes three 1D profiles, two of them all ones, so one kernel
serves every axis. 2D grids are passed as 3D views with a singleton last axis.

Example:
    >>> import numpy as np
    >>> u, g, d = np.ones((2, 2, 2), np.float32), np.ones((2, 2, 2), np.float32), np.full((2, 2, 2), 0.5, np.float32)
    >>> ones = np.ones(2, np.float32)
    >>> velocity(u, g, d, ones, ones, ones)
    >>> float(u[0, 0, 0])
    0.5
"""

from __future__ import annotations

import os
import threading

import numba
import numpy as np

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

_LOCK = threading.Lock()
_JIT = {"parallel": True, "cache": True, "fastmath": False, "nogil": True}


@numba.njit(**_JIT)
def update_velocity(u, grad, dt_over_rho0, px, py, pz):  # pragma: no cover - compiled
    nx, ny, nz = u.shape
    for i in numba.prange(nx):
        for j in range(ny):
            aij = px[i] * py[j]
            ur, gr, dr = u[i, j], grad[i, j], dt_over_rho0[i, j]
            for k in range(nz):
                a = aij * pz[k]
                ur[k] = a * (a * ur[k] - dr[k] * gr[k])


@numba.njit(**_JIT)
def gradient_spectra(spec, kappa, d0, d1, d2, out0, out1, ndim):  # pragma: no cover - compiled
    """``kappa * spec`` times the 1D factor of each axis: axes before the last go to ``out0``/``out1``, the last
    axis overwrites ``spec`` (``ndim`` 3: ``d0`` to ``out0``, ``d1`` to ``out1``, ``d2`` in place; ``ndim`` 2:
    ``d0`` to ``out0``, ``d1`` in place; ``ndim`` 1: ``d0`` in place)."""
    nx, ny, nz = spec.shape
    for i in numba.prange(nx):
        for j in range(ny):
            sr, kr = spec[i, j], kappa[i, j]
            if ndim == 3:
                o0, o1 = out0[i, j], out1[i, j]
                c0, c1 = d0[i], d1[j]
                for k in range(nz):
                    v = sr[k] * kr[k]
                    o0[k] = v * c0
                    o1[k] = v * c1
                    sr[k] = v * d2[k]
            elif ndim == 2:
                o0 = out0[i, j]
                c0, c1 = d0[i], d1[j]
                for k in range(nz):
                    v = sr[k] * kr[k]
                    o0[k] = v * c0
                    sr[k] = v * c1
            else:
                c0 = d0[i]
                for k in range(nz):
                    sr[k] = sr[k] * kr[k] * c0


@numba.njit(**_JIT)
def scale_spectrum(spec, kappa, d, axis):  # pragma: no cover - compiled
    """``spec *= kappa * d`` in place, ``d`` a 1D factor along ``axis``."""
    nx, ny, nz = spec.shape
    for i in numba.prange(nx):
        for j in range(ny):
            sr, kr = spec[i, j], kappa[i, j]
            if axis == 2:
                for k in range(nz):
                    sr[k] = sr[k] * kr[k] * d[k]
            else:
                c = d[i] if axis == 0 else d[j]
                for k in range(nz):
                    sr[k] = sr[k] * kr[k] * c


@numba.njit(**_JIT)
def update_density(rho, div, dt_rho0, px, py, pz, div_sum, first, source, s):  # pragma: no cover - compiled
    """``first``: overwrite ``div_sum`` (else accumulate); ``source`` may be an empty array (no source)."""
    nx, ny, nz = rho.shape
    has_source = source.size > 0
    keep_div = div_sum.size > 0
    for i in numba.prange(nx):
        for j in range(ny):
            aij = px[i] * py[j]
            rr, dr, tr = rho[i, j], div[i, j], dt_rho0[i, j]
            for k in range(nz):
                a = aij * pz[k]
                d = dr[k]
                r = a * (a * rr[k] - tr[k] * d)
                if has_source:
                    r += s * source[i, j, k]
                rr[k] = r
                if keep_div:
                    if first:
                        div_sum[i, j, k] = d
                    else:
                        div_sum[i, j, k] += d


@numba.njit(**_JIT)
def update_density_state(rho, div, dt_rho0, px, py, pz, div_sum, first, source, s, p, rho_0, rho_1, c0_sq,
                         tau_rho0, rho_total):  # pragma: no cover - compiled
    """The last axis's density update and the equation of state in one pass: ``rho_0``/``rho_1`` are the other
    axes' split densities (empty when absent), ``div_sum`` the earlier axes' divergence sum (read unless
    ``first``; empty when lossless; completed with this axis's when ``tau_rho0`` is empty), ``rho_total`` (may be
    empty) receives the summed density."""
    nx, ny, nz = rho.shape
    has_source = source.size > 0
    lossy = tau_rho0.size > 0
    has_div = div_sum.size > 0
    n_other = (rho_0.size > 0) + (rho_1.size > 0)
    keep = rho_total.size > 0
    for i in numba.prange(nx):
        for j in range(ny):
            aij = px[i] * py[j]
            rr, dr, tr, pr, cr = rho[i, j], div[i, j], dt_rho0[i, j], p[i, j], c0_sq[i, j]
            for k in range(nz):
                a = aij * pz[k]
                d = dr[k]
                r = a * (a * rr[k] - tr[k] * d)
                if has_source:
                    r += s * source[i, j, k]
                rr[k] = r
                if n_other == 2:
                    r = rho_0[i, j, k] + rho_1[i, j, k] + r
                elif n_other == 1:
                    r = rho_0[i, j, k] + r
                if keep:
                    rho_total[i, j, k] = r
                if has_div:
                    ds = d if first else div_sum[i, j, k] + d
                    if lossy:
                        r += tau_rho0[i, j, k] * ds
                    else:  # power-law absorption: the whole divergence is needed after this pass
                        div_sum[i, j, k] = ds
                pr[k] = cr[k] * r


def _locked(kernel):
    """``kernel`` run under the kernel lock (one Numba parallel region at a time per process)."""

    def run(*args) -> None:
        with _LOCK:
            kernel(*args)

    run.__doc__ = f":func:`{kernel.__name__}` under the kernel lock."
    return run


velocity = _locked(update_velocity)
density = _locked(update_density)
density_state = _locked(update_density_state)
gradients = _locked(gradient_spectra)
divergence = _locked(scale_spectrum)


def as3d(a: np.ndarray) -> np.ndarray:
    """A C-contiguous 3D view of a 1D/2D/3D grid array (singleton axes appended)."""
    a = np.asarray(a)
    while a.ndim < 3:
        a = a[..., None]
    return a


def grid_array(value, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A scalar or broadcastable medium/operator array expanded to a contiguous 3D grid array of ``dtype``."""
    full = np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=dtype), shape))
    return as3d(full)


def pml_profiles(profile: np.ndarray, axis: int, shape: tuple[int, ...], dtype) -> tuple[np.ndarray, ...]:
    """Three 1D profiles for the 3D kernels from one axis profile of shape ``(n, 1, 1)`` style."""
    shape3 = tuple(shape) + (1,) * (3 - len(shape))
    out = [np.ones(n, dtype=dtype) for n in shape3]
    out[axis] = np.ascontiguousarray(np.asarray(profile, dtype=dtype).ravel())
    return tuple(out)


EMPTY = np.empty((0, 0, 0), np.float32)
