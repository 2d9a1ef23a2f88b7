"""Tiny synthetic images for the reader tests: affines, blobs, and writers for every supported format."""

from __future__ import annotations

import io
import plistlib
import tarfile
from pathlib import Path

import numpy as np

from tfus.pipeline.io import write_nifti

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def rotation(axis, degrees: float) -> np.ndarray:
    """Rotation matrix about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    t = np.deg2rad(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def make_affine(spacing=(1.2, 0.9, 2.0), kind: str = "oblique", origin=(-12.5, 30.0, -7.0)) -> np.ndarray:
    """RAS affine: 'ras' (axis aligned), 'lps' (x and y flipped), 'oblique' (rotated 25 deg and one axis flipped)."""
    if kind == "ras":
        cosines = np.eye(3)
    elif kind == "lps":
        cosines = LPS_TO_RAS.copy()
    elif kind == "oblique":
        cosines = rotation((1.0, 2.0, 3.0), 25.0) @ np.diag([-1.0, 1.0, 1.0])
    else:
        raise ValueError(kind)
    affine = np.eye(4)
    affine[:3, :3] = cosines @ np.diag(spacing)
    affine[:3, 3] = origin
    return affine


def world_grid(shape, affine) -> np.ndarray:
    """World RAS mm of every voxel centre, shape (*shape, 3)."""
    ijk = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij"), axis=-1)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def gaussian_blob(shape, affine, centre_world, sigma_mm: float = 3.0, amplitude: float = 1000.0,
                  background: float = 0.0) -> np.ndarray:
    """A Gaussian blob centred on a world point (isotropic in world mm)."""
    d2 = np.sum((world_grid(shape, affine) - np.asarray(centre_world)) ** 2, axis=-1)
    return (background + amplitude * np.exp(-d2 / (2 * sigma_mm**2))).astype(np.float32)


def world_centroid(data, affine, frac: float = 0.1) -> np.ndarray:
    """Intensity-weighted world centroid of the voxels above ``frac`` of the peak (background = data minimum)."""
    w = np.asarray(data, dtype=float) - float(np.min(data))
    w = np.where(w > frac * w.max(), w, 0.0)
    xyz = world_grid(w.shape, affine)
    return (w[..., None] * xyz).reshape(-1, 3).sum(0) / w.sum()


def to_sitk(data, affine):
    """A SimpleITK (LPS) image for an (x, y, z) array with a RAS affine (rotation x spacing only)."""
    import SimpleITK as sitk

    arr = np.ascontiguousarray(np.asarray(data).transpose(2, 1, 0))
    img = sitk.GetImageFromArray(arr)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    img.SetSpacing([float(s) for s in spacing])
    img.SetDirection([float(v) for v in (LPS_TO_RAS @ (affine[:3, :3] / spacing)).ravel()])
    img.SetOrigin([float(v) for v in LPS_TO_RAS @ affine[:3, 3]])
    return img


def write_sitk(path, data, affine, modality: str | None = None) -> Path:
    """Write .nrrd/.mha/.mhd with SimpleITK."""
    import SimpleITK as sitk

    img = to_sitk(data, affine)
    if modality:
        img.SetMetaData("Modality", modality)
    sitk.WriteImage(img, str(path))
    return Path(path)


def write_dicom_series(directory, hu, affine, modality: str = "CT") -> Path:
    """Write int16 HU (x, y, z) as a DICOM series, stored with RescaleIntercept -1024 / RescaleSlope 1."""
    import SimpleITK as sitk

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    img = to_sitk(np.round(hu).astype(np.int16), affine)
    d = img.GetDirection()
    orientation = "\\".join(f"{v:.10f}" for v in (d[0], d[3], d[6], d[1], d[4], d[7]))
    uid = "1.2.826.0.1.3680043.2.1125.99.1"
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        position = "\\".join(f"{v:.10f}" for v in img.TransformIndexToPhysicalPoint((0, 0, k)))
        tags = {"0008|0060": modality, "0020|000d": uid + ".1", "0020|000e": uid + ".2", "0020|0032": position,
                "0020|0037": orientation, "0020|0013": str(k + 1), "0028|1052": "-1024", "0028|1053": "1",
                "0028|1054": "HU", "0008|0008": "ORIGINAL\\PRIMARY\\AXIAL", "0008|0018": f"{uid}.3.{k + 1}"}
        for key, value in tags.items():
            sl.SetMetaData(key, value)
        writer.SetFileName(str(directory / f"slice{k:03d}.dcm"))
        writer.Execute(sl)
    return directory


def write_image(path, data, affine, fmt: str) -> Path:
    """Write (x, y, z) data with a RAS affine in ``fmt``: nii, nii.gz, nrrd, mha, mhd or dicom (a directory)."""
    path = Path(path)
    if fmt in ("nii", "nii.gz"):
        write_nifti(path, np.asarray(data, np.float32), affine)
    elif fmt == "dicom":
        write_dicom_series(path, data, affine)
    else:
        write_sitk(path, data, affine)
    return path


def inv3_bytes(matrix_zyx: np.ndarray, spacing=(0.9, 0.9, 1.5), modality="CT", compress: bool = True,
               main_overrides: dict | None = None, matrix_bytes: bytes | None = None, folder="tmpab12cd") -> bytes:
    """An InVesalius-style project archive: ``folder/main.plist`` and ``folder/matrix.dat`` ((z, y, x) C order)."""
    main = {"format_version": 1, "modality": modality, "name": "synthetic", "orientation": 1,
            "matrix": {"dtype": str(matrix_zyx.dtype), "filename": "matrix.dat", "shape": list(matrix_zyx.shape)},
            "spacing": list(spacing), "scalar_range": [int(matrix_zyx.min()), int(matrix_zyx.max())],
            "masks": {}, "surfaces": {}}
    main.update(main_overrides or {})
    raw = matrix_zyx.astype(matrix_zyx.dtype.newbyteorder("<")).tobytes() if matrix_bytes is None else matrix_bytes
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w") as tar:
        for name, payload in (("main.plist", plistlib.dumps(main)), ("matrix.dat", raw)):
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()
