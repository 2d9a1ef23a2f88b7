"""Source load vectors: off-grid monopoles distributed to the FE nodes with the Q1 shape functions.

A volume-velocity density ``Q(x, t) = s(t) sum_p q_p delta(x - x_p)`` gives the load ``F_i(t) = s'(t) sum_p q_p
phi_i(x_p)``. On the voxel-centre tensor mesh the Q1 shape functions at a point are its multilinear interpolation
weights on the grid (2^d corners), computed directly here and checked against skfem's ``probes`` in the tests.

Bowl calibration: a thin double-sided monopole sheet of volume-velocity density ``q`` (m/s) radiates ``p = rho c q /
2`` to each side, so a bowl whose surface pressure amplitude is ``p0`` (normal velocity ``u0 = p0/(rho c)``) is the
sheet ``q = 2 u0 = 2 p0 / (rho c)`` over its surface: its field is the Rayleigh-type integral that O'Neil's closed
form evaluates (k-Wave's calibration in its O'Neil test). ``rho c`` is interpolated at each quadrature point.

Example:
    >>> import numpy as np
    >>> idx, w = multilinear_weights(np.array([[0.25, 1.5]]), (3, 3))
    >>> idx.tolist(), w.round(3).tolist()
    ([[1, 2, 4, 5]], [[0.375, 0.375, 0.125, 0.125]])
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.engines.fem.mesh import GridMesh
from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.engines.sources import BowlSource, PointSource
from tfus.pipeline.errors import TfusInputError


def multilinear_weights(index_points: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Flat C-order indices and weights ``(M, 2^d)`` of the grid nodes around fractional indices ``(M, d)``: the Q1
    shape function values."""
    return interpolation_weights(index_points, shape, order=1)


def interpolation_weights(index_points: np.ndarray, shape: tuple[int, ...], order: int = 1
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Lagrange interpolation weights of degree ``order`` (1: multilinear, 2^d nodes; 3: cubic, 4^d nodes)
    at fractional indices ``(M, d)``: flat C-order node indices and weights, each ``(M, n_stencil)``.

    The stencil is centred on the point where the grid allows and shifted inwards at its edges; an axis with fewer
    than ``order + 1`` nodes uses the highest degree it can hold.
    """
    pts = np.atleast_2d(np.asarray(index_points, float))
    orders = [min(order, n - 1) for n in shape]
    per_axis = []  # (base index (M,), weights (M, o + 1)) for each axis
    for a, (o, n) in enumerate(zip(orders, shape, strict=True)):
        x = pts[:, a]
        base = np.clip(np.floor(x).astype(np.int64) - (o - 1) // 2, 0, n - o - 1)
        w = np.ones((len(x), o + 1))
        for j in range(o + 1):
            for m in range(o + 1):
                if m != j:
                    w[:, j] *= (x - (base + m)) / (j - m)
        per_axis.append((base, w))
    stencil = np.array(np.meshgrid(*[np.arange(o + 1) for o in orders], indexing="ij")).reshape(len(shape), -1).T
    idx = np.zeros((pts.shape[0], len(stencil)), np.int64)
    weights = np.ones((pts.shape[0], len(stencil)))
    for c, offs in enumerate(stencil):
        idx[:, c] = np.ravel_multi_index(tuple(base + o for (base, _), o in zip(per_axis, offs, strict=True)), shape)
        for (_, w), o in zip(per_axis, offs, strict=True):
            weights[:, c] *= w[:, o]
    return idx, weights


def _check_inside(medium: MediumGrid, gm: GridMesh, index_medium: np.ndarray, what: str) -> None:
    n = np.array(medium.shape, float)
    padded = index_medium + np.array(gm.pad)
    bad = np.any(index_medium < -0.5 - 1e-9, axis=1) | np.any(index_medium > n - 0.5 + 1e-9, axis=1)
    bad |= np.any(padded < -1e-9, axis=1) | np.any(padded > np.array(gm.shape) - 1 + 1e-9, axis=1)
    if np.any(bad):
        where = medium.index_to_world(index_medium[np.argmax(bad)])
        raise TfusInputError(f"{what} lies (partly) outside the medium grid (e.g. at {np.round(where, 2).tolist()} "
                             "mm); move it inside or enlarge the grid")


def source_load(medium: MediumGrid, gm: GridMesh, source, rho_padded: np.ndarray, c_padded: np.ndarray,
                scale=None, interpolation: str = "cubic") -> tuple[np.ndarray, dict]:
    """Volume-velocity load vector ``sum_p q_p phi(x_p)`` (m^3/s in 3D, m^2/s in 2D) on the padded grid, grid order.

    ``rho`` and ``c`` are padded nodal fields, interpolated at the points (bowl calibration ``q = 2 p0 / (rho c)``);
    ``scale`` (optional) maps the sound speed at each point to a factor on its strength (the dispersion correction's
    ``gamma``). ``interpolation`` spreads each point onto the nodes: ``"linear"`` (the Q1 shape functions, the
    Galerkin load) or ``"cubic"`` (4-point Lagrange per axis). Linear weights low-pass an off-node source: a sheet
    half-way between nodes radiates ``cos(kh/2)`` of its amplitude (-7.6 % at 8 points per wavelength); cubic
    weights lose <= 0.9 % there (1 - 9/8 cos(kh/2) + 1/8 cos(3kh/2)). Returns the vector and a small dict for the
    field's metadata.
    """
    if isinstance(source, PointSource):
        if source.ndim != medium.ndim:
            raise TfusInputError(f"a {medium.ndim}D medium needs a point source with {medium.ndim} coordinates, got "
                                 f"{source.ndim}")
        index = medium.world_to_index(source.position_mm[None])
        _check_inside(medium, gm, index, "the point source")
        strengths = np.array([source.amplitude])
        meta = {"source": "point", "volume_velocity": source.amplitude}
    elif isinstance(source, BowlSource):
        pts, weights = source.quadrature(medium.ndim, spacing_mm=medium.spacing_mm / 3.0)
        index = medium.world_to_index(pts)
        _check_inside(medium, gm, index, f"transducer {source.transducer.name}")
        strengths = weights * 1e-3 ** (medium.ndim - 1)  # mm^2 -> m^2 (3D), mm -> m (2D)
        meta = {"source": "bowl", "transducer": source.transducer.name, "quadrature_points": int(len(pts))}
    else:
        raise TfusInputError(f"unknown source type {type(source).__name__}; use BowlSource or PointSource")
    idx, w = multilinear_weights(index + np.array(gm.pad), gm.shape)
    c_at = np.sum(w * c_padded.reshape(-1)[idx], axis=1)
    if isinstance(source, BowlSource):
        rho_at = np.sum(w * rho_padded.reshape(-1)[idx], axis=1)
        strengths = strengths * 2.0 * source.transducer.source_amplitude_pa / (rho_at * c_at)
    if scale is not None:
        strengths = strengths * scale(c_at)
    if interpolation == "cubic":
        idx, w = interpolation_weights(index + np.array(gm.pad), gm.shape, order=3)
    meta["source_interpolation"] = interpolation
    load = np.bincount(idx.ravel(), weights=(w * strengths[:, None]).ravel(), minlength=gm.n_nodes)
    return load, meta


def resolve_frequency(source, frequency_hz: float | None) -> float:
    """The given frequency, else the bowl's; a point source needs one."""
    from tfus.pipeline.engines.fem.config import check_frequency

    if frequency_hz is not None:
        return check_frequency(frequency_hz)
    if isinstance(source, BowlSource):
        return source.frequency_hz
    raise TfusInputError("a point source needs frequency_hz; give the frequency in Hz")
