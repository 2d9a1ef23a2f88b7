"""PNG figures of volumes: orthogonal slices through a point with a label map or a field overlaid.

Example:
    >>> import tempfile, pathlib
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "head.png"
    >>> save_label_overlay(ellipsoid_head(spacing_mm=4.0), p)
    >>> p.stat().st_size > 0
    True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.io.atomic import atomic_path

LABEL_COLOURS = {Label.SCALP: "#f4a261", Label.CORTICAL: "#e9f5db", Label.TRABECULAR: "#e63946",
                 Label.BRAIN: "#457b9d"}


def _orthogonal(volume: np.ndarray, centre: tuple[int, int, int]) -> list[np.ndarray]:
    i, j, k = centre
    return [volume[i, :, :].T, volume[:, j, :].T, volume[:, :, k].T]  # sagittal, coronal, axial (display: up = S/A)


def save_label_overlay(head: HeadModel, path: str | Path, centre_world: np.ndarray | None = None,
                       title: str | None = None, points_world: np.ndarray | None = None) -> None:
    """Sagittal, coronal and axial slices of the HU volume with labels overlaid (through ``centre_world`` mm, default
    the brain centroid); optional ``points_world`` (N, 3) are projected onto each view."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    if centre_world is None:
        brain = np.argwhere(head.labels == Label.BRAIN)
        ijk = brain.mean(axis=0) if len(brain) else np.array(head.shape) / 2
    else:
        ijk = head.world_to_voxel(np.asarray(centre_world, float))
    ijk = tuple(int(np.clip(round(v), 0, n - 1)) for v, n in zip(ijk, head.shape))
    a = np.asarray(head.affine)
    spacing = np.linalg.norm(a[:3, :3], axis=0)
    origin = a[:3, 3]
    ext = [origin + spacing * 0, origin + spacing * (np.array(head.shape) - 1)]
    extents = [(ext[0][1], ext[1][1], ext[0][2], ext[1][2]), (ext[0][0], ext[1][0], ext[0][2], ext[1][2]),
               (ext[0][0], ext[1][0], ext[0][1], ext[1][1])]
    axes_names = [("A (mm)", "S (mm)"), ("R (mm)", "S (mm)"), ("R (mm)", "A (mm)")]
    cmap = ListedColormap(["#00000000"] + [LABEL_COLOURS[lab] for lab in sorted(LABEL_COLOURS)])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6), constrained_layout=True)
    for n, (ax, hu, lab) in enumerate(zip(axes, _orthogonal(head.hu, ijk), _orthogonal(head.labels, ijk))):
        ax.imshow(hu, origin="lower", cmap="gray", vmin=-200, vmax=1800, extent=extents[n])
        ax.imshow(np.ma.masked_equal(lab, 0), origin="lower", cmap=cmap, vmin=-0.5, vmax=4.5, alpha=0.35,
                  extent=extents[n], interpolation="nearest")
        ax.set_xlabel(axes_names[n][0])
        ax.set_ylabel(axes_names[n][1])
        if points_world is not None and len(points_world):
            dims = [(1, 2), (0, 2), (0, 1)][n]
            pw = np.asarray(points_world)
            ax.scatter(pw[:, dims[0]], pw[:, dims[1]], s=12, c="yellow", edgecolors="black", linewidths=0.5)
    axes[0].set_title("sagittal")
    axes[1].set_title("coronal")
    axes[2].set_title("axial")
    handles = [plt.Rectangle((0, 0), 1, 1, color=LABEL_COLOURS[lab]) for lab in sorted(LABEL_COLOURS)]
    fig.legend(handles, [lab.name.lower() for lab in sorted(LABEL_COLOURS)], loc="lower center", ncol=4,
               frameon=False, bbox_to_anchor=(0.5, -0.06))
    if title:
        fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, bbox_inches="tight")
    plt.close(fig)


def save_field_comparison(path: str | Path, hu: np.ndarray, affine: np.ndarray, reference: np.ndarray,
                          prediction: np.ndarray, *, centre_world: np.ndarray | None = None,
                          labels: tuple[str, str] = ("simulated", "predicted"), title: str | None = None) -> None:
    """Three rows (reference, prediction, |difference|) x three orthogonal slices through ``centre_world`` (default:
    the reference maximum), fields in kPa over the CT in grey; one colour scale for the two fields.

    Example:
        >>> import tempfile, pathlib
        >>> f = np.zeros((8, 8, 8)); f[4, 4, 4] = 1.0
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "cmp.png"
        >>> save_field_comparison(p, np.zeros((8, 8, 8)), np.eye(4), f, 0.9 * f)
        >>> p.stat().st_size > 0
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = np.asarray(affine, float)
    if centre_world is None:
        centre = np.unravel_index(int(np.argmax(reference)), reference.shape)
    else:
        ijk = np.linalg.solve(a[:3, :3], np.asarray(centre_world, float) - a[:3, 3])
        centre = tuple(int(np.clip(round(float(v)), 0, n - 1)) for v, n in zip(ijk, reference.shape))
    vmax = float(max(np.max(reference), np.max(prediction))) / 1e3
    diff = np.abs(np.asarray(prediction, float) - np.asarray(reference, float))
    rows = [(labels[0], reference, vmax, "inferno"), (labels[1], prediction, vmax, "inferno"),
            ("|difference|", diff, vmax, "viridis")]
    fig, axes = plt.subplots(3, 3, figsize=(10, 9))
    ct = _orthogonal(np.asarray(hu, float), centre)
    for r, (name, vol, top, cmap) in enumerate(rows):
        for c, (sl, view) in enumerate(zip(_orthogonal(np.asarray(vol, float) / 1e3, centre),
                                           ("sagittal", "coronal", "axial"))):
            ax = axes[r, c]
            ax.imshow(ct[c], cmap="gray", origin="lower", vmin=-200, vmax=1500)
            im = ax.imshow(np.ma.masked_less(sl, 0.05 * top), cmap=cmap, origin="lower", vmin=0, vmax=top, alpha=0.8)
            ax.set_title(f"{name}, {view}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=axes[r].tolist(), shrink=0.8, label="kPa")
    if title:
        fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
