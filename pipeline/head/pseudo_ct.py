"""Pseudo-CT from a T1-weighted MRI, built inside tfus with no external binary and no downloaded weights.

Method (segmentation with an atlas prior; radii in mm so it behaves the same at any voxel size):

1. Head: Otsu threshold of the T1 (SimpleITK), a 2 mm opening, the largest component, holes filled (3D and per axial
   slice).
2. Brain/CSF (label 4): the bundled MNI152 T1 (with skull) is registered to the subject (affine, mutual
   information) and its brain mask carried over; a 1 mm band outside it is CSF (brain label).
3. Skull: in T1 images cortical bone and CSF are dark; fatty marrow (diploe) and scalp fat are bright. In the shell
   between brain and head surface, *bright* voxels connected to the head surface are scalp; the rest of the shell up to
   25 mm from the brain (dark tables and the enclosed bright diploe) is skull, closed with a 2 mm ball. Skull farther
   than 25 mm from the brain (face, jaw) is not modelled and stays soft tissue.
4. Cortical / trabecular: bone deeper than 1 mm from the bone surface is trabecular, the rest cortical (as for CT).
5. HU per label, the medians measured on the real InVesalius head CT segmented by :mod:`tfus.pipeline.head.ct` at 1 mm
   (see :data:`PSEUDO_CT_HU`).

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

CSF_BAND_MM = 1.0
SKULL_REACH_MM = 25.0


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


def t1_head_mask(t1: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Head mask of a T1 image (bool)."""
    s = float(spacing_mm)
    sample = t1[:: max(1, t1.shape[0] // 64), :: max(1, t1.shape[1] // 64), :: max(1, t1.shape[2] // 64)]
    thr = otsu_threshold(sample.ravel())
    head = morph.largest_component(morph.open_(t1 > thr, 2.0, s))
    return morph.fill_holes(head, slicewise_axis=2)


def segment_t1(t1: np.ndarray, affine: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels (uint8) and pseudo-CT HU (float32) of a T1 volume on an isotropic RAS grid with world ``affine``."""
    from tfus.pipeline.head.registration import register_template

    s = float(np.mean(np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)))
    head = t1_head_mask(t1, s)
    if head.sum() * s**3 < 500e3:
        raise TfusInputError(f"no head found in the image (largest object {head.sum() * s**3 / 1e3:.0f} ml); pass a "
                             "T1 MRI of the whole head, or --modality ct for a CT")
    brain = register_template(t1, affine, head, seed=seed) & head
    if brain.sum() * s**3 < 500e3:
        raise TfusInputError(f"brain not found in the T1 ({brain.sum() * s**3 / 1e3:.0f} ml after registration to "
                             "MNI152); pass a T1 MRI that covers the whole brain")
    brain = morph.dilate(brain, CSF_BAND_MM, s) & head

    shell = head & ~brain
    thr = otsu_threshold(t1[shell])
    surface = head & ~morph.erode(head, s, s)
    bright = shell & (t1 > thr)
    scalp = _connected_to(bright, surface & bright)
    near_brain = morph.distance_mm(brain, s) <= SKULL_REACH_MM
    bone = shell & ~scalp & near_brain & (t1 > 0)
    bone = morph.close(bone, 2.0, s) & shell & near_brain
    bone = morph.remove_small(bone, max(1, int(1000.0 / s**3)))  # 1 ml
    if bone.sum() * s**3 < 100e3:
        raise TfusInputError(f"no skull found in the T1 ({bone.sum() * s**3 / 1e3:.0f} ml of bone); pass a T1 that "
                             "was not skull-stripped and covers the scalp")

    labels = np.zeros(t1.shape, np.uint8)
    labels[head] = Label.SCALP
    labels[brain] = Label.BRAIN
    labels[bone] = Label.CORTICAL
    labels[bone & (morph.depth_mm(bone, s) - s / 2 > TABLE_MM)] = Label.TRABECULAR
    hu = np.zeros(t1.shape, np.float32)
    for lab, value in PSEUDO_CT_HU.items():
        hu[labels == lab] = value
    return labels, hu


def _connected_to(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi

    lab, _ = ndi.label(mask)
    ids = np.unique(lab[seeds])
    return np.isin(lab, ids[ids > 0])
