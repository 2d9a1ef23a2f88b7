"""Head models: a CT or T1 image -> labels (scalp, cortical / trabecular bone, brain) and HU on an isotropic grid.

:func:`build_head` reads an image and segments it (:func:`segment_ct` for CT, :func:`segment_t1` for a T1 MR image
with a template-registered brain prior), :class:`HeadModel` holds the result (saved as NIfTI + JSON),
:func:`fit_to_grid` places it on a simulation grid and :func:`measure_head` reports skull thickness and volumes.
:func:`ellipsoid_head` gives a synthetic phantom for tests and the demo; :func:`augment_head` makes new skulls from
a head (elastic deformation, skull thickness, HU / porosity; :class:`SkullAugmentation`). Mask helpers live in
:mod:`tfus.pipeline.head.morphology`.

Example:
    >>> from tfus.pipeline.head import Label, ellipsoid_head, measure_head
    >>> head = ellipsoid_head(spacing_mm=4.0)
    >>> bool((head.labels == Label.BRAIN).any()), "skull_thickness_mm" in measure_head(head)
    (True, True)
"""

from tfus.pipeline.head.augment import SkullAugmentation, augment_head
from tfus.pipeline.head.build import MODALITIES, HeadBuildConfig, build_head
from tfus.pipeline.head.ct import segment_ct
from tfus.pipeline.head.grid import fit_to_grid
from tfus.pipeline.head.labels import BONE_LABELS, Label, bone_mask, head_mask
from tfus.pipeline.head.measures import cranial_thickness_mm, measure_head
from tfus.pipeline.head.modality import check_ct_in_hu, detect_modality
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.head.phantom import PHANTOM_HU, PhantomGeometry, ellipsoid_head
from tfus.pipeline.head.pseudo_ct import PSEUDO_CT_HU, segment_t1, t1_head_mask
from tfus.pipeline.head.registration import load_template, register_template

__all__ = [
    "BONE_LABELS", "MODALITIES", "PHANTOM_HU", "PSEUDO_CT_HU", "HeadBuildConfig", "HeadModel", "Label",
    "PhantomGeometry", "SkullAugmentation", "augment_head", "bone_mask", "build_head", "check_ct_in_hu",
    "cranial_thickness_mm", "detect_modality", "ellipsoid_head", "fit_to_grid", "head_mask", "load_template",
    "measure_head", "register_template", "segment_ct", "segment_t1", "t1_head_mask",
]
