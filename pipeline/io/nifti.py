"""NIfTI writing (atomic) used for every volume tfus writes.

Example:
    >>> import numpy as np, tempfile, pathlib, nibabel as nib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.nii.gz"
    >>> write_nifti(p, np.zeros((2, 2, 2), np.float32), np.eye(4))
    >>> nib.load(str(p)).shape
    (2, 2, 2)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfus.pipeline.io.atomic import atomic_path


def write_nifti(path: str | Path, data: np.ndarray, affine: np.ndarray, time_step_s: float | None = None,
                time_offset_s: float = 0.0) -> None:
    """Write ``data`` with world affine ``affine`` (voxel -> RAS mm) as NIfTI-1, sform and qform set, units mm and
    seconds. A 4D series ``(X, Y, Z, T)`` gets ``pixdim[4] = time_step_s`` and ``toffset = time_offset_s``."""
    import nibabel as nib

    data = np.asarray(data)
    img = nib.Nifti1Image(data, np.asarray(affine, dtype=float))
    img.set_sform(np.asarray(affine, dtype=float), code="scanner")
    img.set_qform(np.asarray(affine, dtype=float), code="scanner")
    img.header.set_xyzt_units("mm", "sec")
    if time_step_s is not None:
        if data.ndim != 4:
            raise ValueError(f"a time step needs a 4D (X, Y, Z, T) series, got shape {data.shape}")
        img.header.set_zooms((*img.header.get_zooms()[:3], float(time_step_s)))
        img.header["toffset"] = float(time_offset_s)
    with atomic_path(path) as tmp:
        nib.save(img, str(tmp))
