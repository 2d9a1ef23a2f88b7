"""Find and check TFUScapes files before anything is written, and read split lists.

TFUScapes (Srivastav et al. 2025, https://github.com/CAMMA-public/TFUScapes) releases one ``.npz`` per simulation
with keys ``ct`` (pseudo-CT, HU), ``pmap`` (steady-state pressure amplitude, Pa) and ``tr_coords`` (N x 3 integer
voxel indices of the transducer surface, columns = array axes 0, 1, 2). The public layout is
``data/<SUBJECT>/exp_<k>.npz`` (the upstream sample is ``data/A00060925/exp_0.npz``); the Hugging Face copy adds
``splits/{train,val,test}.txt``.

Subjects: a file inside a sub-folder of the import folder belongs to the subject named by that sub-folder. A file
lying directly in the import folder belongs to the subject named by its stem up to the last ``_`` (``subj01_3.npz``
-> ``subj01``), except ``exp_<k>.npz``, which belongs to the subject named by the import folder itself. Sample names
are ``<subject>/<stem>``.

The scan reads only the zip directory and the ``.npy`` headers of ``ct`` and ``pmap`` (plus the small
``tr_coords``), so checking a whole release is fast; the zip CRC of ``ct`` tells whether samples of one subject share
the same CT volume.

Example:
    >>> files = scan_tfuscapes("TFUScapes/")   # doctest: +SKIP
    >>> files[0].sample, files[0].grid_shape   # doctest: +SKIP
    ('A00060925/exp_0', (256, 256, 256))
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store.schema import SPLIT_NAMES

REQUIRED_KEYS = ("ct", "pmap", "tr_coords")


@dataclass(frozen=True, eq=False)
class TfuscapesFile:
    """One simulation file, checked: its subject, sample name, grid and transducer points (voxel indices)."""

    path: Path
    subject: str
    sample: str
    grid_shape: tuple[int, int, int]
    ct_signature: tuple[int, int]  #: (CRC-32, size) of ct.npy inside the zip: equal for identical CT volumes
    tr_coords: np.ndarray


def natural_key(text: str) -> list:
    """Sort key that orders ``exp_2`` before ``exp_10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def subject_of(path: Path, root: Path) -> str:
    """The subject a file belongs to (see the module docstring)."""
    rel = path.relative_to(root)
    if len(rel.parts) >= 2:
        return rel.parts[-2]
    stem = path.stem
    if re.fullmatch(r"exp_\d+", stem):
        return root.resolve().name
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def scan_tfuscapes(directory: str | Path) -> list[TfuscapesFile]:
    """Every ``.npz`` under ``directory`` (recursively), checked and sorted by subject then sample number."""
    root = Path(directory)
    if not root.is_dir():
        raise TfusInputError(f"{root} is not a folder; pass the folder holding the TFUScapes .npz files")
    paths = sorted(p for p in root.rglob("*.npz") if p.is_file())
    if not paths:
        raise TfusInputError(f"no .npz files under {root}; pass the TFUScapes data folder")
    files = [_scan_one(p, root) for p in paths]
    first = files[0]
    for f in files[1:]:
        if f.grid_shape != first.grid_shape:
            raise TfusInputError(f"{f.path} has a {f.grid_shape} grid but {first.path} has {first.grid_shape}; all "
                                 "samples of one store must share one grid")
    seen: dict[str, Path] = {}
    for f in files:
        if f.sample in seen:
            raise TfusInputError(f"{f.path} and {seen[f.sample]} are both sample {f.sample!r}; import one of them")
        seen[f.sample] = f.path
    return sorted(files, key=lambda f: (natural_key(f.subject), natural_key(f.sample)))


def _scan_one(path: Path, root: Path) -> TfuscapesFile:
    try:
        with zipfile.ZipFile(path) as zf:
            members = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
            for key in REQUIRED_KEYS:
                if key not in members:
                    raise TfusInputError(f"{path} has no key {key!r} (found {sorted(members)}); TFUScapes files hold "
                                         f"{', '.join(REQUIRED_KEYS)}")
            shapes = {k: _npy_shape(zf, members[k], path) for k in ("ct", "pmap")}
            info = zf.getinfo(members["ct"])
        with np.load(path, allow_pickle=False) as data:
            tr = np.asarray(data["tr_coords"])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        if isinstance(err, TfusInputError):
            raise
        raise TfusInputError(f"{path} is not a readable .npz file ({err}); re-download it or remove it") from None
    ct_shape, pmap_shape = shapes["ct"], shapes["pmap"]
    if len(ct_shape) != 3 or min(ct_shape, default=0) < 1:
        raise TfusInputError(f"{path}: ct must be a 3D volume, got shape {ct_shape}")
    if pmap_shape != ct_shape:
        raise TfusInputError(f"{path}: pmap has shape {pmap_shape} but ct has {ct_shape}; they must match")
    if tr.ndim != 2 or tr.shape[1] != 3 or len(tr) < 4 or not np.issubdtype(tr.dtype, np.number):
        raise TfusInputError(f"{path}: tr_coords must be an N x 3 array of voxel indices (N >= 4), got shape "
                             f"{tr.shape}")
    if not np.isfinite(tr).all():
        raise TfusInputError(f"{path}: tr_coords has non-finite values")
    subject = subject_of(path, root)
    return TfuscapesFile(path=path, subject=subject, sample=f"{subject}/{path.stem}", grid_shape=tuple(ct_shape),
                         ct_signature=(info.CRC, info.file_size), tr_coords=tr.astype(np.float64))


def _npy_shape(zf: zipfile.ZipFile, member: str, path: Path) -> tuple[int, ...]:
    with zf.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    if not np.issubdtype(dtype, np.number):
        raise TfusInputError(f"{path}: {member[:-4]} has dtype {dtype}, expected numbers")
    return tuple(int(s) for s in shape)


def read_split_entries(paths: list[Path]) -> dict[str, list[str]]:
    """Split name -> entries (subject ids or sample names) from split files.

    Each path is one of: a folder holding ``train.txt`` / ``val.txt`` / ``test.txt``; a text file named after its
    split (``train.txt``: one subject id or sample name per line, ``#`` comments); a JSON or YAML file mapping split
    names to lists.
    """
    out: dict[str, list[str]] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = [path / f"{n}.txt" for n in SPLIT_NAMES if (path / f"{n}.txt").is_file()]
            if not found:
                raise TfusInputError(f"split folder {path} holds none of train.txt, val.txt, test.txt")
            parts = {f.stem: _lines(f) for f in found}
        elif not path.is_file():
            raise TfusInputError(f"split file {path} does not exist")
        elif path.suffix.lower() in (".json", ".yaml", ".yml"):
            parts = _mapping(path)
        elif path.stem in SPLIT_NAMES:
            parts = {path.stem: _lines(path)}
        else:
            raise TfusInputError(f"cannot tell which split {path} lists; name it train.txt, val.txt or test.txt, or "
                                 "give a JSON/YAML file mapping train/val/test to lists")
        for name, entries in parts.items():
            if name in out:
                raise TfusInputError(f"split {name!r} is given twice (again in {path})")
            out[name] = entries
    return out


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [s for line in text.splitlines() if (s := line.split("#", 1)[0].strip())]


def _mapping(path: Path) -> dict[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise TfusInputError(f"split file {path} is not valid {path.suffix[1:].upper()}: "
                             f"{str(err).splitlines()[0]}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise TfusInputError(f"split file {path} must map split names (train, val, test) to lists of subject ids")
    unknown = sorted(set(data) - set(SPLIT_NAMES))
    if unknown:
        raise TfusInputError(f"split file {path} has unknown split names {unknown}; use {list(SPLIT_NAMES)}")
    return {k: [str(x) for x in v] for k, v in data.items()}


def assign_splits(entries: dict[str, list[str]], files: list[TfuscapesFile]) -> tuple[dict[str, list[str]], int]:
    """Split name -> subjects, from entries naming subjects or samples (``SUBJ``, ``SUBJ/exp_0``, ``.../exp_0.npz``).

    Entries naming nothing in ``files`` are skipped (a partial download) and counted; a subject named in two splits
    is an error (splits are by head, so a subject's samples stay together).
    """
    subjects = {f.subject for f in files}
    alias: dict[str, str] = {}
    stems: dict[str, set[str]] = {}
    for f in files:
        alias[f.sample] = f.subject
        stems.setdefault(f.path.stem, set()).add(f.subject)
    alias.update({stem: next(iter(s)) for stem, s in stems.items() if len(s) == 1 and stem not in subjects})
    where: dict[str, str] = {}
    unmatched = 0
    for name, items in entries.items():
        for item in items:
            key = item.strip().replace("\\", "/").removesuffix(".npz")
            parts = [p for p in key.split("/") if p]
            # SUBJECT/STEM (any leading folders dropped), or one name: a subject id or a file stem of one subject
            candidates = ["/".join(parts[-2:])] if len(parts) >= 2 else parts
            subject = next((c if c in subjects else alias[c] for c in candidates if c in subjects or c in alias),
                           None)
            if subject is None:
                unmatched += 1
                continue
            if where.setdefault(subject, name) != name:
                raise TfusInputError(f"subject {subject!r} is listed in both split {where[subject]!r} and {name!r}; "
                                     "splits must keep each subject's samples together")
    if entries and not where:
        raise TfusInputError("none of the split entries names a subject or sample found in the import folder; check "
                             "the split files (one subject id or SUBJECT/exp_N per line)")
    out = {name: sorted((s for s, n in where.items() if n == name), key=natural_key) for name in SPLIT_NAMES}
    return out, unmatched
