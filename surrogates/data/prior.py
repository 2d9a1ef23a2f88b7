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
cap: an input feature, not a reference field. The bowl is axisymmetric, so the sum runs once per bowl on an
(axial, radial) table and each pose costs an interpolation.

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

import functools
import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy.ndimage import map_coordinates

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.resources import cached_array
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.pipeline.transducers.pose import orthonormal_frame
from tfus.pipeline.validation.rayleigh import bowl_quadrature
from tfus.surrogates.normalization import Normalization

__all__ = ["BEAM_PRIORS", "axisymmetric_table", "beam_angular_amplitude", "beam_water_amplitude",
           "free_field_amplitude", "free_field_prior", "store_angular_amplitude"]

#: the priors a beam-frame model can be shown (``beam_prior`` in its config)
BEAM_PRIORS = ("water", "angular-spectrum")

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
                         sound_speed: float = WATER_SOUND_SPEED, points_per_wavelength: float = 3.0) -> np.ndarray:
    """Pressure amplitude (Pa) of the bowl in water at every voxel of a grid, ``shape`` float32.

    The free field of a bowl is symmetric about its axis, so it is computed once per bowl on an (axial, radial) table
    sampled at an eighth of a wavelength (:func:`axisymmetric_table`, cached) and read at every voxel's
    (axial, radial) coordinates by linear interpolation: milliseconds per pose. Interpolating the amplitude at
    ``lambda / 8`` costs at most ~1 % of the peak near the focus (the amplitude's curvature scale is a wavelength).

    Args:
        transducer: the bowl (its ``frequency_hz`` is the driving frequency).
        pose: apex and target in world mm.
        affine: voxel -> world mm.
        shape: the grid.
        sound_speed: of the water (m/s).
        points_per_wavelength: quadrature density on the cap.
    """
    axis_w, axis_u, axis_v = orthonormal_frame(pose.axis)
    rel = _voxel_centres_mm(affine, shape) - np.asarray(pose.apex, float)
    axial = rel @ axis_w
    radial = np.hypot(rel @ axis_u, rel @ axis_v)
    reach = float(max(np.abs(axial).max(), radial.max(), 1.0))
    extent = _TABLE_STEP_MM * math.ceil(reach / _TABLE_STEP_MM)  # a few table sizes serve every grid
    table, step = axisymmetric_table(transducer, extent, sound_speed, points_per_wavelength)
    coords = np.stack([(axial + extent) / step, radial / step])
    return map_coordinates(table, coords, order=1, mode="nearest").astype(np.float32).reshape(tuple(shape))


_TABLE_STEP_MM = 64.0


@functools.lru_cache(maxsize=8)
def axisymmetric_table(transducer: BowlTransducer, extent_mm: float, sound_speed: float = WATER_SOUND_SPEED,
                       points_per_wavelength: float = 3.0) -> tuple[np.ndarray, float]:
    """The bowl's free-field amplitude (Pa) on an (axial, radial) grid: axial from ``-extent`` to ``+extent`` mm
    from the apex along the axis, radial from 0 to ``extent``, both sampled at ``step = lambda / 8``.

    Tables are cached in memory and on disk (``tfus.pipeline.resources.cache_dir``: ``$TFUS_CACHE_DIR``, default
    ``~/.cache/tfus``; one ``.npy`` per bowl geometry, frequency, extent and quadrature), so ``tfus predict`` pays the
    sum (~1 s on 2 CPU cores for the demo bowl) once per machine, not once per call.

    Returns:
        ``(table, step_mm)``, ``table[i, j]`` the amplitude at axial ``-extent + i step``, radial ``j step``.
    """
    t = transducer
    key = (f"r{t.radius_of_curvature_mm:.6g}-a{t.aperture_diameter_mm:.6g}-f{t.frequency_hz:.9g}"
           f"-p{t.source_amplitude_pa:.9g}-e{extent_mm:.6g}-c{sound_speed:.6g}-q{points_per_wavelength:.6g}")
    step = sound_speed / transducer.frequency_hz * 1e3 / 8
    table = cached_array(f"bowl-table-v1-{key}",
                         lambda: _compute_table(transducer, extent_mm, sound_speed, points_per_wavelength)[0], ndim=2)
    table.setflags(write=False)
    return table, step


def _compute_table(transducer: BowlTransducer, extent_mm: float, sound_speed: float,
                   points_per_wavelength: float) -> tuple[np.ndarray, float]:
    wavelength_mm = sound_speed / transducer.frequency_hz * 1e3
    step = wavelength_mm / 8
    n_axial, n_radial = int(math.ceil(2 * extent_mm / step)) + 1, int(math.ceil(extent_mm / step)) + 1
    ax, rad = np.meshgrid(-extent_mm + step * np.arange(n_axial), step * np.arange(n_radial), indexing="ij")
    local = np.column_stack([ax.ravel(), rad.ravel(), np.zeros(ax.size)])
    src, weights = bowl_quadrature(transducer, wavelength_mm, points_per_wavelength)
    k = 2 * math.pi / (wavelength_mm * 1e-3)
    pts = torch.from_numpy(local * 1e-3).float()
    s = torch.from_numpy(src * 1e-3).float()
    w = torch.from_numpy(weights * 1e-6).float()
    re, im = torch.empty(len(pts)), torch.empty(len(pts))
    chunk = max(1, 2**24 // max(1, len(s)))
    with torch.no_grad():
        for start in range(0, len(pts), chunk):
            r = torch.cdist(pts[start:start + chunk], s).clamp_min(1e-6)
            re[start:start + chunk] = (torch.cos(k * r) / r) @ w
            im[start:start + chunk] = (torch.sin(k * r) / r) @ w
    u0 = transducer.normal_velocity_m_s(1000.0, sound_speed)
    scale = transducer.frequency_hz * 1000.0 * u0  # omega rho u0 / (2 pi)
    table = (scale * torch.sqrt(re * re + im * im)).numpy().astype(np.float64).reshape(n_axial, n_radial)
    table.setflags(write=False)
    return table, step


def free_field_prior(transducer: BowlTransducer, pose: Pose, affine: np.ndarray, shape: Sequence[int],
                     normalization: Normalization) -> np.ndarray:
    """The prior channel ``(1, *shape)`` float32: :func:`free_field_amplitude` normalised like the target field."""
    amp = free_field_amplitude(transducer, pose, affine, shape)
    field, _ = normalization.field(amp)
    return np.asarray(field, np.float32)[None]


def beam_water_amplitude(group) -> np.ndarray:
    """The prior of a beam-frame store: the bowl's steady-state amplitude (Pa) in water on the store's box, simulated
    by k-Wave with the store's own engine settings (:func:`tfus.pipeline.beam.water_field`), so it differs from a
    sample's field only by what the head does. In the beam frame every sample has the bowl at the same place in its
    box, so one water field serves the whole store; it is cached on disk per machine after the first call (about a
    minute of simulation for a 57 x 57 x 68 box on 2 CPU cores).

    Args:
        group: an open beam-frame store (``frame: beam``).

    Raises:
        TfusInputError: the store is not a beam-frame store, or it does not record its k-Wave settings.
    """
    from tfus.pipeline.beam import BeamBox, water_field
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.store import read_transducer, store_spec

    spec = store_spec(group)
    if spec.frame != "beam":
        raise TfusInputError("the water-field prior needs a beam-frame store (frame: beam); whole-head stores use the "
                             "Rayleigh free field")
    sim = (group.attrs.get("creation_config") or {}).get("simulation") or {}
    if sim.get("engine", "kwave") != "kwave":
        raise TfusInputError(f"the water-field prior is simulated with k-Wave; this store was made with "
                             f"{sim.get('engine')!r}")
    try:
        kwave = KWaveConfig(**dict(sim.get("kwave") or {}))
    except TypeError as err:
        raise TfusInputError(f"the store's k-Wave settings are not readable ({err}); regenerate the store") from None
    field = water_field(read_transducer(group), spec.spacing_mm, BeamBox(**dict(spec.box)), kwave)
    if tuple(field.shape) != tuple(spec.field_shape):
        raise TfusInputError(f"the water field has shape {field.shape}, the store's boxes {tuple(spec.field_shape)}; "
                             "the store was made with other box settings than it records; regenerate it")
    return field


def beam_angular_amplitude(hu: np.ndarray, labels: np.ndarray | None, transducer: BowlTransducer, spacing_mm: float,
                           apex_k: float, mapping: str) -> np.ndarray:
    """The per-pose prior of a beam-frame model with ``beam_prior: angular-spectrum``: the bowl's amplitude (Pa)
    through this box's head by the hybrid angular spectrum (:func:`tfus.pipeline.beam.angular.beam_angular_spectrum`),
    with the acoustic properties of the mapping the training fields were simulated with (~0.1 s for 57 x 57 x 68).

    Args:
        hu: the box's HU.
        labels: the box's tissue labels (the ``itrusst`` mapping needs them).
        transducer: the bowl at its driving frequency.
        spacing_mm: the box spacing.
        apex_k: the apex's box index along the axis.
        mapping: the HU mapping (:func:`tfus.pipeline.acoustics.map_properties`).
    """
    from tfus.pipeline.acoustics.registry import map_properties
    from tfus.pipeline.beam.angular import beam_angular_spectrum

    props = map_properties(np.asarray(hu, np.float32), None if labels is None else np.asarray(labels), mapping)
    return beam_angular_spectrum(transducer, tuple(np.shape(hu)), spacing_mm, apex_k, props)


def store_angular_amplitude(group, hu: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """:func:`beam_angular_amplitude` of one sample of a beam-frame store (its box's ``hu`` and ``labels``), with the
    store's bowl, spacing, box and HU mapping: the prior a ``beam-has`` model is trained and scored with."""
    from tfus.pipeline.beam import CANONICAL_POSE, BeamBox, BeamFrame
    from tfus.pipeline.store import read_transducer, store_spec

    spec, bowl = store_spec(group), read_transducer(group)
    apex_k = float(BeamFrame.from_pose(CANONICAL_POSE, bowl, spec.spacing_mm, BeamBox(**dict(spec.box))).apex_index[2])
    return beam_angular_amplitude(hu, labels, bowl, spec.spacing_mm, apex_k, spec.hu_mapping)
