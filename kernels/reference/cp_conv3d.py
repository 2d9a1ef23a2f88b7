"""Rank-R compressed ("CP", a-priori low-rank) 3D convolution: every ``(out, in)`` kernel is a sum of R separable
rank-1 terms ``a_r (x) b_r (x) c_r`` (Boukraichi et al., arXiv 2304.04964), stride 1, zero "same" padding.

Parameters per kernel: ``R (kd + kh + kw)`` instead of ``kd kh kw`` (rank 1, k = 3: 9 vs 27).

Example:
    >>> import torch
    >>> a, b, c = torch.ones(2, 4, 3, 3), torch.ones(2, 4, 3, 3), torch.ones(2, 4, 3, 3)
    >>> cp_weight(a, b, c).shape   # R=2, Cout=4, Cin=3, 3x3x3 kernels
    torch.Size([4, 3, 3, 3, 3])
    >>> cp_conv3d_reference(torch.ones(1, 3, 5, 5, 5), a, b, c).shape
    torch.Size([1, 4, 5, 5, 5])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tfus.kernels.reference._checks import check_bias, odd_kernel, require

__all__ = ["check_cp_conv3d", "cp_conv3d_reference", "cp_weight"]


def _check_factors(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> None:
    require(a.ndim == b.ndim == c.ndim == 4, "CP factors a, b, c must each be (R, Cout, Cin, k)")
    require(a.shape[:3] == b.shape[:3] == c.shape[:3],
            f"CP factors disagree on (R, Cout, Cin): {tuple(a.shape[:3])}, {tuple(b.shape[:3])}, {tuple(c.shape[:3])}")
    odd_kernel("CP", (a.shape[3], b.shape[3], c.shape[3]))


def cp_weight(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The dense kernel ``W[o, i, p, q, s] = sum_r a[r, o, i, p] b[r, o, i, q] c[r, o, i, s]``.

    Args:
        a: ``(R, Cout, Cin, kd)`` (depth factors).
        b: ``(R, Cout, Cin, kh)`` (height factors).
        c: ``(R, Cout, Cin, kw)`` (width factors).

    Returns:
        ``(Cout, Cin, kd, kh, kw)``.
    """
    _check_factors(a, b, c)
    return torch.einsum("roip,roiq,rois->oipqs", a, b, c)


def check_cp_conv3d(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                    bias: torch.Tensor | None) -> None:
    """Shape checks of the CP conv (shared by the reference and the Triton path)."""
    require(x.ndim == 5, f"x must be (B, C, D, H, W), got shape {tuple(x.shape)}")
    _check_factors(a, b, c)
    require(a.shape[2] == x.shape[1], f"CP factors expect {a.shape[2]} input channels, x has {x.shape[1]}")
    check_bias(bias, a.shape[1])


def cp_conv3d_reference(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                        bias: torch.Tensor | None = None) -> torch.Tensor:
    """The convolution of ``x`` (``(B, Cin, D, H, W)``) with :func:`cp_weight` ``(a, b, c)``, plus ``bias``.

    Returns:
        ``(B, Cout, D, H, W)``.
    """
    check_cp_conv3d(x, a, b, c, bias)
    weight = cp_weight(a, b, c)
    padding = tuple(k // 2 for k in weight.shape[2:])
    return F.conv3d(x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype), padding=padding)
