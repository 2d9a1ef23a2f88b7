"""Settings of the finite-element engine and the checks made before any work.

Two frozen dataclasses: :class:`FemConfig` for the explicit time-domain solver and :class:`FemHelmholtzConfig` for
the frequency-domain (Helmholtz) solver. Both refuse impossible values with a one-line
:class:`~tfus.pipeline.errors.TfusInputError`.

Quadrature of the element integrals (``quadrature``):

* ``"gauss"`` — standard Q1 (2x2[x2] Gauss): phase error O((kh)^2), anisotropic (see :mod:`.dispersion`).
* ``"modified"`` (default) — the 1D two-point rule at ``1/2 +- sqrt(2/3)/2`` (Guddati & Yue 2004, "Modified
  integration rules for reducing dispersion error in finite element methods", CMAME 193) in every direction: with
  both stiffness and consistent mass so integrated the phase error is O((kh)^4); with the lumped mass its leading
  term is isotropic (``(1 - cfl^2) (kh)^2 / 24`` for leapfrog), which the frequency correction
  (``dispersion_correction``, :mod:`.dispersion`) then removes: O((kh)^4) left.

Example:
    >>> FemConfig(frequency_hz=5e5).periods_recorded, FemHelmholtzConfig().mass
    (3, 'lumped')
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

from tfus.pipeline.errors import TfusInputError, dataclass_from_mapping

QUADRATURES = ("modified", "gauss")
MASSES = ("consistent", "lumped")
INTERPOLATIONS = ("cubic", "linear")


def _positive(value, what: str, allow_zero: bool = False) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        sign = "nonnegative" if allow_zero else "positive"
        raise TfusInputError(f"FE setting {what} must be a {sign} number, got {value!r}")


def _check_axes(axes) -> None:
    if axes is None:
        return
    if not isinstance(axes, tuple) or not all(isinstance(a, int) and 0 <= a <= 2 for a in axes):
        raise TfusInputError(f"absorbing_axes must be None or a tuple of axis numbers 0-2, got {axes!r}")


def _check_interpolation(value) -> None:
    if value not in INTERPOLATIONS:
        raise TfusInputError(f"unknown source_interpolation {value!r}; use one of {', '.join(INTERPOLATIONS)}")


@dataclass(frozen=True)
class FemConfig:
    """How to run the explicit time-domain FE solver.

    Attributes:
        frequency_hz: Driving frequency; None takes the bowl's (a point source needs it given).
        cfl: Courant number ``c_max dt / h``; None (default): 95 % of the certified stability limit (element
            eigenvalue bound, :func:`~tfus.pipeline.engines.fem.assembly.stable_time_step`: 0.866 with the modified
            rule and 1.0 with Gauss on a uniform medium, lower at density contrasts). A value above the limit is
            refused. dt is then rounded down so that one period is a whole number of steps. With the dispersion
            correction the accuracy hardly depends on it.
        time_step_s: Explicit time step instead of ``cfl`` (rounded down to a whole number of steps per period);
            refused if above the stability limit.
        periods_recorded: Whole periods at the end over which amplitude and phase are taken (single-bin DFT).
        ramp_periods: Raised-cosine ramp of the source, in periods.
        settle_transits: Time simulated after the ramp and before recording, in travel times of the (padded)
            domain diagonal at the slowest sound speed.
        sponge_wavelengths: Thickness of the damping layer added outside the medium grid, in wavelengths at the
            largest sound speed (0: none).
        sponge_reflection: Design round-trip amplitude of the damping layer, ``exp(-sigma_max L / (3 c))``.
        absorbing_boundary: First-order absorbing (Engquist-Majda) condition on the outer boundary.
        absorbing_axes: Axes whose two faces absorb (sponge + boundary condition); the faces of the other axes are
            rigid walls (zero normal velocity; a mirror). None: all axes.
        quadrature: ``"modified"`` or ``"gauss"`` (module docstring).
        dispersion_correction: Scale the compressibilities (per node) and the source strengths so that the discrete
            wavenumber along the grid axes and the far-field amplitude are exact at the driving frequency
            (:mod:`.dispersion`); off: the plain Galerkin scheme.
        source_interpolation: How off-node source points are spread onto the nodes: ``"cubic"`` (4-point Lagrange
            per axis, accurate to O((kh)^4)) or ``"linear"`` (Q1 shape functions; low-passes an off-node source by up
            to ``cos(kh/2)``), see :mod:`.source`.
        progress_every: Steps between progress callbacks.
    """

    frequency_hz: float | None = None
    cfl: float | None = None
    time_step_s: float | None = None
    periods_recorded: int = 3
    ramp_periods: float = 3.0
    settle_transits: float = 1.5
    sponge_wavelengths: float = 1.5
    sponge_reflection: float = 1e-2
    absorbing_boundary: bool = True
    absorbing_axes: tuple[int, ...] | None = None
    quadrature: str = "modified"
    dispersion_correction: bool = True
    source_interpolation: str = "cubic"
    progress_every: int = 50

    @classmethod
    def from_mapping(cls, data, where: str = "fem") -> FemConfig:
        """Settings from a parsed YAML mapping, checked like every tfus config (unknown keys name the allowed ones;
        :func:`tfus.pipeline.errors.dataclass_from_mapping`).

        Example:
            >>> FemConfig.from_mapping({"cfl": 0.5}).cfl
            0.5
        """
        return dataclass_from_mapping(cls, data, where=where)

    def __post_init__(self) -> None:
        if self.frequency_hz is not None:
            check_frequency(self.frequency_hz)
        if self.cfl is not None:
            _positive(self.cfl, "cfl")
        if self.time_step_s is not None:
            _positive(self.time_step_s, "time_step_s")
        if not isinstance(self.periods_recorded, int) or self.periods_recorded < 1:
            raise TfusInputError(f"periods_recorded must be a whole number >= 1, got {self.periods_recorded!r}")
        _positive(self.ramp_periods, "ramp_periods", allow_zero=True)
        _positive(self.settle_transits, "settle_transits")
        _positive(self.sponge_wavelengths, "sponge_wavelengths", allow_zero=True)
        if not 0 < self.sponge_reflection < 1:
            raise TfusInputError(f"sponge_reflection must be in (0, 1), got {self.sponge_reflection!r}")
        _check_axes(self.absorbing_axes)
        if self.quadrature not in QUADRATURES:
            raise TfusInputError(f"unknown quadrature {self.quadrature!r}; use one of {', '.join(QUADRATURES)}")
        _check_interpolation(self.source_interpolation)
        if not isinstance(self.progress_every, int) or self.progress_every < 1:
            raise TfusInputError(f"progress_every must be a whole number >= 1, got {self.progress_every!r}")


@dataclass(frozen=True)
class FemHelmholtzConfig:
    """How to run the frequency-domain (Helmholtz) FE solver.

    Attributes:
        pml_wavelengths: Thickness of the perfectly matched layer added outside the medium grid, in wavelengths at
            the largest sound speed (0: none, only the Robin condition).
        pml_reflection: Design normal-incidence reflection of the continuous PML, ``exp(-2 sigma_max L / (3 c))``.
        robin: First-order absorbing (Robin) condition ``dp/dn = -i k p`` on the outer boundary.
        absorbing_axes: As in :class:`FemConfig`; faces of the other axes are rigid walls.
        quadrature: ``"modified"`` or ``"gauss"``.
        mass: ``"lumped"`` (default; each node's own voxel compressibility, the most accurate at interfaces and,
            corrected, in homogeneous media) or ``"consistent"`` (element-mean compressibility).
        dispersion_correction: As in :class:`FemConfig`.
        source_interpolation: As in :class:`FemConfig`.
    """

    pml_wavelengths: float = 1.5
    pml_reflection: float = 1e-6
    robin: bool = True
    absorbing_axes: tuple[int, ...] | None = None
    quadrature: str = "modified"
    mass: str = "lumped"
    dispersion_correction: bool = True
    source_interpolation: str = "cubic"

    @classmethod
    def from_mapping(cls, data, where: str = "fem") -> FemHelmholtzConfig:
        """Settings from a parsed YAML mapping, checked like every tfus config (unknown keys name the allowed ones;
        :func:`tfus.pipeline.errors.dataclass_from_mapping`).

        Example:
            >>> FemHelmholtzConfig.from_mapping({"mass": "lumped"}).mass
            'lumped'
        """
        return dataclass_from_mapping(cls, data, where=where)

    def __post_init__(self) -> None:
        _positive(self.pml_wavelengths, "pml_wavelengths", allow_zero=True)
        if not 0 < self.pml_reflection < 1:
            raise TfusInputError(f"pml_reflection must be in (0, 1), got {self.pml_reflection!r}")
        _check_axes(self.absorbing_axes)
        if self.quadrature not in QUADRATURES:
            raise TfusInputError(f"unknown quadrature {self.quadrature!r}; use one of {', '.join(QUADRATURES)}")
        _check_interpolation(self.source_interpolation)
        if self.mass not in MASSES:
            raise TfusInputError(f"unknown mass {self.mass!r}; use one of {', '.join(MASSES)}")


def check_frequency(frequency_hz) -> float:
    """A positive finite frequency in Hz, else TfusInputError."""
    ok = isinstance(frequency_hz, numbers.Real) and not isinstance(frequency_hz, bool)
    if not ok or not math.isfinite(frequency_hz) or frequency_hz <= 0:
        raise TfusInputError(f"frequency must be a positive number of Hz, got {frequency_hz!r}")
    return float(frequency_hz)


def check_points_per_wavelength(min_sound_speed: float, frequency_hz: float, spacing_mm: float) -> float:
    """Points per wavelength in the slowest medium: refused below 2, warned below 3. Q1 elements need ~6 or more for
    a few % phase error over ten wavelengths (:mod:`.dispersion`)."""
    ppw = min_sound_speed / frequency_hz / (spacing_mm * 1e-3)
    if ppw < 2.0:
        raise TfusInputError(f"grid too coarse: {ppw:.2f} points per wavelength in the slowest medium (need >= 2, "
                             f"better >= 6); use a spacing below {min_sound_speed / frequency_hz * 1e3 / 6:.3g} mm")
    if ppw < 3.0:
        warnings.warn(f"only {ppw:.2f} points per wavelength in the slowest medium: the FE phase error will be large "
                      "(tens of %); use >= 6", stacklevel=3)
    return float(ppw)
