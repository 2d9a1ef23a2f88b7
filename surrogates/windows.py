"""Grid handling of surrogate inference: a head grid of any size on a model trained on a fixed window.

* **Smaller** than the trained window along an axis: padded with air (HU -1000) on both sides (centred) and the
  prediction cropped back (:func:`pad_to_shape`); the affine moves so world positions are unchanged.
* **Larger**: MONAI's :func:`monai.inferers.sliding_window_inference` with ``roi_size`` = the trained window,
  Gaussian blending and ``with_coord=True``: MONAI passes each window's slices to the predictor, which re-expresses
  the transducer points in *that window's* [-1, 1] frame (:func:`window_points`) — the frame the model's coordinate
  channels and points were trained in, so every window sees the bowl where it really is relative to it. Each window
  is turned into pascals with its own predicted peak before blending (the maps are normalised per window).
* **Larger, local inputs** (the time-resolved model, whose inputs are fields computed on the whole grid — CT, bowl
  raster, distance to the focus, the drive at each voxel's retarded time): :func:`sliding_window_fields` cuts every
  channel with the same window and blends the per-window outputs (any number of channels, e.g. the snapshots).

Limitation: the model was trained on windows that hold the whole beam; windows away from the focus see the bowl far
outside and are extrapolations. Their weight near the focus is small (Gaussian blending, sigma = 1/8 of the window),
but a head much larger than the trained window is best served by a model trained on such heads.

Example:
    >>> import numpy as np
    >>> hu, aff, crop = pad_to_shape(np.zeros((10, 16, 20), np.float32), np.eye(4), (16, 16, 16))
    >>> hu.shape, aff[:3, 3].tolist(), crop
    ((16, 16, 20), [-3.0, 0.0, 0.0], (slice(3, 13, None), slice(0, 16, None), slice(0, 20, None)))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from tfus.surrogates.normalization import grid_to_index, index_to_grid

__all__ = ["AIR_HU", "pad_to_shape", "sliding_window_fields", "sliding_window_predict", "window_points"]

AIR_HU = -1000.0


def pad_to_shape(hu: np.ndarray, affine: np.ndarray, shape: Sequence[int], value: float = AIR_HU
                 ) -> tuple[np.ndarray, np.ndarray, tuple[slice, ...]]:
    """``hu`` padded (centred, with ``value``) so every axis is at least ``shape``; the padded grid's affine and the
    slices that cut the original grid back out of it."""
    hu = np.asarray(hu, np.float32)
    lo = np.maximum(np.asarray(shape) - np.asarray(hu.shape), 0) // 2
    hi = np.maximum(np.asarray(shape) - np.asarray(hu.shape), 0) - lo
    crop = tuple(slice(int(a), int(a) + n) for a, n in zip(lo, hu.shape))
    affine = np.array(affine, float)
    if not (lo.any() or hi.any()):
        return hu, affine, crop
    padded = np.pad(hu, tuple(zip(lo.tolist(), hi.tolist())), constant_values=value)
    affine[:3, 3] = affine[:3, :3] @ (-lo.astype(float)) + affine[:3, 3]
    return padded, affine, crop


def window_points(points: torch.Tensor, full_shape: Sequence[int], starts: Sequence[int],
                  roi: Sequence[int]) -> torch.Tensor:
    """Points ``(..., 3)`` in the full grid's [-1, 1] frame -> the [-1, 1] frame of the window of size ``roi`` whose
    first voxel is ``starts`` (voxel indices in the full grid).

    Example:
        >>> p = torch.tensor([[0.0, -1.0, 1.0]])
        >>> window_points(p, (21, 21, 21), (10, 0, 10), (11, 11, 11)).tolist()
        [[-1.0, -1.0, 1.0]]
    """
    start = torch.as_tensor(list(starts), dtype=points.dtype, device=points.device)
    return index_to_grid(grid_to_index(points, full_shape) - start, roi)


def sliding_window_predict(ct: torch.Tensor, points: torch.Tensor, roi: Sequence[int],
                           window_pascal: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                           overlap: float = 0.5, sw_batch_size: int = 1) -> tuple[torch.Tensor, int]:
    """Pressure (Pa) on the whole of ``ct`` (``(1, C, *S)``, every axis >= ``roi``) from windows of size ``roi``.

    Args:
        ct: normalised CT of the full grid.
        points: ``(N, 3)`` transducer points in the full grid's [-1, 1] frame.
        roi: the trained window.
        window_pascal: ``(ct windows (B, C, *roi), points (B, N, 3) in each window's frame) -> (B, 1, *roi)`` Pa.
        overlap: window overlap fraction (MONAI's ``overlap``).
        sw_batch_size: windows per forward pass.

    Returns:
        ``((1, 1, *S) Pa, number of windows)``.
    """
    from monai.inferers import sliding_window_inference

    full = tuple(int(s) for s in ct.shape[2:])
    roi = tuple(int(r) for r in roi)
    count = [0]

    def predictor(window: torch.Tensor, locations: list) -> torch.Tensor:
        # one entry per window: [batch slice, channel slice, *spatial slices]
        pts = torch.stack([window_points(points, full, [s.start for s in loc[2:]], roi) for loc in locations])
        count[0] += len(locations)
        return window_pascal(window, pts)

    out = sliding_window_inference(ct, roi, sw_batch_size, predictor, overlap=overlap, mode="gaussian",
                                   with_coord=True)
    return out, count[0]


def sliding_window_fields(inputs: torch.Tensor, roi: Sequence[int],
                          window_fn: Callable[[torch.Tensor], torch.Tensor], overlap: float = 0.5,
                          sw_batch_size: int = 1) -> tuple[torch.Tensor, int]:
    """``window_fn`` over the whole of ``inputs`` (``(1, C, *S)``, every axis >= ``roi``) by MONAI sliding windows
    with Gaussian blending.

    Args:
        inputs: every input channel on the full grid.
        roi: the trained window.
        window_fn: ``(B, C, *roi) -> (B, K, *roi)`` (e.g. the snapshots in Pa).
        overlap: window overlap fraction.
        sw_batch_size: windows per call.

    Returns:
        ``((1, K, *S), number of windows)``.

    Example:
        >>> x = torch.rand(1, 2, 12, 9, 10)
        >>> out, n = sliding_window_fields(x, (8, 8, 8), lambda w: w[:, :1] * w[:, 1:])
        >>> out.shape, n, bool(torch.allclose(out, x[:, :1] * x[:, 1:], atol=1e-6))
        (torch.Size([1, 1, 12, 9, 10]), 8, True)
    """
    from monai.inferers import sliding_window_inference

    count = [0]

    def predictor(window: torch.Tensor) -> torch.Tensor:
        count[0] += window.shape[0]
        return window_fn(window)

    out = sliding_window_inference(inputs, tuple(int(r) for r in roi), sw_batch_size, predictor, overlap=overlap,
                                   mode="gaussian")
    return out, count[0]
