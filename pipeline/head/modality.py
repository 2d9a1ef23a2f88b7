"""Is an image a CT in Hounsfield units or a T1 MRI? And is a CT really in HU?

Example:
    >>> import numpy as np
    >>> detect_modality(np.array([-1000.0, 0.0, 40.0, 1200.0]), None)
    'ct'
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.errors import TfusInputError

AIR_HU = -200.0


def _looks_like_raw_ct(data: np.ndarray) -> bool:
    """Unsigned CT numbers stored without the HU rescale (air ~0, water ~1024, bone up to ~4095)."""
    if data.min() < 0 or data.max() > 4096 or data.max() < 1500:
        return False
    sample = data[::3, ::3, ::3] if data.ndim == 3 else data
    if not np.allclose(sample, np.round(sample)):
        return False
    tissue = sample[sample > 300]
    if tissue.size < 100:
        return False
    hist, edges = np.histogram(tissue, bins=np.arange(300, 4200, 50))
    mode = edges[int(np.argmax(hist))] + 25
    return 950 <= mode <= 1150


def detect_modality(data: np.ndarray, declared: str | None) -> str:
    """``"ct"`` or ``"t1"`` from the file's declared modality (DICOM/InVesalius) or, failing that, the intensities:
    a CT in HU has air below -200 HU, an MRI has no negative values."""
    if declared == "ct":
        return "ct"
    if declared == "mr":
        return "t1"
    if float(np.min(data)) < AIR_HU:
        return "ct"
    if _looks_like_raw_ct(data):
        raise TfusInputError("the image looks like a CT stored without the Hounsfield rescale (values 0..4095, water "
                             "near 1024); convert it to HU (HU = value * RescaleSlope + RescaleIntercept, usually "
                             "value - 1024) or pass --modality t1 if it is an MRI")
    return "t1"


def check_ct_in_hu(data: np.ndarray) -> None:
    """Refuse a CT that is not in Hounsfield units (no air below -200 HU)."""
    lo, hi = float(np.min(data)), float(np.max(data))
    if lo >= AIR_HU:
        raise TfusInputError(f"the CT is not in Hounsfield units (values {lo:.0f}..{hi:.0f}, no air below -200); "
                             "convert it to HU (HU = value * RescaleSlope + RescaleIntercept, usually value - 1024)")
    if hi < 300:
        raise TfusInputError(f"the CT has no bone (max {hi:.0f} HU < 300); pass a head CT in Hounsfield units")
