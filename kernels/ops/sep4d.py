"""Separable 4D convolution: the dispatching entry point (see :mod:`tfus.kernels.reference.sep4d`).

Example:
    >>> import torch
    >>> sep4d_conv(torch.ones(1, 2, 4, 3, 5, 5), torch.ones(3, 2, 3, 3), torch.ones(3, 2, 3), torch.ones(3, 2, 3)).shape
    torch.Size([1, 3, 4, 3, 5, 5])
"""

from __future__ import annotations

import torch

from tfus.kernels.dispatch import backend_for
from tfus.kernels.reference.sep4d import check_sep4d, sep4d_conv_reference

__all__ = ["sep4d_conv"]

_KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def sep4d_conv(x: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None = None,
               w_t: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Separable 4D conv on ``(B, C, T, Z, Y, X)``; Triton on CUDA tensors, the reference otherwise.

    The Triton kernels take fp32, bf16 and fp16 inputs (fp32 accumulation, weights rounded to ``x``'s dtype like the
    reference, output in ``x``'s dtype and dimension order in memory); other dtypes (e.g. float64) take the reference.
    The Triton path wraps time for any T; the reference's circular padding needs ``T >= kt // 2``.
    """
    if backend_for(x, w_plane, w_z, w_t, bias) == "triton" and x.dtype in _KERNEL_DTYPES:
        check_sep4d(x, w_plane, w_z, w_t, bias)
        from tfus.kernels.triton_kernels.sep4d import sep4d_conv_triton

        return sep4d_conv_triton(x, w_plane, w_z, w_t, bias)
    return sep4d_conv_reference(x, w_plane, w_z, w_t, bias)
