"""PNG figures of the planning report: three orthogonal slices of the head (HU in gray) with a colour overlay (the
pressure amplitude or the temperature rise) through a chosen point, markers for the apex, focus and target; returned
as PNG bytes for embedding (:class:`matplotlib.figure.Figure`, no pyplot state).

Slices are sagittal / coronal / axial (``[i, :, :]``, ``[:, j, :]``, ``[:, :, k]``), axes in world mm for axis-aligned
affines and voxel index x spacing otherwise (as :func:`tfus.pipeline.fields.output.save_field_png`).

Example:
    >>> import numpy as np
    >>> hu = np.zeros((8, 8, 8)); amp = np.zeros((8, 8, 8)); amp[4, 4, 4] = 1e5
    >>> png = slices_png(hu, amp, np.eye(4), (0.0, 0.0, 0.0), label="pressure (kPa)", unit_scale=1e3)
    >>> png[:4] == b"\\x89PNG"
    True
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["slices_png"]

_VIEWS = [("sagittal", 0, (1, 2)), ("coronal", 1, (0, 2)), ("axial", 2, (0, 1))]
_STYLE = {"apex": dict(marker="^", c="white"), "focus": dict(marker="x", c="cyan"),
          "target": dict(marker="+", c="lime"),
          "hottest": dict(marker="o", edgecolors="deepskyblue", facecolors="none")}


def slices_png(hu: np.ndarray | None, overlay: np.ndarray, affine: np.ndarray, through_mm, *, label: str,
               unit_scale: float = 1.0, cmap: str = "inferno", threshold: float = 0.1,
               markers: dict[str, object] | None = None, title: str = "", dpi: int = 80) -> bytes:
    """Three orthogonal slices through ``through_mm`` (world mm) as PNG bytes.

    Args:
        hu: background HU volume on the overlay's grid (window -200..1800), or None.
        overlay: the quantity drawn in colour (values divided by ``unit_scale`` for display).
        affine: voxel-to-world affine of both volumes.
        through_mm: the point the slices pass through (clipped to the grid).
        label: colour-bar label.
        threshold: overlay values below this fraction of its maximum are transparent (with a background).
        markers: name (``apex``, ``focus``, ``target``, ``hottest``) -> world mm (None entries are skipped).
        title: figure title.
    """
    from matplotlib.figure import Figure

    data = np.asarray(overlay, float) / unit_scale
    a = np.asarray(affine, float)
    inv = np.linalg.inv(a)
    to_index = lambda p: np.asarray(p, float)[:3] @ inv[:3, :3].T + inv[:3, 3]  # noqa: E731
    ijk = np.clip(np.rint(to_index(through_mm)).astype(int), 0, np.asarray(data.shape) - 1)
    lin = a[:3, :3]
    world = np.allclose(lin, np.diag(np.diag(lin)), atol=1e-6 * np.abs(lin).max())
    origin, step = (a[:3, 3], np.diag(lin)) if world else (np.zeros(3), np.linalg.norm(lin, axis=0))
    marks = {k: origin + step * to_index(v) for k, v in (markers or {}).items() if v is not None}
    peak = float(data.max()) if data.size else 0.0
    fig = Figure(figsize=(12.0, 3.9), constrained_layout=True)
    axes = fig.subplots(1, 3)
    image = None
    for ax, (name, fixed, (d0, d1)) in zip(axes, _VIEWS):
        sl = [slice(None)] * 3
        sl[fixed] = int(ijk[fixed])
        lo0, lo1 = origin[d0] - 0.5 * step[d0], origin[d1] - 0.5 * step[d1]
        extent = [min(lo0, lo0 + step[d0] * data.shape[d0]), max(lo0, lo0 + step[d0] * data.shape[d0]),
                  min(lo1, lo1 + step[d1] * data.shape[d1]), max(lo1, lo1 + step[d1] * data.shape[d1])]
        shown = data[tuple(sl)].T
        if step[d0] < 0:
            shown = shown[:, ::-1]
        if step[d1] < 0:
            shown = shown[::-1, :]
        if hu is not None:
            bg = np.asarray(hu, float)[tuple(sl)].T
            bg = bg[:, ::-1] if step[d0] < 0 else bg
            bg = bg[::-1, :] if step[d1] < 0 else bg
            ax.imshow(bg, origin="lower", cmap="gray", vmin=-200, vmax=1800, extent=extent, interpolation="nearest")
            shown = np.ma.masked_less(shown, threshold * peak) if peak > 0 else np.ma.masked_all(shown.shape)
        image = ax.imshow(shown, origin="lower", cmap=cmap, vmin=0.0, vmax=max(peak, 1e-12), extent=extent,
                          alpha=0.75 if hu is not None else 1.0, interpolation="bilinear")
        for key, pos in marks.items():
            ax.scatter([pos[d0]], [pos[d1]], s=60, linewidths=1.5, label=key, **_STYLE.get(key, {}))
        ax.set_xlim(extent[0], extent[1])  # markers outside the grid (the apex in water) do not widen the panel
        ax.set_ylim(extent[2], extent[3])
        names = ("x / R (mm)", "y / A (mm)", "z / S (mm)") if world else ("i (mm)", "j (mm)", "k (mm)")
        ax.set_xlabel(names[d0])
        ax.set_ylabel(names[d1])
        ax.set_title(name)
    if marks:
        axes[0].legend(loc="upper right", fontsize=7, framealpha=0.6)
    fig.colorbar(image, ax=list(axes), label=label, shrink=0.85)
    if title:
        fig.suptitle(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
