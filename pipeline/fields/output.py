"""Write a simulated field: NIfTI volumes (float32, atomic) and a PNG of three orthogonal slices through the focus;
:func:`write_field_outputs` is the one writer of the full set ``tfus simulate`` and ``tfus predict`` leave behind
(amplitude NIfTI, optional phase / snapshots NIfTI, PNG, JSON record; see :func:`write_json_record`).

The PNG shows the head (HU in gray, window -200..1800; or the labels in gray when there is no CT) with the pressure
amplitude as a colour overlay (transparent below 10 % of the maximum when a head is drawn), a colour bar in kPa (MPa
from 1 MPa up), and markers: bowl apex (triangle), focus (cross), target (plus), projected onto each slice. Slices are
sagittal / coronal / axial (``[i, :, :]``, ``[:, j, :]``, ``[:, :, k]``) for axis-aligned affines, in world mm; for
rotated affines the axes are voxel index x spacing. 2D fields give one panel. Figures are drawn with
:class:`matplotlib.figure.Figure` (no pyplot state, no backend switch).

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from tfus.pipeline.engines.field import SteadyStateField
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> amp = np.zeros((9, 9, 9), np.float32); amp[4, 4, 4] = 1e5
    >>> f = SteadyStateField(amp, np.zeros_like(amp), np.eye(4), 5e5)
    >>> write_field(d / "p.nii.gz", f.amplitude, f.affine)
    >>> save_field_png(d / "p.png", f)
    >>> sorted(p.name for p in d.iterdir())
    ['p.nii.gz', 'p.png']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.atomic import atomic_path, atomic_write_text
from tfus.pipeline.io.nifti import write_nifti

__all__ = ["FieldOutputs", "json_default", "save_field_png", "simulation_record", "write_field", "write_field_outputs",
           "write_field_series", "write_json_record"]

_VIEWS = [("sagittal", 0, (1, 2)), ("coronal", 1, (0, 2)), ("axial", 2, (0, 1))]
_AXIS_NAMES = ("x / R (mm)", "y / A (mm)", "z / S (mm)")


def write_field(path: str | Path, data: np.ndarray, affine: np.ndarray) -> None:
    """Write ``data`` as float32 NIfTI with ``affine`` (atomic). A 2D field (3x3 affine) is stored as one slice
    ``(nx, ny, 1)`` with the z voxel size equal to the in-plane spacing.

    Example:
        >>> import tempfile, pathlib, nibabel as nib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.nii.gz"
        >>> write_field(p, np.ones((3, 4)), np.diag([0.5, 0.5, 1.0]))
        >>> nib.load(str(p)).shape, float(nib.load(str(p)).affine[2, 2])
        ((3, 4, 1), 0.5)
    """
    arr = np.asarray(data, np.float32)
    aff = np.asarray(affine, float)
    if arr.ndim == 2 and aff.shape == (3, 3):
        full = np.eye(4)
        full[:2, :2], full[:2, 3] = aff[:2, :2], aff[:2, 2]
        full[2, 2] = float(np.mean(np.linalg.norm(aff[:2, :2], axis=0)))
        arr, aff = arr[:, :, None], full
    if arr.ndim != 3 or aff.shape != (4, 4):
        raise TfusInputError(f"write_field needs a 3D array with a 4x4 affine (or 2D with 3x3), got {arr.shape} "
                             f"and {aff.shape}")
    write_nifti(path, arr, aff)


def write_field_series(path: str | Path, snapshots: np.ndarray, affine: np.ndarray, times_s: np.ndarray) -> None:
    """Write time-resolved pressure ``(T, X, Y, Z)`` (Pa) as a 4D float32 NIfTI ``(X, Y, Z, T)``: the 4th voxel size
    (``pixdim[4]``) is the mean snapshot spacing and ``toffset`` the first time, both in seconds (snapshot times of
    a simulation are whole time steps, so the spacing may vary by one step; the exact times belong in a sidecar).

    Example:
        >>> import tempfile, pathlib, nibabel as nib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.nii.gz"
        >>> write_field_series(p, np.zeros((3, 4, 4, 4)), np.eye(4), np.array([1e-6, 3e-6, 5e-6]))
        >>> img = nib.load(str(p)); img.shape, round(float(img.header.get_zooms()[3]) * 1e6, 3)
        ((4, 4, 4, 3), 2.0)
    """
    arr = np.asarray(snapshots, np.float32)
    times = np.asarray(times_s, float)
    if arr.ndim != 4 or times.shape != (arr.shape[0],) or np.asarray(affine).shape != (4, 4):
        raise TfusInputError(f"write_field_series needs (T, X, Y, Z) snapshots with T times and a 4x4 affine, got "
                             f"{arr.shape}, {times.shape} times and {np.asarray(affine).shape}")
    step = float(np.mean(np.diff(times))) if times.size > 1 else 1.0
    write_nifti(path, np.moveaxis(arr, 0, -1), np.asarray(affine, float), time_step_s=step,
                time_offset_s=float(times[0]))


def _display_axes(affine: np.ndarray, nd: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per-dimension (origin, step) of the displayed coordinate, and whether it is world mm."""
    lin = affine[:nd, :nd]
    if np.allclose(lin, np.diag(np.diag(lin)), atol=1e-6 * np.abs(lin).max()):
        return affine[:nd, nd].copy(), np.diag(lin).copy(), True
    return np.zeros(nd), np.linalg.norm(lin, axis=0), False


def _markers(points: dict, affine: np.ndarray, nd: int, origin: np.ndarray, step: np.ndarray) -> dict:
    inv = np.linalg.inv(affine)
    out = {}
    for name, xyz in points.items():
        if xyz is not None:
            idx = np.asarray(xyz, float).reshape(-1)[:nd] @ inv[:nd, :nd].T + inv[:nd, nd]
            out[name] = origin + step * idx
    return out


_STYLE = {"apex": dict(marker="^", c="white"), "focus": dict(marker="x", c="cyan"),
          "target": dict(marker="+", c="lime")}


def save_field_png(path: str | Path, field: SteadyStateField, *, head=None, transducer=None, pose=None,
                   focus_mm=None, target_mm=None, labels: np.ndarray | None = None, title: str | None = None) -> None:
    """Three orthogonal slices through the focus (one panel in 2D) with the pressure overlay, written atomically.

    Args:
        path: PNG path.
        field: the steady-state field (its amplitude is drawn).
        head: optional :class:`~tfus.pipeline.head.model.HeadModel` on the field grid (HU background).
        transducer, pose: the bowl and its placement (apex marker; the target defaults to the pose's).
        focus_mm: where to cut (world mm); default the amplitude maximum.
        target_mm: aim point marker (world mm).
        labels: tissue labels on the field grid, drawn in gray when there is no HU volume.
        title: figure title (default: transducer name, peak pressure).
    """
    from matplotlib.figure import Figure

    amp = np.abs(np.asarray(field.amplitude, float))
    nd = amp.ndim
    affine = np.asarray(field.affine, float)
    background = None
    if head is not None:
        background, limits = np.asarray(head.hu, float), (-200.0, 1800.0)
        if labels is None:
            labels = head.labels
    elif labels is not None:
        background, limits = np.asarray(labels, float), (0.0, 5.0)
    if background is not None and background.shape != amp.shape:
        raise TfusInputError(f"head/labels shape {background.shape} differs from the field's {amp.shape}; "
                             "resample the head onto the field grid")
    if focus_mm is None:
        ijk = np.array(np.unravel_index(int(np.argmax(amp)), amp.shape))
    else:
        inv = np.linalg.inv(affine)
        ijk = np.rint(np.asarray(focus_mm, float)[:nd] @ inv[:nd, :nd].T + inv[:nd, nd]).astype(int)
        ijk = np.clip(ijk, 0, np.asarray(amp.shape) - 1)
    if target_mm is None and pose is not None:
        target_mm = pose.target
    origin, step, world = _display_axes(affine, nd)
    marks = _markers({"apex": None if pose is None else pose.apex,
                      "focus": focus_mm if focus_mm is not None else ijk @ affine[:nd, :nd].T + affine[:nd, nd],
                      "target": target_mm}, affine, nd, origin, step)
    peak = float(amp.max()) if amp.size else 0.0
    scale, unit = (1e6, "MPa") if peak >= 1e6 else (1e3, "kPa")
    views = _VIEWS if nd == 3 else [("plane", None, (0, 1))]
    fig = Figure(figsize=(4.4 * len(views) + 1.2, 4.6), constrained_layout=True)
    axes = fig.subplots(1, len(views), squeeze=False)[0]
    image = None
    for ax, (name, fixed, (d0, d1)) in zip(axes, views, strict=True):
        sl = [slice(None)] * nd
        if fixed is not None:
            sl[fixed] = int(ijk[fixed])
        extent = [origin[d0] + step[d0] * -0.5, origin[d0] + step[d0] * (amp.shape[d0] - 0.5),
                  origin[d1] + step[d1] * -0.5, origin[d1] + step[d1] * (amp.shape[d1] - 0.5)]
        if background is not None:
            ax.imshow(background[tuple(sl)].T, origin="lower", cmap="gray", vmin=limits[0], vmax=limits[1],
                      extent=extent, interpolation="nearest")
        shown = amp[tuple(sl)].T / scale
        if background is not None:
            shown = np.ma.masked_less(shown, 0.1 * peak / scale)
        image = ax.imshow(shown, origin="lower", cmap="inferno", vmin=0.0, vmax=max(peak / scale, 1e-12),
                          extent=extent, alpha=0.75 if background is not None else 1.0, interpolation="bilinear")
        for key, pos in marks.items():
            ax.scatter([pos[d0]], [pos[d1]], s=60, linewidths=1.5, label=key, **_STYLE[key])
        names = _AXIS_NAMES if world else ("i (mm)", "j (mm)", "k (mm)")
        ax.set_xlabel(names[d0])
        ax.set_ylabel(names[d1])
        ax.set_title(name if fixed is None else f"{name} through the focus")
    if marks:
        axes[0].legend(loc="upper right", fontsize=7, framealpha=0.6)
    fig.colorbar(image, ax=list(axes), label=f"pressure amplitude ({unit})", shrink=0.85)
    name = getattr(transducer, "name", None)
    fig.suptitle(title or f"{name + ': ' if name else ''}peak {peak / scale:.3g} {unit} at "
                          f"{field.frequency_hz / 1e3:.0f} kHz")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for records: numpy scalars as numbers, arrays as lists, anything else (paths,
    config objects) as its ``str``.

    Example:
        >>> json.dumps({"a": np.float32(1.5), "b": np.arange(2), "c": Path("x")}, default=json_default)
        '{"a": 1.5, "b": [0, 1], "c": "x"}'
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def write_json_record(path: str | Path, record: Mapping[str, Any]) -> None:
    """Write ``record`` as indented JSON (atomic; numpy scalars as numbers, see :func:`json_default`).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.json"
        >>> write_json_record(p, {"peak_pa": np.float32(2.0)})
        >>> json.loads(p.read_text())
        {'peak_pa': 2.0}
    """
    atomic_write_text(path, json.dumps(record, indent=2, default=json_default) + "\n")


@dataclass(frozen=True)
class FieldOutputs:
    """The files :func:`write_field_outputs` wrote and the record it put in ``json``."""

    amplitude: Path
    png: Path
    json: Path
    record: dict
    phase: Path | None = None
    snapshots: Path | None = None


def write_field_outputs(out: str | Path, field: SteadyStateField, record: Mapping[str, Any], *,
                        png: str | Path | None = None, phase: str | Path | None = None,
                        snapshots: np.ndarray | None = None, snapshot_times_s: np.ndarray | None = None,
                        head=None, transducer=None, pose=None, focus_mm=None, title: str | None = None
                        ) -> FieldOutputs:
    """Write a field's outputs, each atomically: ``out`` (amplitude NIfTI, Pa), ``phase`` (rad, when given),
    ``OUT_snapshots.nii.gz`` (time-resolved ``(T, X, Y, Z)`` snapshots, when given; its path is added to the
    record's ``time_resolved`` entry), the PNG (``png``, default ``out`` with ``.png``) and the record as ``out``
    with ``.json``. The one writer behind ``tfus simulate`` and ``tfus predict``.

    Args:
        out: amplitude NIfTI path (``.nii`` or ``.nii.gz``).
        field: the steady-state field (amplitude, phase, affine, frequency).
        record: the JSON record (request, metrics, ...).
        png, phase: optional paths of the PNG and the phase NIfTI.
        snapshots, snapshot_times_s: time-resolved pressure and its times (s).
        head, transducer, pose, focus_mm, title: what the PNG draws (:func:`save_field_png`).

    Returns:
        The paths written and the record as written.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> amp = np.zeros((5, 5, 5), np.float32); amp[2, 2, 2] = 1e5
        >>> written = write_field_outputs(d / "f.nii.gz", SteadyStateField(amp, 0 * amp, np.eye(4), 5e5),
        ...                               {"metrics": {"peak_pressure_pa": np.float32(1e5)}})
        >>> sorted(p.name for p in d.iterdir()), json.loads(written.json.read_text())["metrics"]
        (['f.json', 'f.nii.gz', 'f.png'], {'peak_pressure_pa': 100000.0})
    """
    out = Path(out)
    stem = str(out).removesuffix(".gz").removesuffix(".nii")
    record = dict(record)
    write_field(out, field.amplitude, field.affine)
    if phase is not None:
        write_field(phase, field.phase, field.affine)
    snap_path = None
    if snapshots is not None:
        snap_path = Path(stem + "_snapshots.nii.gz")
        write_field_series(snap_path, snapshots, field.affine, snapshot_times_s)
        record["time_resolved"] = {"snapshots_file": str(snap_path), **dict(record.get("time_resolved") or {})}
    png_path = Path(png) if png is not None else Path(stem + ".png")
    save_field_png(png_path, field, head=head, transducer=transducer, pose=pose, focus_mm=focus_mm, title=title)
    json_path = Path(stem + ".json")
    write_json_record(json_path, record)
    return FieldOutputs(amplitude=out, png=png_path, json=json_path, record=record,
                        phase=None if phase is None else Path(phase), snapshots=snap_path)


def simulation_record(request, result, metrics: Mapping[str, Any]) -> dict:
    """The JSON record of a simulation (``tfus simulate``): the request (pose and transducer spelled out), the focal
    metrics, the engine's meta data (without the snapshots) and the versions.

    Args:
        request: the :class:`~tfus.pipeline.engines.run.SimulationRequest`.
        result: its :class:`~tfus.pipeline.engines.run.SimulationResult`.
        metrics: :func:`tfus.pipeline.fields.metrics.field_metrics` of the result.

    Example:
        >>> record = simulation_record(request, result, metrics)   # doctest: +SKIP
        >>> sorted(record)                                         # doctest: +SKIP
        ['engine', 'metrics', 'request', 'versions']
    """
    from tfus.pipeline.version import versions

    pose = request.pose
    meta = {k: v for k, v in result.field.meta.items() if k != "snapshots"}
    return {"request": {**request.__dict__, "pose": {"apex": pose.apex.tolist(), "target": pose.target.tolist()},
                        "transducer": result.transducer.to_dict(),
                        "head": None if request.head is None else str(request.head)},
            "metrics": dict(metrics), "engine": meta, "versions": versions()}
