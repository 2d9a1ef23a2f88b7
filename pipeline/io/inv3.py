"""Read InVesalius 3 project files (``.inv3``).

An ``.inv3`` file is a tar archive (usually gzipped) holding one folder with ``main.plist`` and the raw image
``matrix.dat``. ``main.plist`` gives ``matrix`` = {``dtype``, ``filename``, ``shape`` = [nz, ny, nx]}, ``spacing`` =
[sx, sy, sz] mm and ``modality`` (e.g. 'CT'); the raw file is C-ordered (z, y, x). Masks, surfaces and measurements in
the project are ignored. The archive is read in memory; nothing is extracted to disk, only regular-file members are
looked at, and sizes are checked before anything large is read.

Orientation (the file stores none). InVesalius builds its matrix from an axial DICOM stack but flips the row (y)
axis on import (VTK's bottom-up image convention), so the stack is *not* plain DICOM LPS. Inspecting the reference
project ``Cranium.inv3`` (InVesalius examples; 256x256x108 CT) shows:

* +z index is **superior**: the skull vertex is in the last slices, the maxilla/skull base in the first ones;
* +y index is **anterior**: nose, orbits, frontal and maxillary sinuses lie at high y; the occiput and the CT head
  rest lie at low y (air inside the head has its centroid ~50 mm towards +y of the head's centroid). A DICOM-LPS
  reading (+y = posterior) would put the face at the back, so it is not used.
* left/right cannot be told from the image. We **assume** the column (x) axis keeps the DICOM convention of an axial
  scan, +x index = patient **left** (InVesalius only flips rows). If a project was built from an unusual
  acquisition, left and right may be swapped; nothing downstream depends on handedness except the sign of the
  R coordinate.

So the affine is ``diag(-sx, +sy, +sz)`` (x -> L, y -> A, z -> S in RAS). InVesalius stores no origin: the volume
centre (voxel index ``(shape - 1) / 2``) is placed at world (0, 0, 0) mm. Newer projects may carry an ``affine`` key
(a coregistration matrix whose convention relative to the flipped matrix is undocumented); it is ignored.

Example:
    >>> vol = read_inv3("/usr/share/doc/invesalius-examples/examples/Cranium.inv3")  # doctest: +SKIP
    >>> vol.shape, vol.modality                                                       # doctest: +SKIP
    ((256, 256, 108), 'ct')
"""

from __future__ import annotations

import gzip
import math
import plistlib
import posixpath
import tarfile
import zlib
from pathlib import Path
from xml.parsers.expat import ExpatError

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.volume import Volume, modality_from_string

MAX_PLIST_BYTES = 16 * 2**20
MAX_MATRIX_BYTES = 8 * 2**30
MAX_MEMBERS = 100_000
ALLOWED_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64")

_TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError)
_FIX = "save the project again from InVesalius or export it as NIfTI"


def read_inv3(path: str | Path) -> Volume:
    """Read the image of an InVesalius project as a :class:`Volume` (RAS affine, centre at the world origin).

    Args:
        path: an ``.inv3`` file.

    Returns:
        float32 data indexed (x, y, z), affine ``diag(-sx, sy, sz)`` with the volume centre at (0, 0, 0), modality from
        ``main.plist``. See the module docstring for the orientation evidence and the left/right assumption.

    Raises:
        TfusInputError: not a tar archive, truncated, missing/invalid ``main.plist`` or matrix, size mismatch.

    Example:
        >>> vol = read_inv3("Cranium.inv3")   # doctest: +SKIP
        >>> vol.spacing_mm                     # doctest: +SKIP
        (0.957..., 0.957..., 1.5)
    """
    p = Path(path)
    try:
        with tarfile.open(str(p), mode="r:*") as tar:
            members = _regular_members(tar, p)
            main = _find_main_plist(members, p)
            meta = _parse_plist(_read_member(tar, main, MAX_PLIST_BYTES, p), p)
            shape, dtype, spacing, matrix_name = _matrix_info(meta, main.name, p)
            expected = math.prod(shape) * dtype.itemsize
            if expected > MAX_MATRIX_BYTES:
                raise TfusInputError(f"{p}: image matrix of {expected / 2**30:.1f} GiB is larger than the "
                                     f"{MAX_MATRIX_BYTES / 2**30:.0f} GiB limit; export a smaller region as NIfTI")
            member = members.get(matrix_name)
            if member is None:
                raise TfusInputError(f"{p}: project has no image matrix '{matrix_name}'; {_FIX}")
            if member.size != expected:
                raise TfusInputError(f"{p}: image matrix holds {member.size} bytes but shape {shape} x {dtype.name} "
                                     f"needs {expected} (truncated or inconsistent file); {_FIX}")
            raw = _read_member(tar, member, expected, p)
    except TfusInputError:
        raise
    except _TAR_ERRORS as err:
        detail = "not a tar or tar.gz archive" if type(err) is tarfile.ReadError and "opened" in str(err) else str(err)
        raise TfusInputError(f"cannot read {p} as an InVesalius project ({type(err).__name__}: {detail[:120]}); "
                             f"the file is corrupt or truncated; {_FIX}") from err
    if len(raw) != expected:
        raise TfusInputError(f"{p}: image matrix is truncated ({len(raw)} of {expected} bytes); {_FIX}")
    zyx = np.frombuffer(raw, dtype=dtype).reshape(shape)
    data = np.ascontiguousarray(zyx.transpose(2, 1, 0), dtype=np.float32)
    return Volume(data, inv3_affine(data.shape, spacing), str(p), _modality(meta.get("modality")))


def inv3_affine(shape_xyz, spacing_xyz) -> np.ndarray:
    """RAS affine for an InVesalius matrix: x -> Left, y -> Anterior, z -> Superior, volume centre at the origin.

    Example:
        >>> inv3_affine((3, 3, 3), (1.0, 1.0, 2.0)).tolist()
        [[-1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, -1.0], [0.0, 0.0, 2.0, -2.0], [0.0, 0.0, 0.0, 1.0]]
    """
    affine = np.eye(4)
    affine[:3, :3] = np.diag([-1.0, 1.0, 1.0]) @ np.diag(np.asarray(spacing_xyz, dtype=float))
    centre = (np.asarray(shape_xyz, dtype=float) - 1.0) / 2.0
    affine[:3, 3] = -affine[:3, :3] @ centre
    return affine


def _regular_members(tar: tarfile.TarFile, p: Path) -> dict[str, tarfile.TarInfo]:
    members: dict[str, tarfile.TarInfo] = {}
    for count, m in enumerate(tar, start=1):
        if count > MAX_MEMBERS:
            raise TfusInputError(f"{p}: archive has more than {MAX_MEMBERS} entries, not an InVesalius project; {_FIX}")
        if m.isfile():
            members[posixpath.normpath(m.name)] = m
    return members


def _find_main_plist(members: dict[str, tarfile.TarInfo], p: Path) -> tarfile.TarInfo:
    candidates = sorted((name for name in members if posixpath.basename(name) == "main.plist"),
                        key=lambda name: (name.count("/"), name))
    if not candidates:
        raise TfusInputError(f"{p}: no main.plist inside, not an InVesalius project; {_FIX}")
    return members[candidates[0]]


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int, p: Path) -> bytes:
    if member.size > limit:
        raise TfusInputError(f"{p}: entry {member.name} is {member.size} bytes, over the {limit} byte limit; {_FIX}")
    fobj = tar.extractfile(member)
    if fobj is None:
        raise TfusInputError(f"{p}: entry {member.name} is not a regular file; {_FIX}")
    with fobj:
        return fobj.read(limit + 1)


def _parse_plist(raw: bytes, p: Path) -> dict:
    try:
        meta = plistlib.loads(raw)
    except (plistlib.InvalidFileException, ExpatError, ValueError, OverflowError) as err:
        raise TfusInputError(f"{p}: main.plist is not a valid property list ({type(err).__name__}); {_FIX}") from err
    if not isinstance(meta, dict):
        raise TfusInputError(f"{p}: main.plist is not a dictionary; {_FIX}")
    return meta


def _matrix_info(meta: dict, main_name: str, p: Path):
    matrix = meta.get("matrix")
    spacing = meta.get("spacing")
    if not isinstance(matrix, dict) or not all(k in matrix for k in ("dtype", "filename", "shape")):
        raise TfusInputError(f"{p}: main.plist has no valid 'matrix' entry (dtype, filename, shape); {_FIX}")
    shape = matrix["shape"]
    if (not isinstance(shape, (list, tuple)) or len(shape) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)):
        raise TfusInputError(f"{p}: main.plist matrix shape {shape!r} is not three positive integers; {_FIX}")
    if str(matrix["dtype"]) not in ALLOWED_DTYPES:
        raise TfusInputError(f"{p}: main.plist matrix dtype {matrix['dtype']!r} is not one of "
                             f"{', '.join(ALLOWED_DTYPES)}; {_FIX}")
    dtype = np.dtype(str(matrix["dtype"])).newbyteorder("<")
    if (not isinstance(spacing, (list, tuple)) or len(spacing) != 3
            or not all(isinstance(s, (int, float)) and np.isfinite(s) and s > 0 for s in spacing)):
        raise TfusInputError(f"{p}: main.plist spacing {spacing!r} is not three positive numbers (mm); {_FIX}")
    filename = matrix["filename"]
    if not isinstance(filename, str) or not filename or "\x00" in filename:
        raise TfusInputError(f"{p}: main.plist matrix filename {filename!r} is invalid; {_FIX}")
    name = posixpath.normpath(posixpath.join(posixpath.dirname(posixpath.normpath(main_name)), filename))
    return tuple(shape), dtype, tuple(float(s) for s in spacing), name


def _modality(text) -> str | None:
    return modality_from_string(text) if isinstance(text, str) else None
