"""Frequency-domain FE solver: Q1 Helmholtz with a PML and a Robin condition, by a sparse direct solve.

With ``p(t) = Re(P exp(i w t))`` (the cosine convention of :class:`SteadyStateField`) the wave equation becomes
``-div((1/rho) grad P) - (k^2/rho) P = i w Q`` with the complex wavenumber ``k = w/c - i alpha`` per node
(``alpha`` the absorption at ``w`` in Np/m, :func:`~.timedomain.absorption_np_per_m`; outgoing ``exp(i (w t - k r))``
decays as ``exp(-alpha r)``). Weak form on the padded mesh (:mod:`.assembly`)::

    (K_s - w^2 M_s + i w B) P = i w load

``K_s``, ``M_s``: stiffness and mass (``w^2/c^2`` replaced by ``k^2``; lumped by default, as in the time domain; or
consistent) with the PML stretch (:mod:`.layers`) in the layer added outside the medium grid; ``B``: consistent
boundary mass of ``1/(rho c)`` from ``dP/dn = -i (w/c) P`` (real wavenumber) on the outer faces of the absorbing
axes; ``load``: the volume-velocity load (:mod:`.source`).
The dispersion correction (:mod:`.dispersion`) scales compressibilities and source strengths at ``w``.

Solved with ``scipy.sparse.linalg.splu`` (one BLAS thread, :mod:`.blas`): fast in 2D (10^5 nodes in about a second);
in 3D the fill-in grows fast (measured on 2 cores: 24k nodes 18 s / 1.2 GB, 51k nodes 85 s / 3.3 GB), so 3D runs
above ``LARGE_3D_NODES`` are warned about: use the time-domain solver there.

Example:
    >>> from tfus.pipeline.engines.field import MediumGrid
    >>> from tfus.pipeline.engines.sources import PointSource
    >>> m = MediumGrid.homogeneous((41, 41), spacing_mm=0.5)
    >>> f = simulate_fem_helmholtz(m, PointSource([0.0, 0.0], 1e-4), 3e5)
    >>> f.amplitude.shape, f.meta["engine"]
    ((41, 41), 'fem-helmholtz')
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse.linalg as spla

from tfus.pipeline.engines.fem.assembly import (
    assemble,
    boundary_operator,
    lumped_form,
    mass_form,
    quadrature_rule,
    stiffness_form,
)
from tfus.pipeline.engines.fem.blas import single_blas_thread
from tfus.pipeline.engines.fem.config import FemHelmholtzConfig, check_points_per_wavelength
from tfus.pipeline.engines.fem.dispersion import correction_factors
from tfus.pipeline.engines.fem.layers import Layers, layer_cells
from tfus.pipeline.engines.fem.mesh import build_grid_mesh, check_isotropic
from tfus.pipeline.engines.fem.source import resolve_frequency, source_load
from tfus.pipeline.engines.fem.timedomain import absorbing_axes, absorption_np_per_m, material, to_field
from tfus.pipeline.engines.field import MediumGrid, SteadyStateField

#: Above this many nodes a 3D direct solve is slow (warned).
LARGE_3D_NODES = 30_000


def simulate_fem_helmholtz(medium: MediumGrid, source, frequency_hz: float | None = None,
                           config: FemHelmholtzConfig | None = None) -> SteadyStateField:
    """Steady-state CW field (amplitude Pa, phase rad) of ``source`` in ``medium`` from the Helmholtz equation.

    Args:
        medium: The medium (2D or 3D, isotropic grid); absorption by a complex wavenumber at the frequency.
        source: :class:`~tfus.pipeline.engines.sources.BowlSource` or
            :class:`~tfus.pipeline.engines.sources.PointSource`.
        frequency_hz: Frequency; None takes the bowl's.
        config: :class:`~tfus.pipeline.engines.fem.config.FemHelmholtzConfig`.

    Raises:
        TfusInputError: nonpositive frequency, grid too coarse, source outside the grid.
    """
    config = config or FemHelmholtzConfig()
    start = time.perf_counter()
    f = resolve_frequency(source, frequency_hz)
    h = check_isotropic(medium) * 1e-3
    c_min, c_max = float(np.min(medium.sound_speed)), float(np.max(medium.sound_speed))
    ppw = check_points_per_wavelength(c_min, f, medium.spacing_mm)
    axes = absorbing_axes(config.absorbing_axes, medium.ndim)
    cells = layer_cells(config.pml_wavelengths, c_max / f, h)
    gm = build_grid_mesh(medium, tuple(cells if a in axes else 0 for a in range(medium.ndim)))
    if gm.ndim == 3 and gm.n_nodes > LARGE_3D_NODES:
        warnings.warn(f"3D Helmholtz with {gm.n_nodes} nodes: the sparse LU needs minutes and GBs (measured: 24k nodes "
                      "18 s / 1.2 GB, 51k nodes 85 s / 3.3 GB); simulate_fem_time is far cheaper in 3D", stacklevel=2)
    mat = material(medium, gm)
    omega = 2 * np.pi * f
    kh = omega * h / mat["c"]
    alpha_np = absorption_np_per_m(medium, gm, f)
    lossy = bool(np.any(alpha_np > 0))
    # Absorption: w^2/(rho c^2) -> (w/c - i alpha)^2 / rho = (w^2/(rho c^2)) q^2 with q = 1 - i alpha c / w.
    q_node = 1.0 - 1j * alpha_np * mat["c"] / omega if lossy else None
    q_elem = gm.element_mean(q_node) if lossy else None
    scale = None
    if config.dispersion_correction:
        c_elem = np.sqrt(mat["ak"] / mat["am"])
        kh_elem = omega * h / c_elem
        if lossy:  # corrected at the complex wavenumber: the discrete kappa along the axes is exact
            mat["am"] = mat["am"] * correction_factors(kh_elem * q_elem, config.quadrature, "consistent")[0] * q_elem**2
            mat["a"] = mat["a"] * correction_factors(kh * q_node, config.quadrature, "lumped")[0] * q_node**2
        else:
            mat["am"] = mat["am"] * correction_factors(kh_elem, config.quadrature, "consistent")[0]
            mat["a"] = mat["a"] * correction_factors(kh, config.quadrature, "lumped")[0]
        scale = lambda c: correction_factors(omega * h / c, config.quadrature, config.mass)[1]  # noqa: E731
    elif lossy:
        mat["am"] = mat["am"] * q_elem**2
        mat["a"] = mat["a"] * q_node**2
    load, src_meta = source_load(medium, gm, source, mat["rho"], mat["c"], scale,
                                 config.source_interpolation)

    stretch = Layers.of(gm, axes).stretch(omega, c_max, config.pml_reflection) if max(gm.pad) > 0 else None
    q = quadrature_rule(config.quadrature, medium.ndim)
    matrices = {"K": (stiffness_form(stretch), {"ak": mat["ak"]})}
    vectors = {}
    if config.mass == "consistent":
        matrices["M"] = (mass_form(stretch, complex if lossy else float), {"am": mat["am"]})
    else:
        vectors["g"] = (lumped_form(stretch), {"am": np.ones(gm.mesh.nelements)})
    ops = assemble(gm, q, matrices=matrices, vectors=vectors)
    a = ops["K"].astype(complex)
    if config.mass == "consistent":
        a -= omega**2 * ops["M"]
    else:
        a.setdiag(a.diagonal() - omega**2 * ops["g"] * mat["a"].reshape(-1))
    if config.robin:
        a += 1j * omega * boundary_operator(gm, axes, 1.0 / (mat["rho"] * mat["c"]), lumped=False)
    setup = time.perf_counter() - start
    with single_blas_thread():
        z = spla.splu(a.tocsc()).solve(1j * omega * load.astype(complex))
    meta = {"engine": "fem-helmholtz", "points_per_wavelength": ppw, "pad_cells": gm.pad, "nodes": gm.n_nodes,
            "quadrature": config.quadrature, "mass": config.mass, "absorbing_axes": axes,
            "dispersion_correction": config.dispersion_correction,
            "absorption": "complex wavenumber at the frequency" if lossy else "none (alpha_coeff 0)",
            "setup_s": setup, "solve_s": time.perf_counter() - start - setup,
            **src_meta}
    return to_field(z, gm, medium, f, meta)
