"""Accuracy of a predicted pressure field against the simulated one: the one metrics module used by training,
evaluation and benchmarks. Fields are pressure amplitudes in Pa (any positive scale works for the scale-free
metrics), single samples of shape ``(*S)``; world geometry comes from ``affine`` (voxel -> world mm, ``(D+1) x
(D+1)``) or, without one, ``spacing`` (mm, one per axis or one for all).

* ``rel_l2_percent``: ``100 ||p_hat - p|| / ||p||`` on the fields in Pa;
* ``rel_l2_log_percent``: the same on the log-normalised maps ``log(1 + p / max p) / log 2`` of each field (the
  DeepTFUS re-implementation's definition; the paper's 41.4 % is of this kind);
* ``focal_error_mm``: world distance between the two maxima (argmax voxels);
* ``peak_error_percent``: ``100 |max p_hat - max p| / max p``;
* ``focal_dice``, ``focal_iou``: overlap of the -6 dB focal regions, each the voxels above half its own maximum
  (``level`` 0.5, as :mod:`tfus.pipeline.validation.beam_metrics`) connected (faces, edges or corners) to its
  maximum (``connected=False``: every voxel above the level);
* ``focal_volume_error_percent``: ``100 |V_hat - V| / V`` of those regions;
* ``time_rel_l2_percent`` (time-resolved models): ``100 ||p_hat(t, x) - p(t, x)|| / ||p||`` over all snapshots and
  voxels.

The physics of one field (the -6 dB focal region and its volume, the mechanical index, Isppa, peak maps of
snapshots) lives in :mod:`tfus.pipeline.fields.metrics`; this module compares a prediction with its target.

With a ``mask`` (the head's intracranial voxels, label BRAIN), :func:`sample_metrics` adds the same two focal numbers
read inside it: ``focal_error_brain_mm`` (distance between the intracranial maxima) and ``peak_error_brain_percent``
(error of the intracranial peak). The paper's metric takes the maximum over the whole field, which on a coarse,
low-frequency grid can be a hot spot at the scalp or skull rather than the focus a study aims at; the intracranial
pair measures what a tFUS study plans with (where in the brain the focus lands, at what pressure).

:func:`sample_metrics` computes all of them for one sample, :func:`batch_metrics` for a batch and
:func:`aggregate` gives mean, median and count per metric over samples (NaN ignored).

Example:
    >>> import numpy as np
    >>> p = np.zeros((9, 9)); p[4, 4] = 1e6; p[3:6, 4] += 2e5
    >>> q = np.roll(p, 1, axis=1) * 1.1
    >>> m = sample_metrics(q, p, spacing=(0.5, 2.0))
    >>> round(m["focal_error_mm"], 3), round(m["peak_error_percent"], 3), m["focal_dice"]
    (2.0, 10.0, 0.0)
    >>> aggregate([m, m])["focal_error_mm"]["median"]
    2.0
    >>> p = np.zeros((9, 9)); p[1, 1] = 2e6; p[6, 6] = 1e6      # a hot spot at the scalp, and the focus
    >>> q = np.zeros((9, 9)); q[6, 6] = 1.1e6                   # a prediction of the focus alone
    >>> brain = np.zeros((9, 9), bool); brain[3:, 3:] = True    # e.g. labels == Label.BRAIN
    >>> m = sample_metrics(q, p, mask=brain)
    >>> round(m["focal_error_mm"], 2), m["focal_error_brain_mm"], round(m["peak_error_brain_percent"], 1)
    (7.07, 0.0, 10.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields.metrics import focal_region, voxel_affine
from tfus.pipeline.validation.beam_metrics import LEVEL_6DB

__all__ = ["MASKED_METRIC_NAMES", "METRIC_NAMES", "aggregate", "batch_metrics", "focal_dice", "focal_error_mm",
           "focal_iou", "focal_volume_error_percent", "peak_error_percent", "rel_l2_log_percent", "rel_l2_percent",
           "sample_metrics", "time_rel_l2_percent"]

METRIC_NAMES = ("rel_l2_percent", "rel_l2_log_percent", "focal_error_mm", "peak_error_percent", "focal_dice",
                "focal_iou", "focal_volume_error_percent")
#: the metrics :func:`sample_metrics` adds when given an intracranial ``mask``
MASKED_METRIC_NAMES = ("focal_error_brain_mm", "peak_error_brain_percent")


def _array(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _pair(pred, true) -> tuple[np.ndarray, np.ndarray]:
    p, t = _array(pred), _array(true)
    if p.shape != t.shape:
        raise TfusInputError(f"predicted field {p.shape} and reference {t.shape} differ in shape; resample first")
    return p, t


def rel_l2_percent(pred, true) -> float:
    """``100 ||pred - true|| / ||true||``."""
    p, t = _pair(pred, true)
    return float(100 * np.linalg.norm(p - t) / np.linalg.norm(t))


def rel_l2_log_percent(pred, true) -> float:
    """Relative L2 (%) of the log-normalised maps ``log(1 + p / max p) / log 2`` (each by its own maximum)."""
    p, t = _pair(pred, true)
    lp = np.log1p(np.maximum(p, 0) / max(p.max(), 1e-30)) / math.log(2)
    lt = np.log1p(np.maximum(t, 0) / t.max()) / math.log(2)
    return rel_l2_percent(lp, lt)


def _mask(mask, shape: tuple[int, ...]) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask.detach().cpu().numpy() if hasattr(mask, "detach") else mask).astype(bool)
    if m.shape != shape:
        raise TfusInputError(f"mask {m.shape} and fields {shape} differ in shape; pass the head's labels on the "
                             "field's grid")
    return m


def _argmax(field: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    flat = field if mask is None else np.where(mask, field, -np.inf)
    return np.array(np.unravel_index(np.argmax(flat), field.shape), float)


def _peak(field: np.ndarray, mask: np.ndarray | None) -> float:
    return float(field.max() if mask is None else field[mask].max())


def _focal_distance(p: np.ndarray, t: np.ndarray, a: np.ndarray, m: np.ndarray | None) -> float:
    if m is not None and not m.any():
        return math.nan
    return float(np.linalg.norm(a[: p.ndim, : p.ndim] @ (_argmax(p, m) - _argmax(t, m))))


def _peak_error(p: np.ndarray, t: np.ndarray, m: np.ndarray | None) -> float:
    if m is not None and not m.any():
        return math.nan
    peak = _peak(t, m)
    return float(100 * abs(_peak(p, m) - peak) / peak) if peak > 0 else math.nan


def focal_error_mm(pred, true, spacing: float | Sequence[float] = 1.0, affine=None, mask=None) -> float:
    """World distance (mm) between the maxima of ``pred`` and ``true`` (within ``mask`` if given; NaN for an
    empty mask)."""
    p, t = _pair(pred, true)
    return _focal_distance(p, t, voxel_affine(p.ndim, spacing, affine), _mask(mask, p.shape))


def peak_error_percent(pred, true, mask=None) -> float:
    """``100 |max pred - max true| / max true`` (maxima within ``mask`` if given; NaN for an empty mask)."""
    p, t = _pair(pred, true)
    return _peak_error(p, t, _mask(mask, p.shape))


def _overlap(pred, true, level: float, connected: bool) -> tuple[int, int, int]:
    p, t = _pair(pred, true)
    mp, mt = focal_region(p, level, connected), focal_region(t, level, connected)
    return int(np.count_nonzero(mp & mt)), int(np.count_nonzero(mp)), int(np.count_nonzero(mt))


def focal_dice(pred, true, level: float = LEVEL_6DB, connected: bool = True) -> float:
    """Dice of the -6 dB focal regions (1 = identical)."""
    inter, a, b = _overlap(pred, true, level, connected)
    return 2 * inter / (a + b)


def focal_iou(pred, true, level: float = LEVEL_6DB, connected: bool = True) -> float:
    """Intersection over union of the -6 dB focal regions."""
    inter, a, b = _overlap(pred, true, level, connected)
    return inter / (a + b - inter)


def focal_volume_error_percent(pred, true, level: float = LEVEL_6DB, connected: bool = True) -> float:
    """``100 |V_pred - V_true| / V_true`` of the -6 dB focal regions (the voxel volume cancels)."""
    _, a, b = _overlap(pred, true, level, connected)
    return 100 * abs(a - b) / b


def time_rel_l2_percent(pred, true) -> float:
    """``100 ||pred - true|| / ||true||`` over every snapshot and voxel (float64; numpy arrays or torch tensors).

    Example:
        >>> p = np.ones((4, 3, 3))
        >>> round(time_rel_l2_percent(1.1 * p, p), 6)
        10.0
    """
    p = pred.detach().double().cpu().numpy() if hasattr(pred, "detach") else np.asarray(pred, np.float64)
    t = true.detach().double().cpu().numpy() if hasattr(true, "detach") else np.asarray(true, np.float64)
    if p.shape != t.shape:
        raise ValueError(f"predicted snapshots {p.shape} and reference {t.shape} differ in shape")
    return float(100 * np.linalg.norm(p - t) / np.linalg.norm(t))


def sample_metrics(pred, true, spacing: float | Sequence[float] = 1.0, affine=None, level: float = LEVEL_6DB,
                   connected: bool = True, mask=None) -> dict[str, float]:
    """Every metric of :data:`METRIC_NAMES` for one sample (fields ``(*S)`` in Pa), plus the two peaks (Pa) and
    focal volumes (mm^3); with ``mask`` (intracranial voxels, ``(*S)``) also :data:`MASKED_METRIC_NAMES` (NaN when
    the mask is empty) and the two intracranial peaks (Pa)."""
    p, t = _pair(pred, true)
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(t))) or t.max() <= 0:
        raise TfusInputError("fields must be finite and the reference must have a positive maximum")
    a = voxel_affine(p.ndim, spacing, affine)
    inter, n_p, n_t = _overlap(p, t, level, connected)
    voxel = abs(float(np.linalg.det(a[: p.ndim, : p.ndim])))
    return {"rel_l2_percent": rel_l2_percent(p, t), "rel_l2_log_percent": rel_l2_log_percent(p, t),
            "focal_error_mm": _focal_distance(p, t, a, None), "peak_error_percent": _peak_error(p, t, None),
            "focal_dice": 2 * inter / (n_p + n_t), "focal_iou": inter / (n_p + n_t - inter),
            "focal_volume_error_percent": 100 * abs(n_p - n_t) / n_t,
            "peak_pred_pa": float(p.max()), "peak_true_pa": float(t.max()),
            "focal_volume_pred_mm3": n_p * voxel, "focal_volume_true_mm3": n_t * voxel,
            **({} if mask is None else _masked(p, t, a, _mask(mask, p.shape)))}


def _masked(p: np.ndarray, t: np.ndarray, a: np.ndarray, m: np.ndarray) -> dict[str, float]:
    return {"focal_error_brain_mm": _focal_distance(p, t, a, m), "peak_error_brain_percent": _peak_error(p, t, m),
            "peak_brain_pred_pa": _peak(p, m) if m.any() else math.nan,
            "peak_brain_true_pa": _peak(t, m) if m.any() else math.nan}


def batch_metrics(pred, true, spacing: float | Sequence[float] = 1.0, affine=None, spatial_dims: int | None = None,
                  **kwargs) -> list[dict[str, float]]:
    """:func:`sample_metrics` of every sample of a batch ``(B, [1,] *S)``; ``affine`` may be one per sample
    ``(B, D+1, D+1)``. ``spatial_dims`` defaults to the affine's dimension, else ``ndim - 1``."""
    p, t = _pair(pred, true)
    a = None if affine is None else _array(affine)
    nd = spatial_dims or (a.shape[-1] - 1 if a is not None else p.ndim - 1)
    p, t = p.reshape(p.shape[0], *p.shape[-nd:]), t.reshape(t.shape[0], *t.shape[-nd:])
    out = []
    for i in range(p.shape[0]):
        ai = a[i] if a is not None and a.ndim == 3 else a
        out.append(sample_metrics(p[i], t[i], spacing=spacing, affine=ai, **kwargs))
    return out


def aggregate(records: Iterable[Mapping[str, float]], names: Sequence[str] | None = None) -> dict[str, dict]:
    """Mean, median and count (finite values) of each metric over samples.

    Example:
        >>> aggregate([{"focal_error_mm": 1.0}, {"focal_error_mm": 3.0}, {"focal_error_mm": 8.0}])
        {'focal_error_mm': {'mean': 4.0, 'median': 3.0, 'n': 3}}
    """
    records = list(records)
    keys = list(names) if names is not None else [k for k in (records[0] if records else {})]
    out = {}
    for key in keys:
        values = np.array([r[key] for r in records if key in r and r[key] is not None], float)
        values = values[np.isfinite(values)]
        out[key] = ({"mean": float(values.mean()), "median": float(np.median(values)), "n": int(values.size)}
                    if values.size else {"mean": math.nan, "median": math.nan, "n": 0})
    return out
