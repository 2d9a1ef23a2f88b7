"""Shape checks shared by the references (errors name the tensor and the expected layout)."""

from __future__ import annotations

import torch

from tfus.pipeline.errors import TfusInputError


def require(cond: bool, message: str) -> None:
    if not cond:
        raise TfusInputError(message)


def odd_kernel(name: str, sizes: tuple[int, ...] | torch.Size) -> None:
    require(all(int(k) % 2 == 1 for k in sizes), f"{name} kernel sizes {tuple(sizes)} must be odd ('same' padding)")


def check_bias(bias: torch.Tensor | None, channels: int) -> None:
    if bias is not None:
        require(bias.shape == (channels,), f"bias must have shape ({channels},), got {tuple(bias.shape)}")
