"""Head segmentation of a CT in Hounsfield units.

Method (all radii in mm, so it behaves the same at any voxel size):

1. Head: voxels above -300 HU; an opening of 3 mm cuts the patient table, head rests and cables loose, the largest
   component is kept, then cavities enclosed in 3D are filled.
2. Bone: head voxels at or above 300 HU (the BabelBrain / k-Wave bone threshold), specks below 0.1 ml dropped.
3. Brain (intracranial soft tissue, label 4): the skull is closed with an 8 mm ball (bridging sutures, emissary
   foramina and partial-volume gaps) and filled in 3D and slice by slice (axial); what lies inside, is not bone and is
   above -300 HU is intracranial. A 3 mm opening detaches the orbits and nasal cavity, the largest component is kept.
4. Cortical / trabecular: bone deeper than 1 mm from the bone surface and below 1000 HU is trabecular (diploe), the
   rest cortical. Thin bone (no voxel deeper than 1 mm) is all cortical, as the tables fuse there.
5. Scalp: the remaining head voxels above -300 HU. Air inside the head (sinuses, airway) stays background (0).

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> from tfus.pipeline.head.ct import segment_ct
    >>> head = ellipsoid_head(spacing_mm=3.0)
    >>> labels = segment_ct(head.hu, spacing_mm=3.0)
    >>> bool((labels == 4).sum() > 0)
    True
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head import morphology as morph
from tfus.pipeline.head.labels import Label

SOFT_TISSUE_HU = -300.0
BONE_HU = 300.0
CORTICAL_HU = 1000.0
TABLE_MM = 1.0  #: bone within this depth of the bone surface is cortical (inner and outer tables)


def segment_ct(hu: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Label map (uint8, :class:`Label`) of a CT volume in HU on an isotropic grid of ``spacing_mm``."""
    s = float(spacing_mm)
    tissue = hu > SOFT_TISSUE_HU
    head = morph.largest_component(morph.open_(tissue, 3.0, s))
    if head.sum() * s**3 < 300e3:  # 300 ml: far less than any adult head
        raise TfusInputError(
            f"no head found in the image (largest object {head.sum() * s**3 / 1e3:.0f} ml above -300 HU); "
            "pass a head CT or use --modality t1 for an MRI")
    head = morph.fill_holes(head)
    bone = head & (hu >= BONE_HU)
    bone = morph.remove_small(bone, max(1, int(100.0 / s**3)))  # 0.1 ml
    if bone.sum() * s**3 < 50e3:
        raise TfusInputError(
            f"the CT shows only {bone.sum() * s**3 / 1e3:.0f} ml of bone (>= 300 HU); pass a head CT with the skull "
            "in the field of view")

    brain = _intracranial(bone, head & tissue, head, s)

    labels = np.zeros(hu.shape, np.uint8)
    labels[head & tissue] = Label.SCALP
    labels[brain] = Label.BRAIN
    deep = morph.depth_mm(bone, s) - s / 2 > TABLE_MM  # voxel-centre depth minus half a voxel: depth of its face
    trabecular = bone & deep & (hu < CORTICAL_HU)
    labels[bone] = Label.CORTICAL
    labels[trabecular] = Label.TRABECULAR
    return labels


def _intracranial(bone: np.ndarray, soft: np.ndarray, head: np.ndarray, s: float, ball_mm: float = 12.0) -> np.ndarray:
    """Soft tissue that a ball of radius ``ball_mm`` rolling in from the air around the head cannot reach without
    passing through bone: gaps in the skull narrower than the ball (sutures, foramina, a thin temporal squama below
    300 HU, the spinal canal) stop it, so the cranial cavity stays closed even where the bone mask is not."""
    walls = np.pad(bone, 1, constant_values=True)  # the image faces are walls: a cut neck is no way in
    centres = (morph.distance_mm(walls, s) > ball_mm)[1:-1, 1:-1, 1:-1]
    lab, _ = ndi.label(centres)
    seeds = np.unique(lab[centres & ~head])
    swept = morph.dilate(np.isin(lab, seeds[seeds > 0]), ball_mm, s)
    candidate = soft & ~bone & ~swept
    core = morph.largest_component(morph.open_(candidate, 3.0, s))
    if core.sum() * s**3 < 300e3:
        raise TfusInputError("could not find the cranial cavity in the CT (less than 300 ml enclosed by bone); "
                             "pass a CT that covers the whole cranium")
    return (morph.dilate(core, 3.0, s) & candidate) | core
