"""The in-memory image every reader returns, and the checks every image must pass before tfus uses it.

A :class:`Volume` is a 3D float32 array plus a 4x4 affine that maps voxel indices (i, j, k) to world RAS millimetres
(the nibabel convention: +x Right, +y Anterior, +z Superior).

Example:
    >>> import numpy as np
    >>> vol = Volume(np.zeros((8, 8, 8)), np.diag([0.5, 0.5, 2.0, 1.0]), source="synthetic")
    >>> vol.spacing_mm
    (0.5, 0.5, 2.0)
    >>> validate_volume(vol) is vol
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfus.pipeline.errors import TfusInputError

#: Smallest number of voxels along any axis for an image to count as a 3D volume.
MIN_VOXELS_PER_AXIS = 8


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3D image on a world grid.

    Attributes:
        data: 3D float32 array indexed (i, j, k).
        affine: 4x4 float64 matrix, voxel index (i, j, k, 1) -> world RAS mm (same convention as nibabel).
        source: where the image came from (a path), for messages and provenance.
        modality: ``"ct"``, ``"mr"`` or ``None`` when the file does not say.

    Example:
        >>> import numpy as np
        >>> v = Volume(np.ones((8, 8, 8)), np.eye(4), "x.nii.gz", "ct")
        >>> v.data.dtype, v.shape, v.voxel_to_world([1, 2, 3]).tolist()
        (dtype('float32'), (8, 8, 8), [1.0, 2.0, 3.0])
    """

    data: np.ndarray
    affine: np.ndarray
    source: str = ""
    modality: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", np.asarray(self.data, dtype=np.float32))
        object.__setattr__(self, "affine", np.array(self.affine, dtype=np.float64))

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape."""
        return tuple(int(s) for s in self.data.shape)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel size along each array axis in mm (the lengths of the affine's first three columns)."""
        return tuple(float(s) for s in np.linalg.norm(self.affine[:3, :3], axis=0))

    def voxel_to_world(self, ijk) -> np.ndarray:
        """Voxel indices (..., 3) to world RAS mm (..., 3)."""
        return np.asarray(ijk, dtype=float) @ self.affine[:3, :3].T + self.affine[:3, 3]

    def world_to_voxel(self, xyz) -> np.ndarray:
        """World RAS mm (..., 3) to continuous voxel indices (..., 3)."""
        inv = np.linalg.inv(self.affine)
        return np.asarray(xyz, dtype=float) @ inv[:3, :3].T + inv[:3, 3]


def squeeze_to_3d(shape: tuple[int, ...], source: str) -> tuple[int, ...]:
    """Return ``shape`` with trailing singleton axes beyond the third removed; raise for 2D and real 4D images.

    Readers call this on the header shape before loading voxels, so a large 4D series fails fast.

    Example:
        >>> squeeze_to_3d((64, 64, 40, 1), "x.nii")
        (64, 64, 40)
    """
    shape = tuple(int(s) for s in shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    _check_ndim(shape, source)
    return shape


def _check_ndim(shape: tuple[int, ...], source: str) -> None:
    name = _name(source)
    if len(shape) < 3:
        raise TfusInputError(f"{name}: image is 2D (shape {shape}); pass a 3D volume (a full scan, not one slice)")
    if len(shape) > 3:
        extra = int(np.prod(shape[3:]))
        raise TfusInputError(f"{name}: image is {len(shape)}D (shape {shape}, {extra} volumes); pass one 3D volume, "
                             "e.g. extract one with `fslroi` or nibabel's `image.slicer[..., 0]`")


def validate_volume(vol: Volume) -> Volume:
    """Check that ``vol`` is a usable 3D image; return it unchanged or raise :class:`TfusInputError`.

    Checks: 3D (not 2D, not 4D), at least ``MIN_VOXELS_PER_AXIS`` voxels on every axis, all voxels finite, affine 4x4,
    finite and invertible.

    Example:
        >>> import numpy as np
        >>> try:
        ...     validate_volume(Volume(np.zeros((8, 8, 1)), np.eye(4), "slice.nii"))
        ... except TfusInputError as err:
        ...     print(str(err).split(";")[0])
        slice.nii: image is 2D/too thin (shape (8, 8, 1), fewer than 8 voxels on an axis)
    """
    name = _name(vol.source)
    shape = vol.shape
    _check_ndim(shape, vol.source)
    if min(shape) < MIN_VOXELS_PER_AXIS:
        raise TfusInputError(f"{name}: image is 2D/too thin (shape {shape}, fewer than {MIN_VOXELS_PER_AXIS} "
                             f"voxels on an axis); pass a 3D volume with at least {MIN_VOXELS_PER_AXIS} voxels along "
                             "each axis")
    affine = vol.affine
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise TfusInputError(f"{name}: the voxel-to-world affine is not a finite 4x4 matrix; fix the header "
                             "(e.g. re-export the image from your scanner software or viewer)")
    lin = affine[:3, :3]
    norms = np.linalg.norm(lin, axis=0)
    if np.any(norms <= 1e-6) or abs(np.linalg.det(lin)) <= 1e-9 * float(np.prod(norms)):
        raise TfusInputError(f"{name}: the voxel-to-world affine is singular (zero voxel size or parallel axes); "
                             "fix the header's voxel sizes and orientation (e.g. re-export the image)")
    if not np.allclose(affine[3], [0.0, 0.0, 0.0, 1.0]):
        raise TfusInputError(f"{name}: the affine's last row is not [0, 0, 0, 1]; fix the header (re-export the image)")
    finite = np.isfinite(vol.data)
    if not finite.all():
        n_nan = int(np.isnan(vol.data).sum())
        n_inf = int(finite.size - finite.sum()) - n_nan
        raise TfusInputError(f"{name}: image has {n_nan} NaN and {n_inf} inf voxels; replace them with a finite "
                             "value (e.g. the background intensity) and save the image again")
    return vol


def modality_from_string(text: str | None) -> str | None:
    """Map a modality string from a file ('CT', 'MR', 'MRI', 'MET_MOD_CT', ...) to ``"ct"``, ``"mr"`` or ``None``.

    Example:
        >>> modality_from_string(" CT "), modality_from_string("MRI"), modality_from_string("PT")
        ('ct', 'mr', None)
    """
    if not text:
        return None
    t = str(text).strip().upper().removeprefix("MET_MOD_")
    if t == "CT":
        return "ct"
    if t in ("MR", "MRI", "RMI"):
        return "mr"
    return None


def _name(source: str) -> str:
    return str(source) if source else "image"
