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

_KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def cp_conv3d(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """Rank-R compressed 3D conv, stride 1, zero "same" padding; Triton on CUDA tensors, the reference otherwise.

    The Triton kernel (``torch.ops.tfus.cp_conv3d``) builds each tap's weight tile from the factors on the fly and
    takes x in fp32, bf16 or fp16 (fp32 accumulation, output in ``x``'s dtype and memory layout); other dtypes (e.g.
    float64 for gradcheck) take the reference even where Triton would be chosen.
    """
    if backend_for(x, a, b, c, bias) == "triton" and x.dtype in _KERNEL_DTYPES:
        from tfus.kernels.triton_kernels.cp_conv3d import cp_conv3d_triton  # imports triton: only on this branch

        return cp_conv3d_triton(x, a, b, c, bias)
    return cp_conv3d_reference(x, a, b, c, bias)
