"""Band-limited off-grid source weights (k-Wave's ``kWaveArray``), computed in O(points x stencil).

k-wave-python's ``off_grid_points`` evaluates the same band-limited interpolant (a sinc per axis centred on each
integration point, truncated to k-Wave's star-shaped stencil set by ``bli_tolerance``) but copies the whole grid for
every integration point: O(points x grid), hours for a 64 mm bowl at 0.5 mm. This module takes the integration points
from k-wave-python itself (``make_cart_bowl`` / ``make_cart_arc`` with ``kWaveArray``'s point count and scaling) and
accumulates the identical stencil values with Numba; the result equals ``kWaveArray.get_element_grid_weights`` to
round-off (tested).

Example:
    >>> import numpy as np
    >>> w, covered = stencil_weights([np.arange(8.0)], 1.0, np.array([[3.5]]), 1.0, 0.1)
    >>> bool(covered[3]), round(float(w.sum()), 3) > 0
    (True, True)
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tfus.pipeline.kwave_compat import import_kwave


def star_offsets(ndim: int, bli_tolerance: float) -> np.ndarray:
    """k-Wave's stencil (``tol_star``): offsets in ``[-d, d]^ndim`` with ``|i j k| <= d``, ``d = ceil(1/(pi tol))``."""
    d = int(np.ceil(1 / (np.pi * bli_tolerance)))
    lin = np.arange(-d, d + 1)
    offs = np.stack(np.meshgrid(*([lin] * ndim), indexing="ij"), -1).reshape(-1, ndim)
    if ndim > 1:
        offs = offs[np.abs(np.prod(offs, axis=1)) <= d]
    return np.ascontiguousarray(offs.astype(np.int64))


@numba.njit(cache=True)
def _accumulate(vectors, shape, pi_on_dx, points, scale, offs, tol_on_grid, weights, covered):  # pragma: no cover
    """``vectors``: (ndim, max N) grid coordinates, as k-Wave's ``x_vec``/``y_vec``/``z_vec`` (the same floating-point
    comparisons and differences as ``tol_star`` and ``off_grid_points``, so near-ties resolve identically)."""
    ndim = points.shape[0]
    n_pts = points.shape[1]
    n_off = offs.shape[0]
    reach = 0
    for s in range(n_off):
        for d in range(ndim):
            reach = max(reach, abs(offs[s, d]))
    closest = np.empty(ndim, np.int64)
    on_grid = np.empty(ndim, np.bool_)
    idx = np.empty(ndim, np.int64)
    table = np.empty((ndim, 2 * reach + 1))  # the 1D sincs of this point along each axis, per offset
    for p in range(n_pts):
        for d in range(ndim):
            x = points[d, p]
            n = shape[d]
            step = vectors[d, 1] - vectors[d, 0]
            lo = int(math.floor((x - vectors[d, 0]) / step))
            lo = min(max(lo, 0), n - 2)
            # nearest node, ties to the lower index (numpy argmin over |x_vec - x|)
            c = lo if abs(vectors[d, lo] - x) <= abs(vectors[d, lo + 1] - x) else lo + 1
            if lo > 0 and abs(vectors[d, lo - 1] - x) <= abs(vectors[d, c] - x):
                c = lo - 1
            closest[d] = c
            on_grid[d] = abs(vectors[d, c] - x) < tol_on_grid
            for o in range(-reach, reach + 1):
                i = c + o
                if 0 <= i < n:
                    arg = pi_on_dx * (vectors[d, i] - x)
                    table[d, o + reach] = 1.0 if arg == 0.0 else math.sin(arg) / arg
        for s in range(n_off):
            ok = True
            for d in range(ndim):
                o = offs[s, d]
                if on_grid[d] and o != 0:
                    ok = False
                    break
                i = closest[d] + o
                if i < 0 or i >= shape[d]:
                    ok = False
                    break
                idx[d] = i
            if not ok:
                continue
            value = scale
            for d in range(ndim):
                value *= table[d, offs[s, d] + reach]
            flat = 0
            for d in range(ndim):
                flat = flat * shape[d] + idx[d]
            weights[flat] += value
            covered[flat] = True


def stencil_weights(grid_vectors: list[np.ndarray], dx: float, points: np.ndarray, scale: float,
                    bli_tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights (C-order flat, float64) and the covered mask of band-limited deltas at ``points`` ``(ndim, P)`` on the
    uniform grid with axis vectors ``grid_vectors`` (metres) and spacing ``dx``."""
    ndim = points.shape[0]
    shape = np.array([len(v) for v in grid_vectors], np.int64)
    vectors = np.full((ndim, int(shape.max())), np.nan)
    for d, v in enumerate(grid_vectors):
        vectors[d, : shape[d]] = np.ravel(v)
    weights = np.zeros(int(np.prod(shape)))
    covered = np.zeros(int(np.prod(shape)), np.bool_)
    _accumulate(vectors, shape, np.pi / float(dx), np.ascontiguousarray(points, float), float(scale),
                star_offsets(ndim, bli_tolerance), float(dx) * 1e-3, weights, covered)
    return weights, covered


def element_grid_weights(karray, kgrid, element: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, mask)`` on the kgrid (C order, grid-shaped) of one bowl or arc element of a ``kWaveArray``: what
    ``get_element_grid_weights`` and ``get_array_binary_mask`` return, without their O(points x grid) cost."""
    import_kwave()
    from kwave.utils.mapgen import make_cart_arc, make_cart_bowl, trim_cart_points

    el = karray.elements[element]
    if el.type not in ("bowl", "arc") or karray.axisymmetric:
        raise ValueError(f"fast off-grid weights support bowl and arc elements, not {el.type!r}")
    if getattr(karray, "bli_type", "sinc") != "sinc":
        raise ValueError("fast off-grid weights implement bli_type 'sinc' only")
    m_grid = el.measure / kgrid.dx ** el.dim
    m_integration = math.ceil(m_grid * karray.upsampling_rate)
    make = make_cart_bowl if el.type == "bowl" else make_cart_arc
    pts = make(karray.affine(el.position), el.radius_of_curvature, el.diameter, karray.affine(el.focus_position),
               m_integration)
    pts = np.asarray(pts, float)
    scale = m_grid / pts.shape[1]  # as kWaveArray: the points actually made, before trimming to the grid
    pts = trim_cart_points(kgrid, pts)
    vectors = [np.ravel(kgrid.x_vec), np.ravel(kgrid.y_vec)] + ([np.ravel(kgrid.z_vec)] if kgrid.dim == 3 else [])
    weights, covered = stencil_weights(vectors, kgrid.dx, pts, scale, karray.bli_tolerance)
    shape = tuple(len(v) for v in vectors)
    return weights.reshape(shape), covered.reshape(shape)
