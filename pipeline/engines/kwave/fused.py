"""Fused element-wise updates of the k-space time step on the CPU (Numba, all cores).

k-Wave's time step is FFTs plus a dozen element-wise passes over the grid (split-field PML before and after each
update, the density and velocity updates, the source, the equation of state). Done with NumPy, each pass reads and
writes whole grid-sized arrays and the PML slabs are strided; these kernels do each update in one pass over memory,
with the same arithmetic in the same order as k-wave-python's step (so results agree to float32 round-off):

- velocity, axis ``a``:  ``u = pml_a * (pml_a * u - dt/rho0_a * grad)``
- density,  axis ``a``:  ``rho_a = pml_a * (pml_a * rho_a - dt rho0 * div_a) + s(t) * source``, summing ``div_a``
- state:                 ``p = c0^2 * (sum_a rho_a + tau * rho0 * div)``  (Stokes absorption; lossless without tau)

Threading: Numba's ``workqueue`` layer is used unless ``NUMBA_THREADING_LAYER`` says otherwise — the OpenMP layer
spin-waits after each kernel and slows the multithreaded FFTs that follow by ~40 %. ``workqueue`` must not run two
parallel kernels at once, so calls go through :func:`velocity`, :func:`density` and :func:`state`, which hold a lock.

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
            for k in range(nz):
                a = px[i] * py[j] * pz[k]
                u[i, j, k] = a * (a * u[i, j, k] - dt_over_rho0[i, j, k] * grad[i, j, k])


@numba.njit(**_JIT)
def update_density(rho, div, dt_rho0, px, py, pz, div_sum, first, source, s):  # pragma: no cover - compiled
    """``first``: overwrite ``div_sum`` (else accumulate); ``source`` may be an empty array (no source)."""
    nx, ny, nz = rho.shape
    has_source = source.size > 0
    keep_div = div_sum.size > 0
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                a = px[i] * py[j] * pz[k]
                d = div[i, j, k]
                r = a * (a * rho[i, j, k] - dt_rho0[i, j, k] * d)
                if has_source:
                    r += s * source[i, j, k]
                rho[i, j, k] = r
                if keep_div:
                    if first:
                        div_sum[i, j, k] = d
                    else:
                        div_sum[i, j, k] += d


@numba.njit(**_JIT)
def equation_of_state(p, rho_x, rho_y, rho_z, c0_sq, tau_rho0, div_sum, rho_total):  # pragma: no cover
    """``p = c0^2 (rho_x + rho_y + rho_z + tau rho0 div)``; ``rho_z``/``tau_rho0`` may be empty (2D / lossless);
    ``rho_total`` (may be empty) receives the summed density."""
    nx, ny, nz = p.shape
    three = rho_z.size > 0
    lossy = tau_rho0.size > 0
    keep = rho_total.size > 0
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                r = rho_x[i, j, k] + rho_y[i, j, k]
                if three:
                    r += rho_z[i, j, k]
                if keep:
                    rho_total[i, j, k] = r
                if lossy:
                    r += tau_rho0[i, j, k] * div_sum[i, j, k]
                p[i, j, k] = c0_sq[i, j, k] * r


def velocity(*args) -> None:
    """:func:`update_velocity` under the kernel lock."""
    with _LOCK:
        update_velocity(*args)


def density(*args) -> None:
    """:func:`update_density` under the kernel lock."""
    with _LOCK:
        update_density(*args)


def state(*args) -> None:
    """:func:`equation_of_state` under the kernel lock."""
    with _LOCK:
        equation_of_state(*args)


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
