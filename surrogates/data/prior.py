"""A physics prior for the surrogates: the bowl's free field in water on the model's grid, as an extra input channel.

A convolutional network trained on a few dozen fields cannot discover from the transducer's surface points alone
where a focused bowl puts its focus and how wide the beam is; the wave physics in water can say it exactly. The prior
is the Rayleigh integral of the bowl at its pose (every voxel, water, no skull), normalised like the target
(:meth:`Normalization.field`: peak-normalised log map in [0, 1]). The network then only has to learn what the skull
and the head do to that beam (attenuation, aberration, shift of the focus). Switched on per model with
``free_field_prior: true`` in the DeepTFUS config; the prior is then computed by :func:`model_inputs` for training,
evaluation and ``tfus predict`` alike.

The sum runs in float32 torch (phase exact to ~1e-5 rad at k r ~ 200) over source points at ``points_per_wavelength``
on the cap (:func:`tfus.pipeline.validation.rayleigh.bowl_quadrature`); at the default 3 points per wavelength the
amplitude is within ~4 % of the converged (8 points per wavelength) sum everywhere on the demo grid, worst next to the
cap: an input feature, not a reference field. The map is cached per pose and grid in each process.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> affine = np.diag([2.0, 2.0, 2.0, 1.0]); affine[:3, 3] = -32
    >>> bowl = BowlTransducer("b", 30.0, 30.0, 5e5, 6e4)
    >>> amp = free_field_amplitude(bowl, Pose([0, 0, -30.0], [0, 0, 0.0]), affine, (32, 32, 32))
    >>> np.unravel_index(int(amp.argmax()), amp.shape)[:2]   # focus on the axis x = y = 0 (voxel 16)
    (np.int64(16), np.int64(16))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.pipeline.transducers.pose import orthonormal_frame
from tfus.pipeline.validation.rayleigh import bowl_quadrature
from tfus.surrogates.normalization import Normalization

__all__ = ["free_field_amplitude", "free_field_prior"]

WATER_SOUND_SPEED = 1500.0


def _voxel_centres_mm(affine: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """World mm of every voxel centre, ``(prod(shape), 3)``; a 2D grid lies in the plane of its affine's first two
    columns."""
    dims = len(shape)
    if dims not in (2, 3):
        raise TfusInputError(f"the free-field prior needs a 2D or 3D grid, got shape {tuple(shape)}")
    idx = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij"), -1).reshape(-1, dims)
    a = np.asarray(affine, float)
    if a.shape == (4, 4) and dims == 2:
        idx = np.column_stack([idx, np.zeros(len(idx))])
    elif a.shape != (dims + 1, dims + 1) and a.shape != (4, 4):
        raise TfusInputError(f"affine of shape {a.shape} does not fit a {dims}D grid")
    world = idx @ a[:-1, :-1].T + a[:-1, -1]
    if world.shape[1] == 2:
        world = np.column_stack([world, np.zeros(len(world))])
    return world


def free_field_amplitude(transducer: BowlTransducer, pose: Pose, affine: np.ndarray, shape: Sequence[int], *,
                         sound_speed: float = WATER_SOUND_SPEED, points_per_wavelength: float = 3.0,
                         chunk: int = 16384) -> np.ndarray:
    """Pressure amplitude (Pa) of the bowl in water at every voxel of a grid, ``shape`` float32.

    Args:
        transducer: the bowl (its ``frequency_hz`` is the driving frequency).
        pose: apex and target in world mm.
        affine: voxel -> world mm.
        shape: the grid.
        sound_speed: of the water (m/s).
        points_per_wavelength: quadrature density on the cap.
        chunk: voxels per block of the sum (memory ``chunk x sources`` floats).
    """
    wavelength_mm = sound_speed / transducer.frequency_hz * 1e3
    src, weights = bowl_quadrature(transducer, wavelength_mm, points_per_wavelength)
    axis_w, axis_u, axis_v = orthonormal_frame(pose.axis)
    rel = _voxel_centres_mm(affine, shape) - np.asarray(pose.apex, float)
    local = np.column_stack([rel @ axis_w, rel @ axis_u, rel @ axis_v])
    k = 2 * math.pi / (wavelength_mm * 1e-3)
    pts = torch.from_numpy(local * 1e-3).float()
    s = torch.from_numpy(src * 1e-3).float()
    w = torch.from_numpy(weights * 1e-6).float()
    re = torch.empty(len(pts))
    im = torch.empty(len(pts))
    with torch.no_grad():
        for start in range(0, len(pts), chunk):
            r = torch.cdist(pts[start:start + chunk], s).clamp_min(1e-6)
            phase = k * r
            re[start:start + chunk] = (torch.cos(phase) / r) @ w
            im[start:start + chunk] = (torch.sin(phase) / r) @ w
    u0 = transducer.normal_velocity_m_s(1000.0, sound_speed)
    scale = 2 * math.pi * transducer.frequency_hz * 1000.0 * u0 / (2 * math.pi)
    amp = scale * torch.sqrt(re * re + im * im)
    return amp.numpy().astype(np.float32).reshape(tuple(shape))


def free_field_prior(transducer: BowlTransducer, pose: Pose, affine: np.ndarray, shape: Sequence[int],
                     normalization: Normalization) -> np.ndarray:
    """The prior channel ``(1, *shape)`` float32: :func:`free_field_amplitude` normalised like the target field."""
    amp = free_field_amplitude(transducer, pose, affine, shape)
    field, _ = normalization.field(amp)
    return np.asarray(field, np.float32)[None]
