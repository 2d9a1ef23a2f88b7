"""Pseudo-CT from a T1-weighted MRI, built inside tfus with no external binary and no downloaded weights.

Method (segmentation with an atlas prior; radii in mm so it behaves the same at any voxel size):

1. Head: Otsu threshold of the T1 (SimpleITK); the components touching a 2 mm opening of it (the opening only drops
   noise; thin scalp stays), closed with a 3 mm ball so the dark skull cannot connect the inside to the air, holes
   filled (3D and per axial slice). All later steps run on the head's bounding box.
2. Intensity model: a 4-class Otsu (SimpleITK) of the shell within 20 mm outside the brain prior; its lowest class is
   *dark* (cortical bone, CSF, air), above it lie muscle, skin, grey matter, then fat and marrow. The dark mask is
   closed with a 1.5 mm ball, which seals partial-volume gaps in the thin tables.
3. Brain/CSF (label 4): the bundled MNI152 T1 (with skull) is registered to the subject (affine, mutual
   information) and its brain mask carried over. An affine fit can leave that mask a few mm loose over the skull
   (e.g. temporal squama), so it is refined to the cortex: the non-dark voxels inside it, closed with a 5 mm ball
   (bridging sulci) and filled, keep their place; dark voxels outside that envelope and within 4 mm of the mask's
   edge are peeled off. A 1 mm band outside the result is CSF (brain label).
4. Skull: in the shell between brain and head surface, *non-dark* voxels connected to the head surface are scalp
   (skin, fat, temporalis and other muscle). The rest of the shell within 15 mm of the brain (dark tables and the
   diploe they enclose) is skull, closed with a 2 mm ball; specks below 1 ml and pieces that come no nearer than
   3 mm to the brain (dark vessels or air in the face and scalp) are dropped. Bone farther than 15 mm from the brain
   (face, jaw, neck) is not modelled and stays soft tissue; sinus air next to the skull base counts as bone.
5. Cortical / trabecular: bone deeper than 1 mm from the bone surface is trabecular, the rest cortical (as for CT).
6. HU per label, the medians measured on the real InVesalius head CT segmented by :mod:`tfus.pipeline.head.ct` at 1 mm
   (see :data:`PSEUDO_CT_HU`).

Measured at 1 mm (``measure_head``): skull 400-530 ml, median cranial thickness 5.5-6.3 mm (p90 <= 9 mm) on the
MNI152, ITK example and Colin27 T1s, against 569 ml and 7.25 mm on the real head CT (a different head).

Expected error: label-wise pseudo-CTs from T1 cost about 10 % focal pressure and 1.5 mm focal position against real-CT
simulations (published figure, see the README); bone density variation inside the skull is not recovered.

Example:
    >>> from tfus.pipeline.head.pseudo_ct import PSEUDO_CT_HU
    >>> PSEUDO_CT_HU[2]
    970.0
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head import morphology as morph
from tfus.pipeline.head.ct import TABLE_MM
from tfus.pipeline.head.labels import Label

#: HU assigned per label (medians of the real head CT's labels at 1 mm, rounded to 10 HU).
PSEUDO_CT_HU = {int(Label.BACKGROUND): -1000.0, int(Label.SCALP): 10.0, int(Label.CORTICAL): 970.0,
                int(Label.TRABECULAR): 790.0, int(Label.BRAIN): 20.0}

CSF_BAND_MM = 1.0  #: CSF kept outside the (refined) brain
SKULL_REACH_MM = 15.0  #: bone farther than this from the brain is not modelled (face, jaw, neck)
SHELL_SAMPLE_MM = 20.0  #: the intensity model is fitted on the shell within this distance of the brain prior
DARK_CLOSE_MM = 1.5  #: closing of the dark mask (seals partial-volume gaps in thin tables)
CORTEX_CLOSE_MM = 5.0  #: closing of the brain's non-dark tissue (bridges sulci) when refining the brain mask
PEEL_MM = 4.0  #: at most this much of the registered brain mask is peeled off where it is dark
BONE_CLOSE_MM = 2.0
BONE_ATTACH_MM = 3.0  #: a bone piece must come this near to the brain
_BALL_MAX_VOXELS = 3.5  #: up to this radius (voxels) morphology uses a ball structuring element, beyond it an EDT


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu threshold of a 1D sample of intensities (SimpleITK's filter)."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.asarray(values, np.float32).reshape(1, 1, -1))
    f = sitk.OtsuThresholdImageFilter()
    f.SetInsideValue(0)
    f.SetOutsideValue(1)
    f.SetNumberOfHistogramBins(256)
    f.Execute(img)
    return float(f.GetThreshold())


def _otsu_thresholds(values: np.ndarray, n_classes: int) -> list[float]:
    """Multi-class Otsu thresholds (ascending) of a 1D sample (SimpleITK's filter)."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.asarray(values, np.float32).reshape(1, 1, -1))
    f = sitk.OtsuMultipleThresholdsImageFilter()
    f.SetNumberOfThresholds(n_classes - 1)
    f.SetNumberOfHistogramBins(256)
    f.Execute(img)
    return sorted(float(v) for v in f.GetThresholds())


def _ball(radius_mm: float, s: float) -> np.ndarray | None:
    """Ball structuring element of ``radius_mm`` on a grid of ``s`` mm, or None when an EDT is cheaper."""
    r = radius_mm / s
    if r > _BALL_MAX_VOXELS:
        return None
    n = int(np.floor(r))
    g = np.mgrid[-n:n + 1, -n:n + 1, -n:n + 1]
    return (g**2).sum(0) <= r * r


def _dilate(mask: np.ndarray, radius_mm: float, s: float) -> np.ndarray:
    """:func:`morph.dilate`, with a ball structuring element when the radius is a few voxels (same result, faster)."""
    from scipy import ndimage as ndi

    ball = _ball(radius_mm, s)
    return morph.dilate(mask, radius_mm, s) if ball is None else ndi.binary_dilation(mask, ball)


def _erode(mask: np.ndarray, radius_mm: float, s: float) -> np.ndarray:
    """:func:`morph.erode` (the array edge counts as outside), fast for small radii."""
    from scipy import ndimage as ndi

    ball = _ball(radius_mm, s)
    return morph.erode(mask, radius_mm, s) if ball is None else ndi.binary_erosion(mask, ball, border_value=0)


def _close(mask: np.ndarray, radius_mm: float, s: float) -> np.ndarray:
    """:func:`morph.close` (the array edge does not erode), fast for small radii."""
    from scipy import ndimage as ndi

    ball = _ball(radius_mm, s)
    if ball is None:
        return morph.close(mask, radius_mm, s)
    pad = ball.shape[0] // 2 + 1
    grown = ndi.binary_dilation(np.pad(mask, pad), ball)
    return ndi.binary_erosion(grown, ball, border_value=1)[pad:-pad, pad:-pad, pad:-pad]


def _open(mask: np.ndarray, radius_mm: float, s: float) -> np.ndarray:
    """:func:`morph.open_`, fast for small radii."""
    return _dilate(_erode(mask, radius_mm, s), radius_mm, s) & mask


def _bbox(mask: np.ndarray, pad: int) -> tuple[slice, ...]:
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(0) - pad, 0)
    hi = np.minimum(idx.max(0) + 1 + pad, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def t1_head_mask(t1: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Head mask of a T1 image (bool)."""
    s = float(spacing_mm)
    sample = t1[:: max(1, t1.shape[0] // 64), :: max(1, t1.shape[1] // 64), :: max(1, t1.shape[2] // 64)]
    fg = t1 > otsu_threshold(sample.ravel())
    out = np.zeros(t1.shape, bool)
    biggest = morph.largest_component(fg)
    if not biggest.any():
        return out
    box = _bbox(biggest, int(np.ceil(3.0 / s)) + 1)
    fg = fg[box]
    core = morph.largest_component(_open(fg, 2.0, s))
    head = _connected_to(fg, core)  # the opening only decides which components are head; thin scalp is kept
    head = _close(head, 3.0, s)  # a scalp thinner than a voxel or two must not let the dark skull out
    out[box] = morph.fill_holes(head, slicewise_axis=2)
    return out


def segment_t1(t1: np.ndarray, affine: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels (uint8) and pseudo-CT HU (float32) of a T1 volume on an isotropic RAS grid with world ``affine``."""
    from tfus.pipeline.head.registration import register_template

    s = float(np.mean(np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)))
    head = t1_head_mask(t1, s)
    if head.sum() * s**3 < 500e3:
        raise TfusInputError(f"no head found in the image (largest object {head.sum() * s**3 / 1e3:.0f} ml); pass a "
                             "T1 MRI of the whole head, or --modality ct for a CT")
    prior = register_template(t1, affine, head, seed=seed) & head
    if prior.sum() * s**3 < 500e3:
        raise TfusInputError(f"brain not found in the T1 ({prior.sum() * s**3 / 1e3:.0f} ml after registration to "
                             "MNI152); pass a T1 MRI that covers the whole brain")

    box = _bbox(head, 2)
    brain, bone = _brain_and_bone(t1[box], head[box], prior[box], s)
    if bone.sum() * s**3 < 100e3:
        raise TfusInputError(f"no skull found in the T1 ({bone.sum() * s**3 / 1e3:.0f} ml of bone); pass a T1 that "
                             "was not skull-stripped and covers the scalp")

    sub = np.zeros(bone.shape, np.uint8)
    sub[head[box]] = Label.SCALP
    sub[brain] = Label.BRAIN
    sub[bone] = Label.CORTICAL
    sub[_erode(bone, TABLE_MM + s / 2, s)] = Label.TRABECULAR  # voxel-centre depth - s/2 > TABLE_MM, as for CT
    labels = np.zeros(t1.shape, np.uint8)
    labels[box] = sub
    hu = np.zeros(t1.shape, np.float32)
    for lab, value in PSEUDO_CT_HU.items():
        hu[labels == lab] = value
    return labels, hu


def _brain_and_bone(t1: np.ndarray, head: np.ndarray, prior: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Brain (with its CSF band) and bone masks from the T1, the head mask and the registered brain prior."""
    near_prior = morph.distance_mm(prior, s) <= SHELL_SAMPLE_MM
    sample = head & ~prior & near_prior
    if sample.sum() < 100:
        return prior, np.zeros_like(prior)
    dark_level = _otsu_thresholds(t1[sample], 4)[0]
    dark = _close(t1 <= dark_level, DARK_CLOSE_MM, s)

    # refine the prior to the cortex: dark voxels near its edge and outside the closed tissue envelope are not brain
    envelope = morph.fill_holes(_close(prior & (t1 > dark_level), CORTEX_CLOSE_MM, s) & prior)
    brain = prior & (envelope | _erode(prior, PEEL_MM, s))
    brain = _dilate(brain, CSF_BAND_MM, s) & head

    shell = head & ~brain
    surface = head & ~_erode(head, s, s)
    soft = shell & ~dark
    scalp = _connected_to(soft, surface & soft)
    to_brain = morph.distance_mm(brain, s)
    reach = to_brain <= SKULL_REACH_MM
    bone = shell & ~scalp & reach
    bone = _close(bone, BONE_CLOSE_MM, s) & shell & reach
    bone = morph.remove_small(bone, max(1, int(1000.0 / s**3)))  # 1 ml
    bone = _connected_to(bone, bone & (to_brain <= max(BONE_ATTACH_MM, 1.5 * s)))
    return brain, bone


def _connected_to(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi

    lab, _ = ndi.label(mask)
    ids = np.unique(lab[seeds])
    return np.isin(lab, ids[ids > 0])
