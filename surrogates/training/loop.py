"""One training epoch and one validation pass, written against a :class:`~tfus.surrogates.training.adapter.ModelAdapter`
(no model-specific code). Losses are summed per sample and reduced over all processes, so the logged means are those
of the whole split whatever the number of processes.

Mixed precision: ``autocast_dtype`` (CUDA only) runs the forward pass in float16/bfloat16; the loss is computed in
float32; a :class:`torch.amp.GradScaler` (enabled for float16) scales the backward pass and skips steps whose
gradients overflow. The gradient norm is measured every step (after DDP averaging, so every process agrees): a
non-finite norm without a scaler stops training with a one-line error.

Example:
    >>> import torch
    >>> from tfus.surrogates.registry import build_model
    >>> from tfus.surrogates.training.adapter import adapter_for
    >>> model = build_model("deeptfus", {"preset": "tiny"})
    >>> batch = {"ct": torch.rand(2, 1, 8, 8, 8), "points": torch.rand(2, 16, 3),
    ...          "target": torch.rand(2, 1, 8, 8, 8), "log_peak": torch.zeros(2)}
    >>> opt = torch.optim.AdamW(model.parameters(), 1e-3)
    >>> sums, n = train_epoch(model, [batch], adapter_for("deeptfus"), opt, None, torch.amp.GradScaler("cpu",
    ...                       enabled=False), device=torch.device("cpu"))
    >>> n, sorted(sums)
    (2, ['gradient', 'scale', 'total', 'weighted'])
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable

import torch

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.training.adapter import VAL_METRICS, ModelAdapter
from tfus.surrogates.training.distributed import all_gather_objects, all_reduce_sum
from tfus.surrogates.training.logs import EpochProgress

__all__ = ["VAL_METRICS", "reduce_means", "to_device", "train_epoch", "validate"]


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Every tensor of a batch on ``device`` (non-blocking from pinned memory)."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None or device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)


def _add(sums: dict[str, float], values: dict[str, float], weight: int) -> None:
    for key, value in values.items():
        sums[key] = sums.get(key, 0.0) + float(value) * weight


def train_epoch(model: torch.nn.Module, loader: Iterable[dict], adapter: ModelAdapter, optimizer: torch.optim.Optimizer,
                scheduler, scaler: torch.amp.GradScaler, *, device: torch.device,
                autocast_dtype: torch.dtype | None = None, grad_clip: float = 0.0,
                progress: EpochProgress | None = None) -> tuple[dict[str, float], int]:
    """Train over ``loader`` once; returns the per-sample loss sums of this process and its sample count."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    sums: dict[str, float] = {}
    count = 0
    for done, batch in enumerate(loader, start=1):
        batch = to_device(batch, device)
        with _autocast(device, autocast_dtype):
            out = adapter.forward(model, batch)
        losses = adapter.loss(out, batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(losses["total"]).backward()
        scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip > 0 else math.inf)
        finite = bool(torch.isfinite(norm))
        if not finite and not scaler.is_enabled():
            raise TfusInputError(f"training diverged: non-finite gradients (loss {float(losses['total']):.3g}) at "
                                 f"step {done} of the epoch; lower lr or set grad_clip")
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        n = int(batch["ct"].shape[0])
        values = {k: float(v.detach()) for k, v in losses.items()}
        if finite and all(math.isfinite(v) for v in values.values()):
            _add(sums, values, n)
            count += n
        if progress is not None:
            progress.update(done, sums.get("total", math.nan) / max(count, 1))
    return sums, count


@torch.no_grad()
def validate(model: torch.nn.Module, loader: Iterable[dict], adapter: ModelAdapter, normalization: Normalization, *,
             device: torch.device, autocast_dtype: torch.dtype | None = None,
             metrics: bool = True) -> tuple[dict[str, float], int]:
    """Loss sums (and, with ``metrics``, sums of the adapter's metrics, :data:`VAL_METRICS` by default, on the
    fields in Pa) of this process."""
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    for batch in loader:
        batch = to_device(batch, device)
        with _autocast(device, autocast_dtype):
            out = adapter.forward(model, batch)
        losses = adapter.loss(out, batch)
        n = int(batch["ct"].shape[0])
        _add(sums, {k: float(v) for k, v in losses.items()}, n)
        count += n
        if metrics:
            for record in adapter.metrics(out, batch, normalization):
                _add(sums, {f"metric:{k}": v for k, v in record.items()}, 1)
    return sums, count


def reduce_means(sums: dict[str, float], count: int) -> dict[str, float]:
    """Means over all processes of per-sample sums (a key some process never saw counts as 0 there)."""
    keys = sorted(set().union(*all_gather_objects(sorted(sums))))
    values = torch.tensor([float(count), *[sums.get(k, 0.0) for k in keys]], dtype=torch.float64)
    all_reduce_sum(values)
    total = float(values[0])
    return {k: float(v) / total if total > 0 else math.nan for k, v in zip(keys, values[1:].tolist())}
