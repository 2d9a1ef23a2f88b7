"""The training seam of the time-resolved surrogate ``sep4d`` (:class:`~tfus.surrogates.networks.nets.sep4d.Sep4dUNet`):
its dataset (:class:`~tfus.surrogates.data.snapshots.StoreSnapshotDataset`), how a batch goes in, the loss on the
snapshots and the validation metrics.

Loss (weights are :class:`~tfus.surrogates.losses.LossConfig` keys, so a training YAML sets them as for DeepTFUS):

* ``weighted``: the *relative* weighted squared error of the peak-normalised snapshots, per item
  ``mean_v w (p_hat - p)^2 / E`` with ``w = exp(alpha (|P| - max |P|))`` (mean 1) from the target's magnitude
  (DeepTFUS's ``L_w`` for a signed field: the crests and troughs of the focal burst count ``e^alpha`` times more
  than the silent background) and ``E`` the mean ``p^2`` of the **whole sample** (``target_energy`` of the
  dataset; the item's own when absent). ``alpha: 0`` makes it the squared relative L2 the metric reports;
* ``gradient``: the same for the forward differences along T, Z, Y and X (the axes the item has), over the whole
  sample's ``target_grad_energy``, weight ``grad_weight``;
* ``scale``: squared error of the normalised log peak, weight ``scale_weight``.

Why relative: a burst fills a small part of the 4D volume at any time, so the plain mean squared error of predicting
silence everywhere is ~2e-3 on demo-4d (measured), three orders below the scale term, and a first demo run learned
the scale and little of the field (it ended above that silent baseline). Why the whole sample's energy: a z-slab
(Tetris stage 1) far from the beam has almost none, and dividing by its own made those slabs' losses 1e5 and the
training erratic (measured); with the sample's energy every slab is weighed as the same voxels are in 4D.

``focal_weight`` (the soft-argmax focus term of DeepTFUS) is not defined for snapshots: a value > 0 is refused.

Metrics (``val_metrics``): the DeepTFUS metrics (:data:`~tfus.surrogates.training.adapter.VAL_METRICS`) on the
peak-pressure maps ``max_t |p|`` in Pa, plus ``time_rel_l2_percent`` over all snapshots.

Example:
    >>> import torch
    >>> from tfus.surrogates.registry import build_model
    >>> model = build_model("sep4d", {"preset": "tiny"})
    >>> ct, geometry, wave = model.example_inputs(1, (4, 4, 4, 4))
    >>> batch = {"ct": ct, "geometry": geometry, "wave": wave, "target": torch.rand(1, 1, 4, 4, 4, 4),
    ...          "log_peak": torch.zeros(1)}
    >>> adapter = Sep4dAdapter()
    >>> sorted(adapter.loss(adapter.forward(model, batch), batch))
    ['gradient', 'scale', 'total', 'weighted']
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields import peak_abs
from tfus.surrogates.data.snapshots import StoreSnapshotDataset
from tfus.surrogates.data.wave_inputs import to_model_axes
from tfus.surrogates.losses import LossConfig, focal_weights
from tfus.surrogates.metrics import time_rel_l2_percent
from tfus.surrogates.normalization import Normalization, snapshots_pascal
from tfus.surrogates.training.adapter import VAL_METRICS, ModelAdapter

__all__ = ["Sep4dAdapter", "gradient_energy", "relative_gradient_loss", "snapshots_pascal"]


def gradient_energy(target: torch.Tensor) -> torch.Tensor:
    """``(B, D)``: the mean squared forward difference of ``(B, C, *S)`` along each of the ``D`` axes of ``S`` (0
    along an axis of one entry)."""
    return torch.stack([torch.diff(target, dim=a).pow(2).flatten(1).mean(1) if target.shape[a] > 1
                        else target.new_zeros(target.shape[0]) for a in range(2, target.ndim)], dim=1)


def relative_gradient_loss(pred: torch.Tensor, target: torch.Tensor,
                           reference: torch.Tensor | None = None) -> torch.Tensor:
    """``sum_a mean (d_a (p_hat - p))^2 / sum_a reference_a`` per item over the axes ``a`` of more than one entry,
    averaged over the batch; ``reference`` ``(B, D)`` defaults to :func:`gradient_energy` of ``target``.

    Example:
        >>> t = torch.arange(8.0).view(1, 1, 2, 4)
        >>> float(relative_gradient_loss(torch.zeros_like(t), t)), float(relative_gradient_loss(t + 3, t))
        (1.0, 0.0)
    """
    axes = [a for a in range(2, pred.ndim) if pred.shape[a] > 1]
    reference = gradient_energy(target) if reference is None else reference.float()
    diff = pred - target
    num = sum(torch.diff(diff, dim=a).pow(2).flatten(1).mean(1) for a in axes)
    den = sum(reference[:, a - 2] for a in axes)
    return (num / den.detach().clamp_min(1e-12)).mean()


class Sep4dAdapter(ModelAdapter):
    """``model(ct, geometry, wave)``; loss and metrics on the snapshots (see the module docstring).

    Args:
        loss: the loss weights (``focal_weight`` must be 0).
        spacing_mm: voxel size (unused by the loss; kept for the common signature).
    """

    def __init__(self, loss: LossConfig | None = None, spacing_mm: float = 1.0) -> None:
        self.config = loss or LossConfig()
        if self.config.focal_weight > 0:
            raise TfusInputError("loss.focal_weight is not defined for the time-resolved sep4d model; set it to 0")
        self.spacing_mm = float(spacing_mm)

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        return model(batch["ct"], batch["geometry"], batch["wave"])

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg = self.config
        pred, target = out.field.float(), batch["target"].float()
        if pred.shape != target.shape:
            raise TfusInputError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        weights = focal_weights(target.abs(), cfg.alpha)
        energy = batch.get("target_energy")
        energy = (target ** 2).flatten(1).mean(1) if energy is None else energy.float()
        weighted = ((weights * (pred - target) ** 2).flatten(1).mean(1) / energy.clamp_min(1e-12)).mean()
        terms = {"weighted": weighted,
                 "gradient": relative_gradient_loss(pred, target, batch.get("target_grad_energy"))}
        total = terms["weighted"] + cfg.grad_weight * terms["gradient"]
        if getattr(out, "log_peak", None) is not None:
            terms["scale"] = ((out.log_peak.float() - batch["log_peak"].float()) ** 2).mean()
            total = total + cfg.scale_weight * terms["scale"]
        terms["total"] = total
        return terms

    def metrics(self, out: Any, batch: dict[str, torch.Tensor], normalization: Normalization) -> list[dict]:
        from tfus.surrogates.metrics import batch_metrics

        if getattr(out, "log_peak", None) is None:
            return []
        pred = snapshots_pascal(out.field, out.log_peak, normalization)
        true = batch["target"][:, 0].float() * batch["peak_pa"].float().reshape(-1, *([1] * (pred.ndim - 1)))
        pred, true = to_model_axes(pred), to_model_axes(true)  # back to store axes: the affine's frame
        records = batch_metrics(peak_abs(pred, 1), peak_abs(true, 1), affine=batch["affine"], spatial_dims=3)
        return [{**{k: r[k] for k in VAL_METRICS}, "time_rel_l2_percent": time_rel_l2_percent(p, t)}
                for r, p, t in zip(records, pred, true)]

    @classmethod
    def dataset(cls, store, split: str, n_points: int, normalization: Normalization, *, augment: bool = False,
                seed: int = 0, return_pressure: bool = True, free_field: bool = False,
                slab: int | None = None, beam_prior: str = "water") -> StoreSnapshotDataset:
        if free_field:
            raise TfusInputError("the free-field prior channel is a DeepTFUS input; sep4d has its own wave inputs")
        return StoreSnapshotDataset(store, split, n_points, normalization, augment=augment, seed=seed,
                                    return_pressure=return_pressure, slab=slab)
