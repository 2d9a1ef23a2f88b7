"""The head model: an HU volume and a tissue label map on one isotropic grid with a world (RAS, mm) affine.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.head.model import HeadModel
    >>> m = HeadModel(hu=np.zeros((4, 4, 4), np.float32), labels=np.zeros((4, 4, 4), np.uint8), affine=np.eye(4))
    >>> m.spacing_mm
    1.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError

HU_FILE = "hu.nii.gz"
LABELS_FILE = "labels.nii.gz"
META_FILE = "head.json"


@dataclass(frozen=True, eq=False)
class HeadModel:
    """HU volume (float32, Hounsfield units or pseudo-CT HU), labels (uint8, see :class:`Label`) and a 4x4 affine
    mapping voxel indices (i, j, k) to world RAS millimetres. ``meta`` holds provenance (method, source, versions)."""

    hu: np.ndarray
    labels: np.ndarray
    affine: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.hu.ndim != 3 or self.hu.shape != self.labels.shape:
            raise TfusInputError(f"head model volumes must be 3D and equal in shape, got {self.hu.shape} and "
                                 f"{self.labels.shape}; rebuild the head with `tfus head build`")
        if np.asarray(self.affine).shape != (4, 4):
            raise TfusInputError("head model affine must be 4x4; rebuild the head with `tfus head build`")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.hu.shape)

    @property
    def spacing_mm(self) -> float:
        """Isotropic voxel size in mm (mean of the three axis spacings)."""
        return float(np.mean(np.linalg.norm(np.asarray(self.affine)[:3, :3], axis=0)))

    @property
    def voxel_volume_ml(self) -> float:
        return float(abs(np.linalg.det(np.asarray(self.affine)[:3, :3]))) / 1000.0

    def voxel_to_world(self, ijk: np.ndarray) -> np.ndarray:
        """Voxel indices (..., 3) to world mm (..., 3)."""
        a = np.asarray(self.affine, dtype=float)
        return np.asarray(ijk, dtype=float) @ a[:3, :3].T + a[:3, 3]

    def world_to_voxel(self, xyz: np.ndarray) -> np.ndarray:
        """World mm (..., 3) to continuous voxel indices (..., 3)."""
        inv = np.linalg.inv(np.asarray(self.affine, dtype=float))
        return np.asarray(xyz, dtype=float) @ inv[:3, :3].T + inv[:3, 3]

    def save(self, directory: str | Path) -> None:
        """Write ``hu.nii.gz``, ``labels.nii.gz`` and ``head.json`` into ``directory`` (each written to a temporary
        name first, then renamed, so a crash never leaves a half-written file under the final name)."""
        from tfus.pipeline.io.atomic import atomic_write_text
        from tfus.pipeline.io.nifti import write_nifti

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_nifti(directory / HU_FILE, self.hu.astype(np.float32), self.affine)
        write_nifti(directory / LABELS_FILE, self.labels.astype(np.uint8), self.affine)
        atomic_write_text(directory / META_FILE, json.dumps(self.meta, indent=2, default=_json_default) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> HeadModel:
        """Read a head model directory written by :meth:`save` / ``tfus head build``."""
        import nibabel as nib

        directory = Path(directory)
        for name in (HU_FILE, LABELS_FILE):
            if not (directory / name).is_file():
                raise TfusInputError(f"{directory} has no {name}; build a head model first with "
                                     f"`tfus head build IMAGE --out {directory}`")
        try:
            hu_img = nib.load(str(directory / HU_FILE))
            lab_img = nib.load(str(directory / LABELS_FILE))
            hu = np.asarray(hu_img.dataobj, dtype=np.float32)
            labels = np.asarray(lab_img.dataobj).astype(np.uint8)
        except Exception as err:  # nibabel raises many types for damaged files
            raise TfusInputError(f"cannot read head model in {directory} ({type(err).__name__}); "
                                 "rebuild it with `tfus head build`") from err
        if not np.allclose(hu_img.affine, lab_img.affine, atol=1e-4):
            raise TfusInputError(f"{directory}: hu and labels affines differ; rebuild it with `tfus head build`")
        meta = {}
        if (directory / META_FILE).is_file():
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        return cls(hu=hu, labels=labels, affine=np.asarray(hu_img.affine, dtype=float), meta=meta)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
