"""Depthwise 3D convolution: the dispatching entry point (see :mod:`tfus.kernels.reference.depthwise3d`).

Example:
    >>> import torch
    >>> depthwise_conv3d(torch.ones(1, 2, 4, 4, 4), torch.ones(2, 1, 3, 3, 3)).shape
    torch.Size([1, 2, 4, 4, 4])
"""

from __future__ import annotations

import torch

from tfus.kernels.dispatch import backend_for
from tfus.kernels.reference.depthwise3d import check_depthwise, depthwise_conv3d_reference

__all__ = ["depthwise_conv3d"]

_KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def depthwise_conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Depthwise 3D conv, stride 1, zero "same" padding; Triton on CUDA tensors, the reference otherwise.

    The Triton kernels take fp32, bf16 and fp16 (fp32 accumulation, output in ``x``'s dtype and memory layout); other
    dtypes (e.g. float64 for gradcheck) take the reference even where Triton would be chosen.
    """
    if backend_for(x, weight, bias) == "triton" and x.dtype in _KERNEL_DTYPES:
        check_depthwise(x, weight, bias)
        from tfus.kernels.triton_kernels.depthwise3d import depthwise_conv3d_triton

        return depthwise_conv3d_triton(x, weight, bias)
    return depthwise_conv3d_reference(x, weight, bias)
