"""Image input/output: read any supported 3D image as a :class:`Volume`, reorient/resample it, write NIfTI atomically.

Example:
    >>> from tfus.pipeline.io import read_image, resample_isotropic, to_ras
    >>> vol = resample_isotropic(to_ras(read_image("head_ct.nii.gz")), 0.5)   # doctest: +SKIP
"""

from tfus.pipeline.io.atomic import atomic_path, atomic_write_text
from tfus.pipeline.io.jsonio import dumps_json, write_json
from tfus.pipeline.io.nifti import write_nifti
from tfus.pipeline.io.orient import resample_isotropic, resample_to, to_ras
from tfus.pipeline.io.readers import read_image
from tfus.pipeline.io.volume import Volume, validate_volume

__all__ = [
    "Volume",
    "atomic_path",
    "atomic_write_text",
    "dumps_json",
    "read_image",
    "resample_isotropic",
    "resample_to",
    "to_ras",
    "validate_volume",
    "write_json",
    "write_nifti",
]
