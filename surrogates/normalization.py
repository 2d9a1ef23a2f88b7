"""Input and target normalisation of the surrogates, and the way back to pascals.

* **CT**: HU clipped to ``[hu_min, hu_max]`` (default [0, 2000] as in DeepTFUS) and scaled to [0, 1]: soft tissue
  and water sit near 0, dense cortical bone near 1, air (< 0 HU) is clipped to 0.
* **Field**: ``y = log(1 + p / p_max) / log 2`` with ``p_max`` the sample's own peak (DeepTFUS' log target, divided
  by ``log 2`` so the peak is exactly 1 and the map lies in [0, 1]). The log compresses the dynamic range so the
  weak field away from the focus still counts.
* **Scale**: the peak itself, as ``s = (log(p_max / p_ref) - mean) / std`` (``mean, std`` fitted on the training
  peaks with :meth:`Normalization.fit_peaks`), predicted by the model's scale head.
* **Back to Pa** (:meth:`Normalization.to_pascal`): ``p = p_max * (2**y - 1)``; with ``renormalize`` (default) the
  predicted map is first rescaled so its maximum is exactly ``p_max``, so the returned peak is the scale head's and
  the map contributes only the shape.
* **Points**: voxel indices ``(i, j, k)`` to [-1, 1] with ``-1`` / ``+1`` the first / last voxel centre (the
  frame of the model's coordinate channels), from world mm through the inverse affine.

Every function takes numpy arrays or torch tensors and returns the same kind.

Example:
    >>> import numpy as np
    >>> norm = Normalization().fit_peaks([2e5, 5e5, 1e6])
    >>> p = np.array([[0.0, 1e5], [2.5e5, 5e5]])
    >>> y, peak = norm.field(p)
    >>> float(y.max()), bool(np.allclose(norm.to_pascal(y, norm.log_peak(peak)), p))
    (1.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from tfus.pipeline.errors import TfusInputError

__all__ = ["Normalization", "grid_to_index", "index_to_grid", "snapshots_pascal", "world_to_grid"]

LN2 = math.log(2.0)


#: floor of the fitted log-peak std (:meth:`Normalization.fit_peaks`)
LOG_PEAK_STD_FLOOR = 0.05


def _is_torch(x) -> bool:
    return isinstance(x, torch.Tensor)


def _peak(x, spatial_dims: int | None):
    """Maximum over the last ``spatial_dims`` axes (all when None), keeping those axes for broadcasting."""
    n = x.ndim if spatial_dims is None else int(spatial_dims)
    axes = tuple(range(x.ndim - n, x.ndim))
    return x.amax(dim=axes, keepdim=True) if _is_torch(x) else np.max(x, axis=axes, keepdims=True)


@dataclass(frozen=True)
class Normalization:
    """The normalisation constants (store them with a trained model).

    Attributes:
        hu_min: HU mapped to 0.
        hu_max: HU mapped to 1.
        p_ref_pa: reference pressure of the log scale (Pa).
        log_peak_mean: mean of ``log(p_max / p_ref)`` over the training set.
        log_peak_std: its standard deviation.
    """

    hu_min: float = 0.0
    hu_max: float = 2000.0
    p_ref_pa: float = 1e6
    log_peak_mean: float = 0.0
    log_peak_std: float = 1.0

    def __post_init__(self) -> None:
        if not self.hu_max > self.hu_min:
            raise TfusInputError(f"hu_max {self.hu_max} must exceed hu_min {self.hu_min}")
        if not (self.p_ref_pa > 0 and self.log_peak_std > 0):
            raise TfusInputError("p_ref_pa and log_peak_std must be positive")

    def ct(self, hu):
        """HU -> [0, 1]."""
        scaled = (hu - self.hu_min) / (self.hu_max - self.hu_min)
        return scaled.clamp(0.0, 1.0) if _is_torch(scaled) else np.clip(scaled, 0.0, 1.0)

    def field(self, pressure, spatial_dims: int | None = None):
        """Pressure amplitude (Pa) -> ``(y, p_max)``: the map in [0, 1] and the peak over the last
        ``spatial_dims`` axes (all axes when None), shaped like the leading axes."""
        p = pressure.clamp(min=0) if _is_torch(pressure) else np.maximum(pressure, 0)
        peak = _peak(p, spatial_dims)
        if bool((peak <= 0).any()):
            raise TfusInputError("a pressure field is all zero; it cannot be normalised (drop the sample)")
        y = (p / peak).log1p() / LN2 if _is_torch(p) else np.log1p(p / peak) / LN2
        n = p.ndim if spatial_dims is None else int(spatial_dims)
        return y, peak.reshape(peak.shape[: p.ndim - n])

    def log_peak(self, peak_pa):
        """Peak pressure (Pa) -> normalised log peak (the scale head's target)."""
        lg = peak_pa.log() if _is_torch(peak_pa) else np.log(np.asarray(peak_pa, float))
        return (lg - math.log(self.p_ref_pa) - self.log_peak_mean) / self.log_peak_std

    def peak_pa(self, log_peak):
        """Normalised log peak -> peak pressure (Pa)."""
        lg = log_peak * self.log_peak_std + self.log_peak_mean + math.log(self.p_ref_pa)
        return lg.exp() if _is_torch(lg) else np.exp(lg)

    def to_pascal(self, y, log_peak, spatial_dims: int | None = None, renormalize: bool = True):
        """Normalised map ``y`` and normalised log peak (scalar or one per leading index) -> pressure (Pa).

        Args:
            y: predicted map; the last ``spatial_dims`` axes (all when None) are spatial.
            log_peak: normalised log peak, shaped like the leading axes of ``y``.
            spatial_dims: number of trailing spatial axes.
            renormalize: rescale the map so its maximum is exactly the predicted peak.
        """
        t = _is_torch(y)
        y = y.clamp(min=0) if t else np.maximum(np.asarray(y, float), 0)
        lead = y.ndim - (y.ndim if spatial_dims is None else int(spatial_dims))
        peak = self.peak_pa(log_peak)
        peak = peak.reshape(*peak.shape, *([1] * (y.ndim - lead))) if t else \
            np.reshape(peak, np.shape(peak) + (1,) * (y.ndim - lead))
        shape = (2.0 ** y) - 1.0
        if renormalize:
            top = _peak(shape, y.ndim - lead)
            shape = shape / (top.clamp(min=1e-12) if t else np.maximum(top, 1e-12))
        return peak * shape

    def fit_peaks(self, peaks_pa: Sequence[float] | np.ndarray) -> Normalization:
        """A copy with ``log_peak_mean/std`` fitted on training peaks.

        The std is floored at :data:`LOG_PEAK_STD_FLOOR` (5 % in pressure): a handful of training fields with
        nearly equal peaks would otherwise blow any small peak mismatch up into a scale loss that swamps the field
        loss in the shared encoder."""
        lg = np.log(np.asarray(peaks_pa, float)) - math.log(self.p_ref_pa)
        if lg.size == 0 or not np.all(np.isfinite(lg)):
            raise TfusInputError("fit_peaks needs at least one positive, finite peak pressure")
        return replace(self, log_peak_mean=float(lg.mean()), log_peak_std=max(float(lg.std()), LOG_PEAK_STD_FLOOR))

    def to_dict(self) -> dict:
        """Plain JSON-able constants."""
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__}


def _shape_array(shape, like):
    n = torch.as_tensor(shape, dtype=like.dtype, device=like.device) if _is_torch(like) else np.asarray(shape, float)
    return (n - 1).clamp(min=1) if _is_torch(n) else np.maximum(n - 1, 1)


def index_to_grid(ijk, shape: Sequence[int]):
    """Voxel indices ``(..., D)`` -> [-1, 1] grid coordinates (first voxel -1, last +1).

    Example:
        >>> index_to_grid(np.array([[0, 5, 10]]), (11, 11, 11)).tolist()
        [[-1.0, 0.0, 1.0]]
    """
    return 2.0 * ijk / _shape_array(shape, ijk) - 1.0


def grid_to_index(u, shape: Sequence[int]):
    """Inverse of :func:`index_to_grid` (fractional voxel indices)."""
    return (u + 1.0) * _shape_array(shape, u) / 2.0


def world_to_grid(points_mm, affine, shape: Sequence[int]) -> np.ndarray:
    """World points (mm, ``(..., D)``) -> [-1, 1] grid coordinates through the inverse voxel -> world affine.

    Example:
        >>> aff = np.diag([0.5, 0.5, 0.5, 1.0]); aff[:3, 3] = -2.5
        >>> world_to_grid(np.array([[-2.5, 0.0, 2.5]]), aff, (11, 11, 11)).tolist()
        [[-1.0, 0.0, 1.0]]
    """
    pts = np.asarray(points_mm, float)
    nd = pts.shape[-1]
    inv = np.linalg.inv(np.asarray(affine, float))
    if inv.shape != (nd + 1, nd + 1):
        raise TfusInputError(f"{nd}D points need a {nd + 1}x{nd + 1} affine, got {inv.shape}")
    ijk = pts @ inv[:nd, :nd].T + inv[:nd, nd]
    return index_to_grid(ijk, shape)


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
