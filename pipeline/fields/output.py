"""Write a simulated field: NIfTI volumes (float32, atomic) and a PNG of three orthogonal slices through the focus.

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

from pathlib import Path

import numpy as np

from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.atomic import atomic_path
from tfus.pipeline.io.nifti import write_nifti

__all__ = ["save_field_png", "write_field", "write_field_series"]

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
