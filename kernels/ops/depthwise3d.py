"""Depthwise 3D convolution: the dispatching entry point (see :mod:`tfus.kernels.reference.depthwise3d`).

Example:
    >>> import torch
    >>> depthwise_conv3d(torch.ones(1, 2, 4, 4, 4), torch.ones(2, 1, 3, 3, 3)).shape
    torch.Size([1, 2, 4, 4, 4])
"""

from __future__ import annotations

import torch

from tfus.kernels.dispatch import backend_for
from tfus.kernels.reference.depthwise3d import depthwise_conv3d_reference

__all__ = ["depthwise_conv3d"]


def depthwise_conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Depthwise 3D conv, stride 1, zero "same" padding; Triton on CUDA tensors, the reference otherwise."""
    if backend_for(x, weight, bias) == "triton":
        raise NotImplementedError("Triton depthwise_conv3d: not wired yet")  # replaced by the Triton custom op
    return depthwise_conv3d_reference(x, weight, bias)
