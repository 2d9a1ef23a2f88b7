"""Skull augmentation: new skulls from one head model without a new scan, applied before simulation.

:func:`augment_head` returns a new :class:`HeadModel` on the same grid and affine, made by three seeded steps in
this order:

1. **Elastic deformation** of the whole head: a smooth random displacement field (white noise per axis, Gaussian
   filtered with standard deviation ``elastic_length_mm``, scaled to an RMS of ``elastic_amplitude_mm`` per axis),
   HU resampled linearly and labels by nearest neighbour. Gradients of such a field have a standard deviation of
   ``amplitude / (sqrt(2) * length)``; :data:`MAX_STRAIN` bounds ``amplitude / length`` so the map never folds (the
   Jacobian's trace would have to sit more than 5 standard deviations below zero) and the skull stays a shell.
2. **Thickness change** by a signed ``thickness_mm``, half on the outer and half on the inner skull surface (the
   mid-surface stays put), by Euclidean distance transforms; rounded to the grid (the outer surface half up, the inner
   half down), so within one voxel of the request. The skull's layers move with its surfaces: each voxel of the new
   skull takes the label and HU found as deep below the same surface of the old skull, along the surface normal
   (never past the old mid-surface), so the cortical tables keep their thickness and the diploe between them
   stretches or shrinks. Removed bone takes the HU and label of the nearest tissue on its side (scalp outside, brain
   inside). Shrinking never thins the skull below :data:`MIN_SKULL_VOXELS` voxels, growing never replaces the last
   scalp voxel before the coupling water.
3. **HU / porosity perturbation** inside the skull: HU scaled by ``hu_scale`` about the skull mean, plus a smooth
   noise field (Gaussian correlation ``porosity_length_mm``) with mean zero and standard deviation
   ``porosity_hu_std`` over the skull voxels (an additive porosity change, porosity being ``1 - HU / HU_max``), then
   clipped to the physical range [-1000, 3000] HU of :mod:`tfus.pipeline.acoustics.hu`.

Every random draw comes from ``numpy.random.default_rng(seed)``: one seed, one head.

Example:
    >>> from tfus.pipeline.head import SkullAugmentation, augment_head, ellipsoid_head
    >>> head = ellipsoid_head(spacing_mm=4.0)
    >>> aug = augment_head(head, SkullAugmentation(thickness_mm=4.0, hu_scale=1.1), seed=0)
    >>> aug.shape == head.shape, bool((aug.labels != head.labels).any())
    (True, True)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label, bone_mask
from tfus.pipeline.head.model import HeadModel

#: largest ``elastic_amplitude_mm / elastic_length_mm`` (displacement gradients of std <= 0.106 per component)
MAX_STRAIN = 0.15
#: shrinking keeps at least this many voxels of skull across
MIN_SKULL_VOXELS = 2
#: physical HU range kept after the perturbation (the clip of the HU -> acoustic mappings)
HU_RANGE = (-1000.0, 3000.0)
MAX_THICKNESS_MM = 10.0
#: thickest skull (mm) whose mid-surface bounds the thickness remap
MAX_SKULL_MM = 20.0
#: HU of bone removed next to the water in a head without scalp voxels
SOFT_TISSUE_HU = 40.0


@dataclass(frozen=True)
class SkullAugmentation:
    """Parameters of one augmented skull (all zero / one: the identity).

    Attributes:
        elastic_amplitude_mm: RMS displacement per axis of the elastic deformation (0: none).
        elastic_length_mm: correlation length (Gaussian standard deviation) of the displacement field.
        thickness_mm: signed change of skull thickness (half per surface), |value| <= 10 mm.
        hu_scale: factor on skull HU about the skull mean (1: unchanged), in [0.5, 2].
        porosity_hu_std: standard deviation (HU) of the smooth additive noise inside the skull (0: none), <= 500.
        porosity_length_mm: correlation length of that noise.

    Example:
        >>> SkullAugmentation(elastic_amplitude_mm=2.0, elastic_length_mm=20.0).is_identity
        False
    """

    elastic_amplitude_mm: float = 0.0
    elastic_length_mm: float = 20.0
    thickness_mm: float = 0.0
    hu_scale: float = 1.0
    porosity_hu_std: float = 0.0
    porosity_length_mm: float = 4.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise TfusInputError(f"{name} must be a finite number, got {value!r}")
        if self.elastic_amplitude_mm < 0 or self.porosity_hu_std < 0:
            raise TfusInputError("elastic_amplitude_mm and porosity_hu_std must be >= 0, got "
                                 f"{self.elastic_amplitude_mm} and {self.porosity_hu_std}")
        if self.elastic_length_mm <= 0 or self.porosity_length_mm <= 0:
            raise TfusInputError("elastic_length_mm and porosity_length_mm must be > 0, got "
                                 f"{self.elastic_length_mm} and {self.porosity_length_mm}")
        if self.elastic_amplitude_mm > MAX_STRAIN * self.elastic_length_mm:
            raise TfusInputError(f"elastic_amplitude_mm {self.elastic_amplitude_mm:g} exceeds {MAX_STRAIN:g} x "
                                 f"elastic_length_mm ({MAX_STRAIN * self.elastic_length_mm:g} mm): the deformation "
                                 "could fold the skull; lower the amplitude or lengthen the field")
        if abs(self.thickness_mm) > MAX_THICKNESS_MM:
            raise TfusInputError(f"thickness_mm must lie in [-{MAX_THICKNESS_MM:g}, {MAX_THICKNESS_MM:g}], "
                                 f"got {self.thickness_mm:g}")
        if not 0.5 <= self.hu_scale <= 2.0:
            raise TfusInputError(f"hu_scale must lie in [0.5, 2], got {self.hu_scale:g}")
        if self.porosity_hu_std > 500.0:
            raise TfusInputError(f"porosity_hu_std must be <= 500 HU, got {self.porosity_hu_std:g}")

    @property
    def is_identity(self) -> bool:
        return (self.elastic_amplitude_mm == 0 and self.thickness_mm == 0 and self.hu_scale == 1
                and self.porosity_hu_std == 0)

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in asdict(self).items()}


def augment_head(head: HeadModel, augmentation: SkullAugmentation, seed: int) -> HeadModel:
    """A new head on the same grid and affine: deformed, skull thickened or thinned, skull HU perturbed.

    Args:
        head: the source head (needs skull and brain labels).
        augmentation: what to change.
        seed: seed of every random field (same seed, same head).

    Raises:
        TfusInputError: the head has no skull or no brain.

    Example:
        >>> from tfus.pipeline.head import ellipsoid_head
        >>> head = ellipsoid_head(spacing_mm=4.0)
        >>> bool((augment_head(head, SkullAugmentation(), seed=1).hu == head.hu).all())
        True
    """
    if not bone_mask(head.labels).any() or not (head.labels == Label.BRAIN).any():
        raise TfusInputError("skull augmentation needs a head with skull and brain labels; build the head with "
                             "`tfus head build`")
    rng = np.random.default_rng(seed)
    s = head.spacing_mm
    hu = np.asarray(head.hu, np.float32).copy()
    labels = np.asarray(head.labels, np.uint8).copy()
    a = augmentation
    if a.elastic_amplitude_mm > 0:
        disp = smooth_displacement(head.shape, s, a.elastic_amplitude_mm, a.elastic_length_mm, rng)
        hu, labels = warp(hu, labels, disp / s)
    if a.thickness_mm != 0:
        hu, labels = change_thickness(hu, labels, a.thickness_mm, s)
    if a.hu_scale != 1 or a.porosity_hu_std > 0:
        hu = perturb_skull_hu(hu, labels, a.hu_scale, a.porosity_hu_std, a.porosity_length_mm, s, rng)
    meta = dict(head.meta)
    meta["augmentation"] = {"seed": int(seed), **a.as_dict()}
    return HeadModel(hu=hu, labels=labels, affine=np.array(head.affine, float), meta=meta)


def smooth_field(shape: tuple[int, ...], spacing_mm: float, length_mm: float, rng: np.random.Generator) -> np.ndarray:
    """White noise filtered by a Gaussian of standard deviation ``length_mm`` (periodic, via FFT), scaled to unit
    standard deviation over the grid."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    spectrum = ndi.fourier_gaussian(sfft.rfftn(noise, workers=1), sigma=length_mm / spacing_mm, n=shape[-1])
    field = sfft.irfftn(spectrum, s=shape, workers=1).astype(np.float32)
    field -= field.mean()
    std = float(field.std())
    return field / std if std > 0 else field


def smooth_displacement(shape: tuple[int, int, int], spacing_mm: float, amplitude_mm: float, length_mm: float,
                        rng: np.random.Generator) -> np.ndarray:
    """Displacement (3, *shape) in mm along the voxel axes, RMS ``amplitude_mm`` per axis."""
    return np.stack([amplitude_mm * smooth_field(shape, spacing_mm, length_mm, rng) for _ in range(3)])


def warp(hu: np.ndarray, labels: np.ndarray, disp_vox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Resample by the backward map ``x -> x - disp_vox(x)`` (voxels), edges repeated: labels nearest, HU linear
    inside a tissue and nearest where the source is a tissue boundary (linear HU there would blend bone with soft
    tissue under a bone label and lower the skull's HU)."""
    grid = np.indices(hu.shape, dtype=np.float32)
    coords = grid - disp_vox.astype(np.float32)
    del grid
    hu_out = ndi.map_coordinates(hu, coords, order=1, mode="nearest").astype(np.float32)
    lab_out = ndi.map_coordinates(labels, coords, order=0, mode="nearest").astype(np.uint8)
    edge = ndi.maximum_filter(labels, size=3) != ndi.minimum_filter(labels, size=3)
    at_edge = ndi.map_coordinates(edge.astype(np.uint8), coords, order=0, mode="nearest").astype(bool)
    hu_out[at_edge] = ndi.map_coordinates(hu, coords[:, at_edge], order=0, mode="nearest")
    return hu_out, lab_out


def change_thickness(hu: np.ndarray, labels: np.ndarray, thickness_mm: float,
                     spacing_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Grow (``thickness_mm`` > 0) or shrink the skull by ``|thickness_mm| / 2`` on each surface (see the module)."""
    new_labels, new_hu, reach = _moved_surfaces(hu, labels, thickness_mm, spacing_mm)
    _remap_layers(hu, labels, new_hu, new_labels, np.sign(thickness_mm) * reach, spacing_mm)
    return new_hu, new_labels


def _layers(reach_mm: np.ndarray | float, s: float, outer: bool | np.ndarray) -> np.ndarray:
    """Voxel layers a surface moves for ``reach_mm`` (the rounding of :func:`_moved_surfaces`: a voxel whose centre
    lies ``reach`` deep moves on the outer surface, stays on the inner one)."""
    x = np.asarray(reach_mm, float) / s + 0.5
    return np.where(outer, np.floor(x + 1e-6), np.ceil(x - 1e-6) - 1)


def _moved_surfaces(hu: np.ndarray, labels: np.ndarray, thickness_mm: float,
                    s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and HU with the skull surfaces moved (grown voxels take the nearest bone voxel's label and HU, removed
    voxels the nearest tissue's on their side), and the distance (mm) each surface moved near each voxel."""
    half = abs(thickness_mm) / 2.0
    bone = bone_mask(labels)
    brain = labels == Label.BRAIN
    hu, labels = hu.copy(), labels.copy()
    if thickness_mm > 0:
        dist, nearest = ndi.distance_transform_edt(~bone, sampling=s, return_indices=True)
        layers = dist / s - 1e-3  # layer of voxels from the bone surface (1: touching it, along a grid axis)
        water = ndi.binary_dilation(labels == Label.BACKGROUND)  # keep the scalp voxel next to the water
        grow = (((labels == Label.SCALP) & ~water & (layers <= _layers(half, s, True)))
                | (brain & (layers <= _layers(half, s, False))))
        idx = tuple(n[grow] for n in nearest)
        hu[grow] = hu[idx]
        labels[grow] = labels[idx]
        return labels, hu, np.full(labels.shape, half, np.float32)
    d_out, near_out = ndi.distance_transform_edt(bone | brain, sampling=s, return_indices=True)
    d_in, near_in = ndi.distance_transform_edt(~brain, sampling=s, return_indices=True)
    local = d_out + d_in - s  # skull thickness through the voxel (voxel-centre distances to both surfaces)
    reach = np.minimum(half, np.maximum(local - MIN_SKULL_VOXELS * s, 0.0) / 2.0).astype(np.float32)
    outer = bone & (d_out <= d_in) & (d_out / s - 1e-3 <= _layers(reach, s, True))
    inner = bone & ~outer & (d_in / s - 1e-3 <= _layers(reach, s, False))
    scalp = labels == Label.SCALP
    scalp_hu = float(np.median(hu[scalp])) if scalp.any() else SOFT_TISSUE_HU
    for mask, nearest in ((outer, near_out), (inner, near_in)):
        idx = tuple(n[mask] for n in nearest)
        water = labels[idx] == Label.BACKGROUND  # bone that touched the water directly: it becomes scalp
        hu[mask] = np.where(water, scalp_hu, hu[idx])
        labels[mask] = np.where(water, int(Label.SCALP), labels[idx])
    return labels, hu, reach


def _remap_layers(hu: np.ndarray, labels: np.ndarray, new_hu: np.ndarray, new_labels: np.ndarray, shift_mm: np.ndarray,
                  s: float) -> None:
    """Fill the new skull (in place) so each voxel keeps the HU and label found at its depth below the same surface
    of the old skull: the tables move with the surfaces and the diploe between them stretches or shrinks.

    ``shift_mm`` is how far the surfaces moved (+: grown; 0: leave the voxel). Along each voxel's normal (the gradient
    of the head or brain mask smoothed over 2 mm) the old and the new surface on its side are found to a quarter
    voxel; the voxel takes the old voxel as deep below the old surface, stopping at the old mid-surface."""
    new_bone, new_brain = bone_mask(new_labels), new_labels == Label.BRAIN
    pts = np.argwhere(new_bone & (shift_mm != 0))
    if len(pts) == 0:
        return
    at = tuple(pts.T)
    d_out = ndi.distance_transform_edt(new_bone | new_brain)[at]
    d_in = ndi.distance_transform_edt(~new_brain)[at]
    outer = d_out <= d_in
    sigma = max(1.0, 2.0 / s)
    inward = _gradient_at(ndi.gaussian_filter((bone_mask(labels) | (labels == Label.BRAIN)).astype(np.float32),
                                              sigma), pts)  # points into the head from the outer surface
    outward = -_gradient_at(ndi.gaussian_filter((labels == Label.BRAIN).astype(np.float32), sigma), pts)
    normal = np.where(outer[:, None], inward, outward)  # into the skull from the surface on the voxel's side
    norm = np.linalg.norm(normal, axis=1, keepdims=True)
    normal = np.divide(normal, norm, out=np.zeros_like(normal), where=norm > 1e-6)
    # along each voxel's normal line: where it leaves the old and the new skull on its side (sub-voxel)
    reach = np.abs(shift_mm[at]) / s + 3.0
    bone = bone_mask(labels)
    head_old = (bone | (labels == Label.BRAIN)).astype(np.float32)
    head_new = (new_bone | new_brain).astype(np.float32)
    skull_old = (labels != Label.BRAIN).astype(np.float32)
    skull_new = (~new_brain).astype(np.float32)
    # the far surface is looked for up to twice its Euclidean distance (the normal is oblique to it), at most
    # MAX_SKULL_MM: beyond that the bone is no shell (skull base, face) and no mid-surface limits the move
    far = np.minimum(2.0 * np.where(outer, ndi.distance_transform_edt(labels != Label.BRAIN)[at],
                                    ndi.distance_transform_edt(bone | (labels == Label.BRAIN))[at]),
                     MAX_SKULL_MM / s) + 3.0
    src = pts.astype(float)
    for side, (m_old, m_new, m_far) in ((outer, (head_old, head_new, skull_old)),
                                        (~outer, (skull_old, skull_new, head_old))):
        if not side.any():
            continue
        x0, n = pts[side].astype(float), normal[side]
        t_old = _exit(m_old, x0, n, reach[side])  # old surface on this side, back along the normal
        t_new = _exit(m_new, x0, n, reach[side])  # new surface
        t_far = _exit(m_far, x0, -n, far[side])  # old surface on the other side, ahead
        # the old voxel as deep below the old surface as this one is below the new, but not past the old mid-surface
        depth = np.minimum(t_new, np.where(np.isnan(t_far), np.inf, (t_old + t_far) / 2))
        move = np.where(np.isnan(t_old) | np.isnan(t_new), 0.0, depth - t_old)
        src[side] = x0 + n * move[:, None]
    src = np.clip(np.rint(src).astype(np.intp), 0, np.array(labels.shape) - 1)
    src_labels, src_hu = labels[tuple(src.T)], hu[tuple(src.T)]
    miss = ~np.isin(src_labels, [int(v) for v in (Label.CORTICAL, Label.TRABECULAR)])
    if miss.any():  # the old skull is thinner than the move: take its nearest bone voxel
        nearest = ndi.distance_transform_edt(~bone_mask(labels), return_distances=False, return_indices=True)
        idx = tuple(n[tuple(pts[miss].T)] for n in nearest)
        src_labels[miss], src_hu[miss] = labels[idx], hu[idx]
    new_labels[at] = src_labels
    new_hu[at] = src_hu


def _exit(mask: np.ndarray, x0: np.ndarray, normal: np.ndarray, reach: np.ndarray, step: float = 0.25,
          chunk: int = 20000) -> np.ndarray:
    """Distance (voxels) from ``x0`` against ``normal`` to where the trilinear ``mask`` drops below 0.5 (NaN: not
    within ``reach`` voxels), ``chunk`` points at a time (bounded memory)."""
    out = np.full(len(x0), np.nan)
    for lo in range(0, len(x0), chunk):
        sl = slice(lo, lo + chunk)
        n_steps = int(np.ceil(reach[sl].max() / step)) + 1
        t = np.arange(n_steps) * step
        coords = x0[None, sl] - t[:, None, None] * normal[None, sl]
        inside = ndi.map_coordinates(mask, coords.reshape(-1, 3).T, order=1, mode="nearest").reshape(n_steps, -1)
        outside = (inside < 0.5) & (t[:, None] <= reach[sl][None])
        first = np.argmax(outside, axis=0)
        cols = np.arange(len(first))
        prev = np.maximum(first - 1, 0)
        a, b = inside[prev, cols], inside[first, cols]  # last sample inside, first outside: interpolate 0.5
        frac = np.where(a > b, (a - 0.5) / np.maximum(a - b, 1e-9), 0.0)
        out[sl] = np.where(outside.any(axis=0), (prev + np.clip(frac, 0, 1)) * step, np.nan)
    return out


def _gradient_at(field: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Central-difference gradient (per voxel) of ``field`` at integer voxels ``pts`` (one-sided at the edges)."""
    out = np.empty(pts.shape, np.float64)
    for axis in range(3):
        hi, lo = pts.copy(), pts.copy()
        hi[:, axis] = np.minimum(hi[:, axis] + 1, field.shape[axis] - 1)
        lo[:, axis] = np.maximum(lo[:, axis] - 1, 0)
        out[:, axis] = (field[tuple(hi.T)] - field[tuple(lo.T)]) / np.maximum(hi[:, axis] - lo[:, axis], 1)
    return out


def perturb_skull_hu(hu: np.ndarray, labels: np.ndarray, scale: float, noise_std: float, length_mm: float,
                     spacing_mm: float, rng: np.random.Generator) -> np.ndarray:
    """Skull HU scaled by ``scale`` about their mean plus smooth noise of std ``noise_std`` over the skull, clipped
    to :data:`HU_RANGE`; other voxels unchanged."""
    bone = bone_mask(labels)
    out = hu.copy()
    values = hu[bone].astype(np.float64)
    new = values.mean() + scale * (values - values.mean())
    if noise_std > 0:
        field = smooth_field(hu.shape, spacing_mm, length_mm, rng)[bone].astype(np.float64)
        field -= field.mean()
        std = field.std()
        if std > 0:
            new += noise_std * field / std
    out[bone] = np.clip(new, *HU_RANGE).astype(np.float32)
    return out
