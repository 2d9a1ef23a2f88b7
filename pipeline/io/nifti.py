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


def write_nifti(path: str | Path, data: np.ndarray, affine: np.ndarray) -> None:
    """Write ``data`` with world affine ``affine`` (voxel -> RAS mm) as NIfTI-1, sform and qform set, units mm."""
    import nibabel as nib

    img = nib.Nifti1Image(np.asarray(data), np.asarray(affine, dtype=float))
    img.set_sform(np.asarray(affine, dtype=float), code="scanner")
    img.set_qform(np.asarray(affine, dtype=float), code="scanner")
    img.header.set_xyzt_units("mm", "sec")
    with atomic_path(path) as tmp:
        nib.save(img, str(tmp))
