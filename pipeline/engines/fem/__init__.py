"""Finite-element wave engine (scikit-fem, Q1 on the voxel grid): explicit time domain and Helmholtz.

Both solvers take a :class:`~tfus.pipeline.engines.field.MediumGrid` and a source from
:mod:`tfus.pipeline.engines.sources` and return a :class:`~tfus.pipeline.engines.field.SteadyStateField` on the
medium grid (mesh nodes = voxel centres). Absorption (``alpha_coeff``, ``alpha_power``) is applied at the driving
frequency: a complex wavenumber in the Helmholtz solver, a damping term in the time domain.

Example:
    >>> from tfus.pipeline.engines.field import MediumGrid
    >>> from tfus.pipeline.engines.fem import FemConfig, simulate_fem_time
    >>> from tfus.pipeline.engines.sources import PointSource
    >>> m = MediumGrid.homogeneous((31, 31), spacing_mm=0.5)
    >>> field = simulate_fem_time(m, PointSource([0.0, 0.0], 1e-4), FemConfig(frequency_hz=3e5))
    >>> field.meta["steps_per_period"], field.amplitude.shape
    (13, (31, 31))
"""

from tfus.pipeline.engines.fem.config import FemConfig, FemHelmholtzConfig, check_points_per_wavelength
from tfus.pipeline.engines.fem.dispersion import phase_error_range
from tfus.pipeline.engines.fem.helmholtz import simulate_fem_helmholtz
from tfus.pipeline.engines.fem.mesh import GridMesh, build_grid_mesh
from tfus.pipeline.engines.fem.timedomain import (
    build_time_system,
    fem_time_steady_state,
    run_time_steps,
    simulate_fem_time,
)
from tfus.pipeline.engines.sources import BowlSource, PointSource

__all__ = [
    "BowlSource",
    "FemConfig",
    "FemHelmholtzConfig",
    "GridMesh",
    "PointSource",
    "build_grid_mesh",
    "build_time_system",
    "check_points_per_wavelength",
    "fem_time_steady_state",
    "phase_error_range",
    "run_time_steps",
    "simulate_fem_helmholtz",
    "simulate_fem_time",
]
