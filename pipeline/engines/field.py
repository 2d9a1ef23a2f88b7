"""Engine-independent data: the acoustic medium on a grid and the steady-state field an engine returns.

Both engines (k-Wave and FE) take a :class:`MediumGrid` and return a :class:`SteadyStateField` on the same grid, so
their fields compare voxel by voxel. Arrays are indexed (i, j[, k]); ``affine`` maps indices to world millimetres
(RAS in 3D; the first two world axes in 2D).

Example:
    >>> import numpy as np
    >>> m = MediumGrid.homogeneous((8, 8), spacing_mm=0.5)
    >>> m.ndim, m.spacing_mm, float(m.sound_speed.max())
    (2, 0.5, 1500.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tfus.pipeline.errors import TfusInputError


@dataclass(frozen=True, eq=False)
class MediumGrid:
    """Acoustic medium on an isotropic grid: sound speed (m/s), density (kg/m^3), absorption alpha_coeff
    (dB/(MHz^y cm)) with power law exponent ``alpha_power`` (y), and the grid's affine (index -> world mm)."""

    sound_speed: np.ndarray
    density: np.ndarray
    alpha_coeff: np.ndarray
    alpha_power: float
    affine: np.ndarray

    def __post_init__(self) -> None:
        shape = self.sound_speed.shape
        if self.sound_speed.ndim not in (2, 3):
            raise TfusInputError(f"the medium must be 2D or 3D, got {self.sound_speed.ndim}D")
        for name in ("density", "alpha_coeff"):
            if np.shape(getattr(self, name)) != shape:
                raise TfusInputError(f"medium {name} has shape {np.shape(getattr(self, name))}, expected {shape}")
        if np.asarray(self.affine).shape != (self.ndim + 1, self.ndim + 1):
            raise TfusInputError(f"a {self.ndim}D medium needs a {self.ndim + 1}x{self.ndim + 1} affine")
        if not np.all(np.isfinite(self.sound_speed)) or float(np.min(self.sound_speed)) <= 0:
            raise TfusInputError("sound speed must be positive and finite everywhere")
        if not np.all(np.isfinite(self.density)) or float(np.min(self.density)) <= 0:
            raise TfusInputError("density must be positive and finite everywhere")

    @property
    def ndim(self) -> int:
        return self.sound_speed.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.sound_speed.shape)

    @property
    def spacing_mm(self) -> float:
        return float(np.mean(np.linalg.norm(np.asarray(self.affine)[: self.ndim, : self.ndim], axis=0)))

    def index_to_world(self, ijk: np.ndarray) -> np.ndarray:
        a = np.asarray(self.affine, float)
        return np.asarray(ijk, float) @ a[: self.ndim, : self.ndim].T + a[: self.ndim, self.ndim]

    def world_to_index(self, xyz: np.ndarray) -> np.ndarray:
        inv = np.linalg.inv(np.asarray(self.affine, float))
        return np.asarray(xyz, float) @ inv[: self.ndim, : self.ndim].T + inv[: self.ndim, self.ndim]

    @classmethod
    def homogeneous(cls, shape: tuple[int, ...], spacing_mm: float, sound_speed: float = 1500.0,
                    density: float = 1000.0, alpha_coeff: float = 0.0, alpha_power: float = 2.0,
                    origin_mm: tuple[float, ...] | None = None) -> MediumGrid:
        """A uniform medium (water by default) on a grid of ``shape``; ``origin_mm`` is the world position of index
        0 (default: the grid centre at the world origin)."""
        nd = len(shape)
        affine = np.eye(nd + 1)
        affine[:nd, :nd] *= spacing_mm
        if origin_mm is None:
            origin_mm = tuple(-(n - 1) * spacing_mm / 2 for n in shape)
        affine[:nd, nd] = origin_mm
        full = lambda v: np.full(shape, v, np.float32)  # noqa: E731
        return cls(full(sound_speed), full(density), full(alpha_coeff), alpha_power, affine)


@dataclass(frozen=True, eq=False)
class SteadyStateField:
    """Continuous-wave steady state: pressure amplitude (Pa) and phase (rad) at ``frequency_hz`` on the medium grid."""

    amplitude: np.ndarray
    phase: np.ndarray
    affine: np.ndarray
    frequency_hz: float
    meta: dict = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return self.amplitude.ndim

    @property
    def complex(self) -> np.ndarray:
        return self.amplitude * np.exp(1j * self.phase)
