"""Separable 4D convolution: the dispatching entry point (see :mod:`tfus.kernels.reference.sep4d`).

Example:
    >>> import torch
    >>> sep4d_conv(torch.ones(1, 2, 4, 3, 5, 5), torch.ones(3, 2, 3, 3), torch.ones(3, 2, 3), torch.ones(3, 2, 3)).shape
    torch.Size([1, 3, 4, 3, 5, 5])
"""

from __future__ import annotations

import torch

from tfus.kernels.dispatch import backend_for
from tfus.kernels.reference.sep4d import sep4d_conv_reference

__all__ = ["sep4d_conv"]


def sep4d_conv(x: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None = None,
               w_t: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Separable 4D conv on ``(B, C, T, Z, Y, X)``; Triton on CUDA tensors, the reference otherwise."""
    if backend_for(x, w_plane, w_z, w_t, bias) == "triton":
        raise NotImplementedError("Triton sep4d_conv: not wired yet")  # replaced by the Triton custom op
    return sep4d_conv_reference(x, w_plane, w_z, w_t, bias)
