"""Triton device helpers shared by the stencil kernels (imported only where Triton is installed)."""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def shifted_mask(mask, idx, size, OFF: tl.constexpr):
    """``mask`` and ``0 <= idx + OFF < size``, given ``0 <= idx < size`` where ``mask`` holds (one test per tap)."""
    if OFF < 0:
        return mask & (idx >= -OFF)
    elif OFF > 0:
        return mask & (idx < size - OFF)
    else:
        return mask
