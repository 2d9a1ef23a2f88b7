"""Inputs of the time-resolved surrogate (:class:`~tfus.surrogates.networks.nets.sep4d.Sep4dUNet`): the one place
that turns a head, a transducer pose and the snapshot times into network inputs, for the training dataset,
evaluation and ``tfus predict`` alike. Built on :func:`tfus.surrogates.data.inputs.model_inputs` (the CT and the
bowl points of every surrogate).

Axes: the store keeps ``(t, x, y, z)``; the network works on ``(T, Z, Y, X)`` so its in-plane kernels act on axial
(x, y) slices and its z-branch along z; :func:`to_model_axes` converts (it is its own inverse).

Channels (what makes the problem learnable for a convolutional network, whose receptive field cannot reach a bowl
outside the grid nor know when its wave left):

* ``ct``: the normalised CT (static);
* geometry (static): the rasterised bowl surface (1 where a surface point falls in a voxel) and the distance to the
  geometric focus over the radius of curvature, ``|x - F| / R``;
* wave (per snapshot): the source waveform at each voxel's geometric retarded time ``tau = t - d(x) / c_water``,
  where ``d = R - |x - F|`` before the focal plane and ``R + |x - F|`` beyond it is the path of the focused spherical
  wavefront from the bowl: envelope ``e(tau)``, in-phase ``e sin(2 pi f tau)`` and quadrature ``e cos(2 pi f tau)``.
  ``e`` is the engine's drive: a Hann window over ``burst_cycles`` periods (tone burst) or the raised-cosine ramp of
  the continuous wave (1 in the steady state). Exact in water inside the beam's geometric cone; the network learns
  the skull's delay, attenuation and the diffraction around it.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> from tfus.surrogates.normalization import Normalization
    >>> affine = np.eye(4); affine[:3, 3] = -8
    >>> bowl, pose = BowlTransducer("b", 10.0, 10.0, 5e5, 6e4), Pose([0, 0, -10.0], [0, 0, 0.0])
    >>> x = snapshot_inputs(np.zeros((16, 16, 12), np.float32), affine, bowl, pose, Normalization(),
    ...                     np.linspace(0, 2e-5, 4), WaveSource(5e5, burst_cycles=3), n_points=64)
    >>> x.ct.shape, x.geometry.shape, x.wave.shape
    ((1, 12, 16, 16), (2, 12, 16, 16), (3, 4, 12, 16, 16))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.data.inputs import model_inputs
from tfus.surrogates.normalization import Normalization, grid_to_index

__all__ = ["C_WATER_M_S", "SnapshotInputs", "WaveSource", "focal_path_mm", "snapshot_inputs", "source_envelope",
           "surface_raster", "to_model_axes"]

C_WATER_M_S = 1500.0  #: coupling-water sound speed of the simulations (tfus.pipeline.engines.problem.WATER)


def to_model_axes(a):
    """Reverse the last three axes: store ``(..., x, y, z)`` <-> model ``(..., z, y, x)`` (numpy or torch)."""
    return a.transpose(-1, -3) if hasattr(a, "detach") else np.swapaxes(a, -1, -3)


@dataclass(frozen=True)
class WaveSource:
    """How the simulations drove the bowl (from the store's creation config, or a checkpoint).

    Attributes:
        frequency_hz: driving frequency.
        burst_cycles: Hann tone burst of this many cycles (0: continuous wave).
        ramp_periods: raised-cosine ramp of the continuous wave, in periods.
    """

    frequency_hz: float
    burst_cycles: int = 0
    ramp_periods: float = 3.0

    @classmethod
    def from_store_attrs(cls, attrs: Mapping[str, Any], frequency_hz: float) -> WaveSource:
        """From a store's root attributes (its ``creation_config.simulation.kwave``, k-Wave defaults otherwise)."""
        from tfus.pipeline.engines.kwave.config import KWaveConfig

        sim = dict((attrs.get("creation_config") or {}).get("simulation") or {})
        kwave = {**KWaveConfig().__dict__, **dict(sim.get("kwave") or {})}
        return cls(float(frequency_hz), int(kwave["burst_cycles"]), float(kwave["ramp_periods"]))

    def to_dict(self) -> dict:
        return {"frequency_hz": self.frequency_hz, "burst_cycles": self.burst_cycles,
                "ramp_periods": self.ramp_periods}


def source_envelope(tau_s: np.ndarray, source: WaveSource) -> np.ndarray:
    """The drive's envelope at times ``tau_s`` (0 before the source starts), as the k-Wave engine drives it."""
    tau = np.asarray(tau_s, float)
    f = source.frequency_hz
    if source.burst_cycles > 0:
        length = source.burst_cycles / f
        return np.where((tau >= 0) & (tau < length), np.sin(np.pi * np.clip(tau, 0, length) / length) ** 2, 0.0)
    ramp = source.ramp_periods / f
    if ramp == 0:
        return (tau >= 0).astype(float)
    return np.where(tau < 0, 0.0, np.where(tau < ramp, 0.5 * (1 - np.cos(np.pi * np.clip(tau, 0, ramp) / ramp)), 1.0))


def focal_path_mm(xyz_mm: np.ndarray, transducer: BowlTransducer, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """``(d, r)``: the focused wavefront's path from the bowl to each point, ``R -+ |x - F|`` (before / beyond the
    focal plane), and the distance ``r = |x - F|`` to the geometric focus ``F`` (mm; points ``(..., 3)``)."""
    focus = np.asarray(pose.apex, float) + transducer.radius_of_curvature_mm * np.asarray(pose.axis, float)
    rel = np.asarray(xyz_mm, float) - focus
    r = np.linalg.norm(rel, axis=-1)
    beyond = rel @ np.asarray(pose.axis, float) > 0
    return transducer.radius_of_curvature_mm + np.where(beyond, r, -r), r


def surface_raster(points_grid: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """1 in every voxel of ``shape`` that a bowl point (``(N, 3)`` in [-1, 1] grid coordinates) falls in."""
    idx = np.rint(grid_to_index(np.asarray(points_grid, float), shape)).astype(int)
    inside = np.all((idx >= 0) & (idx < np.asarray(shape)), axis=1)
    out = np.zeros(tuple(shape), np.float32)
    out[tuple(idx[inside].T)] = 1.0
    return out


@dataclass(frozen=True, eq=False)
class SnapshotInputs:
    """Model-axis inputs: ``ct`` (1, Z, Y, X), ``geometry`` (2, Z, Y, X), ``wave`` (3, T, Z, Y, X), float32."""

    ct: np.ndarray
    geometry: np.ndarray
    wave: np.ndarray


def snapshot_inputs(hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                    normalization: Normalization, times_s: Sequence[float], source: WaveSource, n_points: int,
                    c_water: float = C_WATER_M_S) -> SnapshotInputs:
    """The inputs of one head, pose and set of snapshot times (see the module docstring); ``hu`` in store axes."""
    hu = np.asarray(hu, np.float32)
    times = np.asarray(times_s, float)
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
        raise TfusInputError(f"snapshot times must be a non-empty list of finite seconds, got shape {times.shape}")
    base = model_inputs(hu, affine, transducer, pose, normalization, n_points)
    ijk = np.indices(hu.shape, dtype=float).reshape(3, -1).T
    xyz = ijk @ np.asarray(affine, float)[:3, :3].T + np.asarray(affine, float)[:3, 3]
    d, r = (a.reshape(hu.shape) for a in focal_path_mm(xyz, transducer, pose))
    geometry = np.stack([surface_raster(base.points, hu.shape), r / transducer.radius_of_curvature_mm])
    tau = times[:, None, None, None] - (d * 1e-3 / c_water)[None]
    env = source_envelope(tau, source)
    phase = 2 * np.pi * source.frequency_hz * tau
    wave = np.stack([env, env * np.sin(phase), env * np.cos(phase)])
    return SnapshotInputs(ct=np.ascontiguousarray(to_model_axes(base.ct), np.float32),
                          geometry=np.ascontiguousarray(to_model_axes(geometry), np.float32),
                          wave=np.ascontiguousarray(to_model_axes(wave), np.float32))
