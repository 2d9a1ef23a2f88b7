"""The FE mesh of a medium grid: Q1 quads (2D) / hexes (3D) whose nodes are the voxel centres.

The mesh is skfem's ``MeshQuad``/``MeshHex`` ``init_tensor`` over the grid, optionally padded by absorbing-layer
cells on each side, in the grid's own frame: node coordinates are ``padded index * h`` in metres (the physics is
invariant under the rigid motion the medium affine applies; only an isotropic, orthogonal affine is accepted).

skfem numbers the nodes in its own order (for ``MeshHex`` not C order), so :class:`GridMesh` keeps the permutation
both ways; the solvers permute the assembled matrices once into C order of the padded grid, so that a nodal vector
reshaped to :attr:`GridMesh.shape` is the field on the grid, and cropping the padding gives the field on the medium
grid with the medium's affine — voxel for voxel the grid of the k-Wave engine.

Element material values (one per element, from its 2^d corner voxels): ``1/rho_e = 1 / mean(rho)`` and ``1/(rho
c^2)_e = mean(1/(rho c^2))``. These are the exact series/parallel averages in 1D (flux through a layered element, and
compressibility), so an interface between voxels sits half-way between their centres, as in the voxel picture. (The
solvers' lumped mass takes each node's own voxel compressibility instead, see :mod:`.timedomain`.)

Example:
    >>> from tfus.pipeline.engines.field import MediumGrid
    >>> m = MediumGrid.homogeneous((4, 3), spacing_mm=0.5)
    >>> gm = build_grid_mesh(m, pad=(1, 0))
    >>> gm.shape, gm.mesh.nelements
    ((6, 3), 10)
    >>> gm.grid_coordinates()[1, :, 1].tolist()  # metres, padded index * h
    [0.0, 0.0005, 0.001]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from skfem import ElementHex1, ElementQuad1, MeshHex, MeshQuad

from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.errors import TfusInputError


@dataclass(frozen=True, eq=False)
class GridMesh:
    """A padded voxel-centre mesh and its node <-> grid index maps.

    Attributes:
        mesh: skfem mesh, coordinates in metres (padded index * spacing).
        element: ``ElementQuad1()`` or ``ElementHex1()``.
        shape: Padded grid shape.
        pad: Cells added on each side of every axis.
        spacing_m: Grid spacing in metres.
        node_to_grid: For each skfem node, its flat C-order index in the padded grid.
        grid_to_node: The inverse permutation.
    """

    mesh: object
    element: object
    shape: tuple[int, ...]
    pad: tuple[int, ...]
    spacing_m: float
    node_to_grid: np.ndarray
    grid_to_node: np.ndarray

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n_nodes(self) -> int:
        return int(np.prod(self.shape))

    @property
    def inner(self) -> tuple[slice, ...]:
        """Index of the medium grid inside the padded grid."""
        return tuple(slice(p, n - p) for p, n in zip(self.pad, self.shape, strict=True))

    def padded(self, values: np.ndarray) -> np.ndarray:
        """A medium-grid array extended into the padding by repeating the edge values."""
        return np.pad(np.asarray(values, float), [(p, p) for p in self.pad], mode="edge")

    def to_nodes(self, grid_values: np.ndarray) -> np.ndarray:
        """Padded-grid array -> vector in skfem node order."""
        return np.asarray(grid_values).reshape(-1)[self.node_to_grid]

    def to_grid_order(self, matrix_or_vector):
        """A matrix or vector assembled in skfem node order, permuted into C order of the padded grid."""
        g2n = self.grid_to_node
        if sp.issparse(matrix_or_vector):
            return sp.csr_matrix(matrix_or_vector)[g2n][:, g2n].tocsr()
        return np.asarray(matrix_or_vector)[g2n]

    def element_mean(self, grid_values: np.ndarray) -> np.ndarray:
        """Mean of a padded-grid nodal field over each element's corners (skfem element order)."""
        return self.to_nodes(grid_values)[self.mesh.t].mean(axis=0)

    def grid_coordinates(self) -> np.ndarray:
        """Node coordinates (metres) as an array ``shape + (ndim,)`` in grid order."""
        return self.mesh.p[:, self.grid_to_node].T.reshape(*self.shape, self.ndim)

    def world_to_padded_index(self, medium: MediumGrid, xyz_mm: np.ndarray) -> np.ndarray:
        """World mm -> fractional index in the padded grid."""
        return medium.world_to_index(np.asarray(xyz_mm, float)) + np.asarray(self.pad, float)


def check_isotropic(medium: MediumGrid) -> float:
    """The grid spacing in mm; the affine must be orthogonal with equal spacings (else TfusInputError)."""
    a = np.asarray(medium.affine, float)[: medium.ndim, : medium.ndim]
    h = medium.spacing_mm
    if not np.allclose(a.T @ a, h * h * np.eye(medium.ndim), rtol=1e-6, atol=1e-9 * h * h):
        raise TfusInputError("the FE engine needs an isotropic grid with orthogonal axes; resample the medium to "
                             "equal spacings first")
    return h


def build_grid_mesh(medium: MediumGrid, pad: tuple[int, ...] | int = 0) -> GridMesh:
    """The Q1 mesh with nodes at the voxel centres of ``medium``, padded by ``pad`` cells per side and axis."""
    h = check_isotropic(medium) * 1e-3
    pads = (int(pad),) * medium.ndim if np.isscalar(pad) else tuple(int(p) for p in pad)
    if len(pads) != medium.ndim or min(pads) < 0:
        raise TfusInputError(f"pad must give one nonnegative cell count per axis, got {pad!r}")
    shape = tuple(n + 2 * p for n, p in zip(medium.shape, pads, strict=True))
    if min(shape) < 2:
        raise TfusInputError(f"the medium grid {medium.shape} needs at least 2 voxels along every axis")
    axes = [np.arange(n, dtype=float) * h for n in shape]
    mesh_type, element = (MeshQuad, ElementQuad1()) if medium.ndim == 2 else (MeshHex, ElementHex1())
    mesh = mesh_type.init_tensor(*axes)
    index = np.rint(mesh.p / h).astype(np.int64)
    node_to_grid = np.ravel_multi_index(tuple(index), shape)
    grid_to_node = np.empty_like(node_to_grid)
    grid_to_node[node_to_grid] = np.arange(node_to_grid.size)
    if np.unique(node_to_grid).size != node_to_grid.size:  # pragma: no cover - guards an skfem change
        raise RuntimeError("skfem tensor mesh nodes do not map one-to-one to the grid")
    return GridMesh(mesh, element, shape, pads, h, node_to_grid, grid_to_node)
