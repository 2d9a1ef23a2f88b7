"""The one seam between the training loop and a model: which dataset feeds it, how a batch goes in, how the loss and
the validation metrics are computed, how blocks are checkpointed. The default adapter assumes that
``model(ct, points)`` returns an object with ``.field`` (the normalised map, ``(B, 1, *S)``) and ``.log_peak``
(``(B,)`` or None); a model that needs something else names its own adapter in its registry entry
(:mod:`tfus.surrogates.registry`; the time-resolved ``sep4d``: :mod:`tfus.surrogates.training.sep4d_adapter`).

Gradient checkpointing: a model with a ``set_gradient_checkpointing(bool)`` method handles it itself; otherwise every
block held in a top-level ``nn.ModuleList`` (DeepTFUS: the encoder and decoder levels) is recomputed in the backward
pass (``torch.utils.checkpoint``, non-reentrant); the weights and ``state_dict`` are unchanged.

Example:
    >>> import torch
    >>> from tfus.surrogates.registry import build_model
    >>> model = build_model("deeptfus", {"preset": "tiny"})
    >>> adapter = adapter_for("deeptfus")
    >>> batch = {"ct": torch.rand(1, 1, 8, 8, 8), "points": torch.rand(1, 16, 3), "target": torch.rand(1, 1, 8, 8, 8),
    ...          "log_peak": torch.zeros(1)}
    >>> sorted(adapter.loss(adapter.forward(model, batch), batch))
    ['gradient', 'scale', 'total', 'weighted']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.data.dataset import StoreFieldDataset
from tfus.surrogates.losses import DeepTFUSLoss, LossConfig
from tfus.surrogates.normalization import Normalization

__all__ = ["VAL_METRICS", "ModelAdapter", "adapter_class", "adapter_for", "enable_gradient_checkpointing"]

#: metrics averaged over the validation split when ``val_metrics`` is on (Pa metrics need a scale head).
VAL_METRICS = ("rel_l2_percent", "rel_l2_log_percent", "focal_error_mm", "peak_error_percent", "focal_dice")


class ModelAdapter:
    """Default adapter: ``model(ct, points)``, :class:`DeepTFUSLoss` on ``.field`` / ``.log_peak``.

    Args:
        loss: the loss weights.
        spacing_mm: voxel size (the focal term measures distances in mm).
    """

    def __init__(self, loss: LossConfig | None = None, spacing_mm: float = 1.0) -> None:
        self.loss_fn = DeepTFUSLoss(loss or LossConfig())
        self.spacing_mm = float(spacing_mm)

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        """The model's output for a batch (already on the model's device)."""
        return model(batch["ct"], batch["points"])

    def loss(self, out: Any, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Loss terms (float32) with ``total``."""
        log_peak = out.log_peak.float() if getattr(out, "log_peak", None) is not None else None
        return self.loss_fn(out.field.float(), batch["target"].float(), log_peak,
                            batch["log_peak"] if log_peak is not None else None, self.spacing_mm)

    def metrics(self, out: Any, batch: dict[str, torch.Tensor], normalization: Normalization) -> list[dict]:
        """Per-sample validation metrics (:data:`VAL_METRICS`, on the fields in Pa) of a batch with ``pressure``."""
        from tfus.surrogates.metrics import batch_metrics

        if "pressure" not in batch:
            return []
        n = int(out.field.shape[0])
        field = out.field[:, 0].float()
        log_peak = out.log_peak.float() if getattr(out, "log_peak", None) is not None else None
        pred = normalization.to_pascal(field, log_peak if log_peak is not None else field.new_zeros(n),
                                       spatial_dims=field.ndim - 1)
        if "peak_ref" in batch:  # the scale relative to the prior's peak (angular-spectrum prior; else 1)
            pred = pred * batch["peak_ref"].float().to(pred.device).reshape(-1, *([1] * (pred.ndim - 1)))
        names = VAL_METRICS if log_peak is not None else ("rel_l2_log_percent", "focal_error_mm", "focal_dice")
        return [{k: record[k] for k in names}
                for record in batch_metrics(pred, batch["pressure"][:, 0], affine=batch["affine"],
                                            spatial_dims=field.ndim - 1)]

    @classmethod
    def dataset(cls, store, split: str, n_points: int, normalization: Normalization, *, augment: bool = False,
                seed: int = 0, return_pressure: bool = True, free_field: bool = False,
                slab: int | None = None, beam_prior: str = "water") -> StoreFieldDataset:
        """The dataset of ``split`` that feeds this kind of model (``slab``: z-slabs, time-resolved models only;
        ``beam_prior``: the prior of a beam-frame model, its config's ``beam_prior``)."""
        if slab is not None:
            raise TfusInputError("z-slab training (stage: 2d+t) needs a time-resolved model; use model sep4d")
        return StoreFieldDataset(store, split, n_points, normalization, augment=augment, seed=seed,
                                 return_pressure=return_pressure, free_field=free_field, beam_prior=beam_prior)


def adapter_class(name: str) -> type[ModelAdapter]:
    """The adapter class of model ``name``, as its registry entry names it (:mod:`tfus.surrogates.registry`).

    Raises:
        TfusInputError: ``name`` is not a registered model.
    """
    from tfus.surrogates.registry import model_entry

    return model_entry(name).adapter_class()


def adapter_for(name: str, loss: LossConfig | None = None, spacing_mm: float = 1.0) -> ModelAdapter:
    """The adapter of model ``name`` (the default one unless a model registered its own)."""
    return adapter_class(name)(loss, spacing_mm)


def _checkpointed(forward: Callable, *args: Any, **kwargs: Any) -> Any:
    if not torch.is_grad_enabled():
        return forward(*args, **kwargs)
    return checkpoint(forward, *args, use_reentrant=False, **kwargs)


def enable_gradient_checkpointing(model: nn.Module) -> int:
    """Turn on gradient checkpointing (see the module docstring); returns the number of blocks wrapped (or 1 when
    the model does it itself).

    Raises:
        TfusInputError: the model offers neither the method nor any ``nn.ModuleList`` of blocks.
    """
    setter = getattr(model, "set_gradient_checkpointing", None)
    if callable(setter):
        setter(True)
        return 1
    n = 0
    for child in model.children():
        if isinstance(child, nn.ModuleList):
            for block in child:
                if not getattr(block, "_tfus_checkpointed", False):
                    block.forward = functools.partial(_checkpointed, block.forward)
                    block._tfus_checkpointed = True
                n += 1
    if n == 0:
        raise TfusInputError(f"{type(model).__name__} has no blocks to checkpoint (no set_gradient_checkpointing "
                             "method, no ModuleList); set grad_checkpoint: false")
    return n
