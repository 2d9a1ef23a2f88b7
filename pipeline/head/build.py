"""Image file -> head model: read, reorient to RAS, resample to an isotropic simulation grid, segment (CT) or build a
pseudo-CT (T1 MRI).

Example:
    >>> from tfus.pipeline.head.build import HeadBuildConfig
    >>> HeadBuildConfig(spacing_mm=1.0).modality
    'auto'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.model import HeadModel

MODALITIES = ("auto", "ct", "t1")


@dataclass(frozen=True)
class HeadBuildConfig:
    """How to build a head model: input modality (``auto`` reads the file's tag or the intensities), the isotropic
    grid spacing in mm, and the seed of the T1 template registration."""

    modality: str = "auto"
    spacing_mm: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise TfusInputError(f"unknown modality {self.modality!r}; use one of {', '.join(MODALITIES)}")
        if not 0.1 <= self.spacing_mm <= 4.0:
            raise TfusInputError(f"spacing {self.spacing_mm} mm is out of range; use 0.1 to 4 mm "
                                 "(0.5-1 mm for simulations)")


def build_head(path: str | Path, config: HeadBuildConfig = HeadBuildConfig()) -> HeadModel:
    """Build the head model of the image at ``path`` (NIfTI, NRRD, MHA/MHD, DICOM folder or InVesalius .inv3)."""
    from tfus.pipeline.head.ct import segment_ct
    from tfus.pipeline.head.modality import check_ct_in_hu, detect_modality
    from tfus.pipeline.head.pseudo_ct import segment_t1
    from tfus.pipeline.io import read_image, resample_isotropic, to_ras
    from tfus.pipeline.version import versions

    vol = to_ras(read_image(path))
    source_affine = np.asarray(vol.affine).tolist()
    source_shape = list(vol.data.shape)
    modality = detect_modality(vol.data, vol.modality) if config.modality == "auto" else config.modality
    if modality == "ct":
        check_ct_in_hu(vol.data)
        vol = resample_isotropic(vol, config.spacing_mm, order=1, cval=float(min(vol.data.min(), -1000.0)))
        hu = np.clip(vol.data, -1024.0, None).astype(np.float32)
        labels = segment_ct(hu, config.spacing_mm)
        method = "ct-threshold-morphology"
    else:
        vol = resample_isotropic(vol, config.spacing_mm, order=1, cval=float(vol.data.min()))
        labels, hu = segment_t1(vol.data.astype(np.float32), vol.affine, seed=config.seed)
        method = "t1-pseudo-ct (MNI152 affine prior + intensity segmentation)"
    meta = {"source": str(path), "modality": modality, "method": method, "config": asdict(config),
            "source_affine_ras": source_affine, "source_shape": source_shape, "versions": versions()}
    return HeadModel(hu=hu, labels=labels, affine=vol.affine, meta=meta)
