"""Rank-R compressed 3D convolution: the dispatching entry point (see :mod:`tfus.kernels.reference.cp_conv3d`).

Example:
    >>> import torch
    >>> f = torch.ones(2, 4, 3, 3)
    >>> cp_conv3d(torch.ones(1, 3, 5, 5, 5), f, f, f).shape
    torch.Size([1, 4, 5, 5, 5])
"""

from __future__ import annotations

import torch

from tfus.kernels.dispatch import backend_for
from tfus.kernels.reference.cp_conv3d import cp_conv3d_reference

__all__ = ["cp_conv3d"]


def cp_conv3d(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """Rank-R compressed 3D conv, stride 1, zero "same" padding; Triton on CUDA tensors, the reference otherwise."""
    if backend_for(x, a, b, c, bias) == "triton":
        raise NotImplementedError("Triton cp_conv3d: not wired yet")  # replaced by the Triton custom op
    return cp_conv3d_reference(x, a, b, c, bias)
