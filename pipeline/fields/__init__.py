"""Simulated fields as results: focal metrics for reports and the acoustic field quantities (mechanical index,
Isppa, the -6 dB focal region and volume, peak maps of time-resolved pressure) in
:mod:`~tfus.pipeline.fields.metrics`, the acoustic safety quantities per region, in situ and in free field (Isppa,
Ispta, MI and transcranial MI, -6 dB focal volume and centroid; :mod:`~tfus.pipeline.fields.acoustic_safety`), and
files (NIfTI and PNG overlays, :mod:`~tfus.pipeline.fields.output`).

Example:
    >>> from tfus.pipeline.fields import default_near_field_mm, mechanical_index
    >>> from tfus.pipeline.transducers.bowl import load_transducer
    >>> default_near_field_mm(load_transducer("itrusst-sc1")), mechanical_index(1e6, 2.5e5)
    (16.0, 2.0)
"""

from tfus.pipeline.fields.acoustic_safety import (
    ACOUSTIC_REGIONS,
    AcousticSafety,
    FreeFieldAcoustics,
    RegionAcoustics,
    TargetAcoustics,
    acoustic_safety,
    free_field_from_transducer,
    free_field_from_water_field,
)
from tfus.pipeline.fields.metrics import (
    bowl_surface_distance,
    default_near_field_mm,
    field_metrics,
    focal_region,
    focal_volume_mm3,
    isppa_w_cm2,
    mechanical_index,
    peak_abs,
    peak_negative,
    peak_positive,
    voxel_affine,
)
from tfus.pipeline.fields.output import save_field_png, write_field, write_field_series

__all__ = [
    "ACOUSTIC_REGIONS", "AcousticSafety", "FreeFieldAcoustics", "RegionAcoustics", "TargetAcoustics", "acoustic_safety",
    "free_field_from_transducer", "free_field_from_water_field",
    "bowl_surface_distance", "default_near_field_mm", "field_metrics", "focal_region", "focal_volume_mm3",
    "isppa_w_cm2", "mechanical_index", "peak_abs", "peak_negative", "peak_positive", "save_field_png", "voxel_affine",
    "write_field", "write_field_series",
]
