"""Small helpers shared by the Triton launchers: output allocation in the input's memory layout, block-size rounding,
the ``tl.dot`` precision, and whether Triton's CPU interpreter runs the kernels.

Example:
    >>> import torch
    >>> x = torch.zeros(2, 3, 4, 5, 6).permute(0, 4, 1, 2, 3)   # channels innermost
    >>> empty_like_layout(x, (2, 7, 4, 5, 6)).stride(1)
    1
    >>> next_pow2(5)
    8
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

__all__ = ["KERNEL_DTYPES", "dot_precision", "empty_like_layout", "interpreting", "next_pow2"]

KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
"""Input dtypes the kernels take (they accumulate in fp32); other dtypes take the reference."""


def next_pow2(n: int) -> int:
    """Smallest power of two >= ``n`` (>= 1): Triton block sizes must be powers of two."""
    return 1 << max(int(n) - 1, 0).bit_length()


def interpreting() -> bool:
    """Whether Triton's CPU interpreter runs the kernels (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def dot_precision(x: torch.Tensor) -> str:
    """``tl.dot`` input precision for fp32 operands: TF32 where PyTorch's own convolutions use it on this device
    (``torch.backends.cudnn.allow_tf32``, on by default), exact IEEE fp32 otherwise (and in the interpreter)."""
    return "tf32" if x.is_cuda and torch.backends.cudnn.allow_tf32 else "ieee"


def _dim_order(ref: torch.Tensor) -> list[int] | None:
    """Dimensions of ``ref`` from outermost to innermost in memory, or None if ``ref`` is not dense/non-overlapping."""
    order = sorted(range(ref.ndim), key=lambda d: (-ref.stride(d), d))
    expected = 1
    for d in reversed(order):
        if ref.shape[d] != 1 and ref.stride(d) != expected:
            return None
        expected *= ref.shape[d]
    return order


def empty_like_layout(ref: torch.Tensor, shape: Sequence[int], dtype: torch.dtype | None = None) -> torch.Tensor:
    """An empty tensor of ``shape`` whose dimensions lie in memory in the same order as ``ref``'s (e.g. channels
    innermost stays channels innermost); contiguous when ``ref`` is not dense (broadcast or sliced)."""
    order = _dim_order(ref)
    dtype = ref.dtype if dtype is None else dtype
    if order is None or order == list(range(ref.ndim)):
        return torch.empty(tuple(shape), dtype=dtype, device=ref.device)
    base = torch.empty(tuple(shape[d] for d in order), dtype=dtype, device=ref.device)
    inverse = [order.index(d) for d in range(ref.ndim)]
    return base.permute(inverse)
