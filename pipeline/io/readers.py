"""Read a 3D medical image from any supported format into a :class:`~tfus.pipeline.io.volume.Volume`.

Supported inputs: NIfTI (``.nii``, ``.nii.gz``) via nibabel; NRRD (``.nrrd``, ``.nhdr``), MetaImage (``.mha``,
``.mhd``) and a directory holding a DICOM series via SimpleITK; InVesalius projects (``.inv3``) via
:mod:`tfus.pipeline.io.inv3`. Every reader returns the image on its native grid (no reorientation, no resampling)
with an affine to world RAS mm, and the result is checked by :func:`~tfus.pipeline.io.volume.validate_volume`.

SimpleITK images are LPS with index order (x, y, z) and ``GetArrayFromImage`` returns (z, y, x); they are converted to
an (x, y, z)-ordered array and the RAS affine ``diag(-1, -1, 1) @ direction @ diag(spacing)``, offset
``diag(-1, -1, 1) @ origin``.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from tfus.pipeline.io.nifti import write_nifti
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "head.nii.gz"
    >>> write_nifti(p, np.zeros((8, 9, 10), np.float32), np.diag([1.0, 1.0, 2.0, 1.0]))
    >>> vol = read_image(p)
    >>> vol.shape, vol.spacing_mm
    ((8, 9, 10), (1.0, 1.0, 2.0))
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import zlib
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.volume import Volume, modality_from_string, squeeze_to_3d, validate_volume

log = logging.getLogger(__name__)

NIFTI_EXTENSIONS = (".nii", ".nii.gz")
SITK_EXTENSIONS = (".nrrd", ".nhdr", ".mha", ".mhd")
INV3_EXTENSIONS = (".inv3",)
SUPPORTED = ", ".join(NIFTI_EXTENSIONS + SITK_EXTENSIONS + INV3_EXTENSIONS) + " or a DICOM series directory"

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def read_image(path: str | os.PathLike) -> Volume:
    """Read a 3D image file (or DICOM series directory) into a validated :class:`Volume`.

    Args:
        path: ``.nii``, ``.nii.gz``, ``.nrrd``, ``.nhdr``, ``.mha``, ``.mhd``, ``.inv3`` or a directory of DICOM files.

    Returns:
        The image on its native grid: float32 data (scanner rescale applied, e.g. CT in HU), affine to world RAS mm,
        ``modality`` ``"ct"``/``"mr"`` when the file says so.

    Raises:
        TfusInputError: missing file, unsupported extension, corrupt/truncated file, 2D or 4D image, NaN/inf voxels,
            singular affine.

    Example:
        >>> vol = read_image("scan.nii.gz")                      # doctest: +SKIP
        >>> vol = read_image("dicom/series_dir")                 # doctest: +SKIP
        >>> vol.modality, vol.spacing_mm                         # doctest: +SKIP
        ('ct', (0.48, 0.48, 1.0))
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise TfusInputError(f"file not found: {p}; check the path (supported: {SUPPORTED})")
    if p.is_dir():
        vol = _read_dicom_dir(p)
    else:
        name = p.name.lower()
        if name.endswith(NIFTI_EXTENSIONS):
            vol = _read_nifti(p)
        elif name.endswith(SITK_EXTENSIONS):
            vol = _read_sitk_file(p)
        elif name.endswith(INV3_EXTENSIONS):
            from tfus.pipeline.io.inv3 import read_inv3

            vol = read_inv3(p)
        elif name.endswith((".dcm", ".ima")):
            raise TfusInputError(f"{p} is a single DICOM file; pass the directory that holds the whole series "
                                 f"instead ({p.parent})")
        else:
            raise TfusInputError(f"unsupported image type '{p.name}'; convert it to one of: {SUPPORTED} "
                                 "(for a DICOM slice, pass its directory)")
    return validate_volume(vol)


def _corrupt(p: Path, fmt: str, err: BaseException, hint: str = "") -> TfusInputError:
    text = re.sub(r"\w+\(0x[0-9a-fA-F]+\):\s*", "", str(err).split("ERROR:")[-1]).strip()
    detail = text.splitlines()[0][:160] if text else ""
    detail = f": {detail}" if detail else ""
    return TfusInputError(f"cannot read {p} as {fmt} ({type(err).__name__}{detail}); the file is corrupt or "
                          f"truncated{hint}; copy or export it again")


def _read_nifti(p: Path) -> Volume:
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    errors = (ImageFileError, EOFError, zlib.error, gzip.BadGzipFile, OSError, ValueError)
    try:
        img = nib.load(str(p))
        shape = squeeze_to_3d(img.shape, str(p))
        data = img.get_fdata(dtype=np.float32).reshape(shape)
        affine = np.asarray(img.affine, dtype=np.float64)
    except TfusInputError:
        raise
    except errors as err:
        raise _corrupt(p, "NIfTI", err) from err
    return Volume(data, affine, str(p), None)


def _read_sitk_file(p: Path) -> Volume:
    import SimpleITK as sitk

    hint = " or its data file is missing next to the header" if p.name.lower().endswith((".mhd", ".nhdr")) else ""
    fmt = "NRRD" if p.name.lower().endswith((".nrrd", ".nhdr")) else "MetaImage"
    try:
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(p))
        reader.ReadImageInformation()
        squeeze_to_3d(reader.GetSize(), str(p))  # fail fast on 2D / 4D before reading voxels
        img = reader.Execute()
    except TfusInputError:
        raise
    except (RuntimeError, OSError) as err:
        raise _corrupt(p, fmt, err, hint) from err
    modality = None
    for key in ("Modality", "modality"):
        if img.HasMetaDataKey(key):
            modality = modality_from_string(img.GetMetaData(key))
    return sitk_to_volume(img, str(p), modality)


def _read_dicom_dir(p: Path) -> Volume:
    import SimpleITK as sitk

    try:
        series_ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(p))
        files_by_id = {sid: sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(p), sid) for sid in series_ids}
    except RuntimeError as err:
        raise _corrupt(p, "a DICOM directory", err) from err
    if not series_ids:
        raise TfusInputError(f"no DICOM series found in directory {p}; pass a directory of DICOM slices or an image "
                             f"file ({', '.join(NIFTI_EXTENSIONS + SITK_EXTENSIONS + INV3_EXTENSIONS)})")
    best = max(series_ids, key=lambda sid: len(files_by_id[sid]))
    if len(series_ids) > 1:
        log.warning("%s holds %d DICOM series; reading the largest (%s, %d files)", p, len(series_ids), best,
                    len(files_by_id[best]))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files_by_id[best])
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        img = reader.Execute()  # GDCM applies RescaleSlope/RescaleIntercept (CT -> HU)
    except RuntimeError as err:
        raise _corrupt(p, "a DICOM series", err) from err
    _check_slice_spacing(reader, img, p)
    modality = None
    if reader.HasMetaDataKey(0, "0008|0060"):
        modality = modality_from_string(reader.GetMetaData(0, "0008|0060"))
    return sitk_to_volume(img, str(p), modality)


def _check_slice_spacing(reader, img, p: Path) -> None:
    """Refuse a series with missing slices or uneven spacing: ITK would stack it on a regular grid and shift anatomy."""
    key = "0020|0032"  # ImagePositionPatient
    n = img.GetDepth()
    if n < 3 or not all(reader.HasMetaDataKey(i, key) for i in range(n)):
        return
    try:
        pos = np.array([[float(v) for v in reader.GetMetaData(i, key).split("\\")] for i in range(n)])
    except ValueError:
        return
    if pos.shape != (n, 3):
        return
    normal = np.asarray(img.GetDirection(), dtype=float).reshape(3, 3)[:, 2]
    gaps = np.abs(np.diff(pos @ normal))
    dz = float(img.GetSpacing()[2])
    if np.max(np.abs(gaps - dz)) > max(0.1 * dz, 1e-3):
        raise TfusInputError(f"DICOM series in {p} has missing slices or uneven slice spacing (gaps "
                             f"{gaps.min():.2f}-{gaps.max():.2f} mm); copy the complete series again, or convert it "
                             "with dcm2niix and pass the NIfTI")


def sitk_to_volume(img, source: str, modality: str | None = None) -> Volume:
    """Convert a SimpleITK image (LPS, (x, y, z) index order) to a :class:`Volume` (array (x, y, z), RAS affine).

    Trailing singleton dimensions beyond the third are dropped; multi-component (colour/vector) images are refused.

    Example:
        >>> import SimpleITK as sitk
        >>> img = sitk.Image(8, 9, 10, sitk.sitkInt16)
        >>> img.SetSpacing((1.0, 2.0, 3.0)); img.SetOrigin((10.0, 20.0, 30.0))
        >>> vol = sitk_to_volume(img, "mem")
        >>> vol.shape, vol.affine[:3, 3].tolist()
        ((8, 9, 10), [-10.0, -20.0, 30.0])
    """
    import SimpleITK as sitk

    if img.GetNumberOfComponentsPerPixel() != 1:
        raise TfusInputError(f"{source}: image has {img.GetNumberOfComponentsPerPixel()} values per voxel "
                             "(colour or vector image); pass a scalar grayscale 3D volume")
    dim = img.GetDimension()
    shape = squeeze_to_3d(img.GetSize(), source)
    arr = sitk.GetArrayViewFromImage(img)  # reversed index order: (..., z, y, x); leading axes are singletons here
    arr = arr.reshape(arr.shape[-3:])
    data = np.array(arr.transpose(2, 1, 0), dtype=np.float32, order="C").reshape(shape)  # a copy, never a view
    direction = np.asarray(img.GetDirection(), dtype=float).reshape(dim, dim)[:3, :3]
    spacing = np.asarray(img.GetSpacing(), dtype=float)[:3]
    origin = np.asarray(img.GetOrigin(), dtype=float)[:3]
    affine = np.eye(4)
    affine[:3, :3] = _LPS_TO_RAS @ direction @ np.diag(spacing)
    affine[:3, 3] = _LPS_TO_RAS @ origin
    return Volume(data, affine, source, modality)
