"""Assembly of the Q1 acoustic operators with scikit-fem, in element chunks, permuted into grid order.

Weak form of ``(1/(rho c^2)) p_tt - div((1/rho) grad p) = dQ/dt`` (test function v):

* stiffness ``K_ij = int (1/rho) grad phi_j . grad phi_i`` (with a PML: ``sum_a (J/s_a^2) d_a phi_j d_a phi_i``,
  ``J = prod_a s_a``);
* mass ``M_ij = int (1/(rho c^2)) phi_j phi_i`` (PML: times ``J``); the solvers' lumped mass is ``int phi_i`` (the
  row sums of the unit mass matrix, as the shape functions sum to one; PML: ``int J phi_i``) times each node's own
  compressibility;
* boundary ``B_ij = int_G (1/(rho c)) phi_j phi_i`` from the first-order absorbing condition ``dp/dn = -p_t / c``
  (lumped: ``b_i = int_G (1/(rho c)) phi_i``).

Integrals use a per-axis two-point rule (``"gauss"`` or ``"modified"``, see :mod:`.config`); element coefficients are
constant per element (:mod:`.mesh`). Cells are assembled ``CHUNK`` elements at a time so that skfem's per-element
basis tables stay bounded in memory.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.engines.field import MediumGrid
    >>> from tfus.pipeline.engines.fem.mesh import build_grid_mesh
    >>> gm = build_grid_mesh(MediumGrid.homogeneous((5, 5), spacing_mm=1.0))
    >>> ones = np.ones(gm.mesh.nelements)
    >>> K = assemble_matrix(gm, stiffness_form(), quadrature_rule("gauss", 2), ak=ones)
    >>> bool(abs(K @ np.ones(25)).max() < 1e-12)  # constants are in the kernel
    True
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from skfem import BilinearForm, CellBasis, FacetBasis, LinearForm
from skfem.helpers import dot, grad

from tfus.pipeline.engines.fem.mesh import GridMesh

CHUNK = 40_000
#: Abscissa offset of the modified two-point rule on [0, 1]: 1/2 +- sqrt(2/3)/2 (Gauss is 1/2 +- sqrt(1/3)/2).
_OFFSET = {"modified": np.sqrt(2.0 / 3.0) / 2.0, "gauss": np.sqrt(1.0 / 3.0) / 2.0}


def quadrature_rule(kind: str, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor two-point rule ``(X (ndim, 2^ndim), W (2^ndim,))`` on the reference cell [0, 1]^ndim."""
    one = np.array([0.5 - _OFFSET[kind], 0.5 + _OFFSET[kind]])
    grids = np.meshgrid(*([one] * ndim), indexing="ij")
    return np.stack([g.ravel() for g in grids]), np.full(2**ndim, 0.5**ndim)


def stiffness_form(stretch=None, dtype=np.float64) -> BilinearForm:
    """``ak grad u . grad v``, or with a coordinate stretch ``s = stretch(x)`` (shape (ndim, ...)) the PML form."""
    if stretch is None:
        return BilinearForm(lambda u, v, w: w.ak * dot(grad(u), grad(v)), dtype=dtype)

    def form(u, v, w):
        s = stretch(w.x)
        jac = np.prod(s, axis=0)
        gu, gv = grad(u), grad(v)
        return w.ak * sum(jac / s[a] ** 2 * gu[a] * gv[a] for a in range(s.shape[0]))

    return BilinearForm(form, dtype=np.complex128)


def mass_form(stretch=None, dtype=np.float64) -> BilinearForm:
    """``am u v`` (times ``prod(s)`` with a stretch; ``dtype`` complex for a complex ``am``)."""
    if stretch is None:
        return BilinearForm(lambda u, v, w: w.am * u * v, dtype=dtype)
    return BilinearForm(lambda u, v, w: w.am * np.prod(stretch(w.x), axis=0) * u * v, dtype=np.complex128)


def lumped_form(stretch=None) -> LinearForm:
    """``am v``: the row sums of the mass matrix."""
    if stretch is None:
        return LinearForm(lambda v, w: w.am * v)
    return LinearForm(lambda v, w: w.am * np.prod(stretch(w.x), axis=0) * v, dtype=np.complex128)


def _per_point(idx: np.ndarray, nqp: int, coeffs: dict) -> dict:
    return {k: np.repeat(np.asarray(v)[idx, None], nqp, axis=1) for k, v in coeffs.items()}


def assemble(gm: GridMesh, quadrature, matrices: dict | None = None, vectors: dict | None = None) -> dict:
    """Assemble several forms over all cells, sharing one skfem basis per chunk of ``CHUNK`` elements.

    Args:
        gm: The mesh.
        quadrature: ``(X, W)`` from :func:`quadrature_rule`.
        matrices: ``name -> (BilinearForm, {coefficient: per-element array})``.
        vectors: ``name -> (LinearForm, {coefficient: per-element array})``.

    Returns:
        ``name ->`` CSR matrix or vector, permuted into C order of the padded grid.
    """
    matrices, vectors = matrices or {}, vectors or {}
    nqp, nel = quadrature[1].size, gm.mesh.nelements
    out: dict = {}
    for start in range(0, nel, CHUNK):
        idx = np.arange(start, min(nel, start + CHUNK))
        basis = CellBasis(gm.mesh, gm.element, quadrature=quadrature, elements=idx, disable_doflocs=True)
        for name, (form, coeffs) in {**matrices, **vectors}.items():
            part = form.assemble(basis, **_per_point(idx, nqp, coeffs))
            out[name] = part if name not in out else out[name] + part
    return {name: gm.to_grid_order(value) for name, value in out.items()}


def assemble_matrix(gm: GridMesh, form: BilinearForm, quadrature, **element_coeffs) -> sp.csr_matrix:
    """One bilinear form (element-constant coefficients given per element), in grid order."""
    return assemble(gm, quadrature, matrices={"a": (form, element_coeffs)})["a"]


def assemble_vector(gm: GridMesh, form: LinearForm, quadrature, **element_coeffs) -> np.ndarray:
    """One linear form, in grid order."""
    return assemble(gm, quadrature, vectors={"a": (form, element_coeffs)})["a"]


def boundary_facets(gm: GridMesh, axes) -> np.ndarray:
    """Boundary facets on the two faces of each axis in ``axes``."""
    top = (np.array(gm.shape) - 1) * gm.spacing_m
    tol = 1e-6 * gm.spacing_m

    def on_face(x):
        hit = np.zeros(x.shape[1:], bool)
        for a in axes:
            hit |= (np.abs(x[a]) < tol) | (np.abs(x[a] - top[a]) < tol)
        return hit

    return gm.mesh.facets_satisfying(on_face, boundaries_only=True)


def boundary_operator(gm: GridMesh, axes, nodal_coeff: np.ndarray, lumped: bool):
    """``int_G coeff phi_i [phi_j]`` over the faces of ``axes``: a vector (lumped) or a matrix, in grid order.

    ``nodal_coeff`` is a padded-grid nodal field (interpolated with the Q1 shape functions on the facets).
    """
    n = gm.n_nodes
    facets = boundary_facets(gm, tuple(axes)) if axes else np.zeros(0, np.int64)
    if facets.size == 0:
        return np.zeros(n) if lumped else sp.csr_matrix((n, n))
    fb = FacetBasis(gm.mesh, gm.element, facets=facets, intorder=2)
    g = fb.interpolate(gm.to_nodes(nodal_coeff))
    if lumped:
        return gm.to_grid_order(LinearForm(lambda v, w: w.g * v).assemble(fb, g=g))
    return gm.to_grid_order(BilinearForm(lambda u, v, w: w.g * u * v).assemble(fb, g=g))


def reference_eigenvalue(ndim: int, quadrature_kind: str) -> float:
    """Largest eigenvalue of ``m^-1 K`` on one unit cell (unit coefficients, lumped mass ``m``)."""
    from tfus.pipeline.engines.fem.mesh import build_grid_mesh
    from tfus.pipeline.engines.field import MediumGrid

    gm = build_grid_mesh(MediumGrid.homogeneous((2,) * ndim, spacing_mm=1e3))  # one cell of 1 m
    q = quadrature_rule(quadrature_kind, ndim)
    ones = np.ones(1)
    k = assemble_matrix(gm, stiffness_form(), q, ak=ones).toarray()
    m = assemble_vector(gm, lumped_form(), q, am=ones)
    s = 1.0 / np.sqrt(m)
    return float(np.linalg.eigvalsh(s[:, None] * k * s[None, :]).max())


def stable_time_step(gm: GridMesh, ak: np.ndarray, am: np.ndarray, quadrature_kind: str) -> float:
    """Certified largest stable leapfrog step ``2 / sqrt(lambda_max)`` for the lumped-mass system.

    By the element eigenvalue theorem (Irons & Treharne 1971) ``lambda_max(m^-1 K) <= max_e lambda_max(m_e^-1 K_e) =
    (lambda_ref / h^2) max_e (ak_e / am_e)``, where ``ak_e / am_e <= c_max^2`` on each element. On a uniform medium
    the bound is attained (the checkerboard mode): ``dt <= 0.866 h / c`` (modified rule) and ``h / c`` (Gauss).
    Diagonal damping (absorbing boundary, sponge) treated by central differences does not lower the limit.
    """
    lam = reference_eigenvalue(gm.ndim, quadrature_kind) / gm.spacing_m**2 * float(np.max(ak / am))
    return 2.0 / np.sqrt(lam)
