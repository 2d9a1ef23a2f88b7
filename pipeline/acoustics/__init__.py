"""Acoustic properties of the head: CT Hounsfield units (and tissue labels) -> sound speed, density, absorption.

Pick a mapping by name with :func:`map_properties`; each mapping documents its source, units and constants:
``itrusst`` (:mod:`~tfus.pipeline.acoustics.itrusst`), ``kwave`` (:mod:`~tfus.pipeline.acoustics.kwave`) and
``porosity`` (:mod:`~tfus.pipeline.acoustics.porosity`). Shared rules (HU clipping, air -> coupling water, bone mask)
are in :mod:`~tfus.pipeline.acoustics.hu`; the power-law absorption conventions (y = 2) in
:mod:`~tfus.pipeline.acoustics.properties`.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics import map_properties
    >>> props = map_properties(np.array([0.0, 1500.0]), np.array([4, 2]), "itrusst")
    >>> props.sound_speed.tolist(), props.alpha_power
    ([1560.0, 2800.0], 2.0)
"""

from tfus.pipeline.acoustics.hu import AIR_HU_THRESHOLD, BONE_HU_THRESHOLD, HU_CLIP_MAX, HU_CLIP_MIN
from tfus.pipeline.acoustics.itrusst import ITRUSST_FREQUENCY_HZ, ITRUSST_MEDIA, itrusst_properties
from tfus.pipeline.acoustics.kwave import kwave_properties
from tfus.pipeline.acoustics.porosity import porosity, porosity_properties
from tfus.pipeline.acoustics.properties import (
    DEFAULT_ALPHA_POWER,
    REFERENCE_FREQUENCY_HZ,
    AcousticProperties,
    convert_alpha_coeff,
)
from tfus.pipeline.acoustics.registry import MAPPINGS, list_mappings, map_properties

__all__ = [
    "AIR_HU_THRESHOLD",
    "BONE_HU_THRESHOLD",
    "DEFAULT_ALPHA_POWER",
    "HU_CLIP_MAX",
    "HU_CLIP_MIN",
    "ITRUSST_FREQUENCY_HZ",
    "ITRUSST_MEDIA",
    "MAPPINGS",
    "REFERENCE_FREQUENCY_HZ",
    "AcousticProperties",
    "convert_alpha_coeff",
    "itrusst_properties",
    "kwave_properties",
    "list_mappings",
    "map_properties",
    "porosity",
    "porosity_properties",
]
