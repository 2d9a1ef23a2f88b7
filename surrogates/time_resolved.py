"""What time-resolved pressure gives: peak positive and peak negative pressure maps, the peak ``|p|`` map and the
mechanical index, from snapshots ``(..., T, *S)`` (time on axis ``time_axis``, default the first). One module for the
training metrics, evaluation and ``tfus predict``; numpy arrays or torch tensors in, the same kind out.

* peak positive pressure ``PPP = max_t p``; peak negative (rarefactional) pressure ``PNP = -min_t p`` (a magnitude,
  as the MI uses it); peak ``|p|`` map ``= max_t |p| = max(PPP, PNP)`` (the "peak-pressure map" compared with
  DeepTFUS's amplitude maps);
* mechanical index ``MI = PNP [MPa] / sqrt(f [MHz])`` (IEC 62359 / FDA, in water or derated as the field is: here the
  simulated field in tissue, not derated);
* ``time_rel_l2_percent``: ``100 ||p_hat(t, x) - p(t, x)|| / ||p||`` over all snapshots and voxels.

The peaks are those of the snapshots given: snapshots spaced wider than the carrier's half period miss the true
crest (a tone burst sampled every ~0.75 period under-reads it by up to ~30 %, ~10 % typically); the k-Wave engine's
``meta["p_max"] / ["p_min"]`` hold the every-step peaks where that matters.

Example:
    >>> import numpy as np
    >>> t = np.arange(64) / 64 / 5e5                        # one period of 500 kHz, 64 samples
    >>> p = 2e5 + 1e6 * np.sin(2 * np.pi * 5e5 * t)          # 1 MPa sinusoid on a 0.2 MPa offset
    >>> float(peak_positive(p)), float(peak_negative(p)), round(float(mechanical_index(peak_negative(p), 5e5)), 4)
    (1200000.0, 800000.0, 1.1314)
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["mechanical_index", "peak_abs", "peak_negative", "peak_positive", "snapshots_pascal", "time_rel_l2_percent"]


def _is_torch(x) -> bool:
    return isinstance(x, torch.Tensor)


def peak_positive(snapshots, time_axis: int = 0):
    """``max_t p`` (Pa)."""
    return snapshots.amax(dim=time_axis) if _is_torch(snapshots) else np.max(snapshots, axis=time_axis)


def peak_negative(snapshots, time_axis: int = 0):
    """``-min_t p`` (Pa; positive for a rarefaction)."""
    return -(snapshots.amin(dim=time_axis) if _is_torch(snapshots) else np.min(snapshots, axis=time_axis))


def peak_abs(snapshots, time_axis: int = 0):
    """``max_t |p|`` (Pa): the peak-pressure map."""
    a = snapshots.abs() if _is_torch(snapshots) else np.abs(snapshots)
    return peak_positive(a, time_axis)


def mechanical_index(peak_negative_pa, frequency_hz: float):
    """``MI = PNP [MPa] / sqrt(f [MHz])`` (elementwise; PNP in Pa, as :func:`peak_negative` returns it)."""
    if not frequency_hz > 0:
        raise ValueError(f"frequency must be positive, got {frequency_hz}")
    return peak_negative_pa / 1e6 / math.sqrt(frequency_hz / 1e6)


def time_rel_l2_percent(pred, true) -> float:
    """``100 ||pred - true|| / ||true||`` over every snapshot and voxel (float64)."""
    p = pred.detach().double().cpu().numpy() if _is_torch(pred) else np.asarray(pred, np.float64)
    t = true.detach().double().cpu().numpy() if _is_torch(true) else np.asarray(true, np.float64)
    if p.shape != t.shape:
        raise ValueError(f"predicted snapshots {p.shape} and reference {t.shape} differ in shape")
    return float(100 * np.linalg.norm(p - t) / np.linalg.norm(t))


def snapshots_pascal(field: torch.Tensor, log_peak: torch.Tensor, normalization) -> torch.Tensor:
    """``(B, 1, T, *S)`` normalised snapshots and ``(B,)`` normalised log peaks -> ``(B, T, *S)`` in Pa (the one
    conversion, shared by training metrics and inference; ``normalization``: a
    :class:`~tfus.surrogates.normalization.Normalization`).

    Example:
        >>> from tfus.surrogates.normalization import Normalization
        >>> norm = Normalization()
        >>> out = snapshots_pascal(torch.ones(1, 1, 2, 3), torch.zeros(1), norm)
        >>> out.shape, bool(torch.allclose(out, norm.peak_pa(torch.zeros(1)).reshape(1, 1, 1).expand(1, 2, 3)))
        (torch.Size([1, 2, 3]), True)
    """
    peak = normalization.peak_pa(log_peak.float())
    return field[:, 0].float() * peak.reshape(-1, *([1] * (field.ndim - 2)))
