"""A-priori compressed ("CP", rank-R) convolution (Boukraichi et al., arXiv 2304.04964): every ``(out, in)`` kernel
is a sum of ``R`` separable rank-1 terms, learned directly as 1D factors, e.g. in 3D
``W[o, i, p, q, s] = sum_r a[r, o, i, p] b[r, o, i, q] c[r, o, i, s]``.

Parameters per kernel: ``R (k1 + ... + kd)`` instead of ``k1 ... kd`` (3D, k = 3: 9 R vs 27, so only ranks 1 and 2
have fewer weights than the dense kernel; rank 3 has as many, and ranks >= 5 can represent any 3x3x3 kernel).

Registered as the conv spec ``cp:R`` (:func:`~tfus.surrogates.networks.layers.conv_factory.make_conv`), so
``conv: cp:4`` in a model config swaps every convolution of a network. Pointwise kernels (size 1 on every axis) stay
dense under ``cp:R``: a 1-element kernel is already rank 1, and ``R`` factor triples would spend ``3 R`` weights on
one number.

How it runs:

* 3D, stride 1: :func:`tfus.kernels.cp_conv3d` (the Triton kernel for CUDA tensors, the PyTorch reference
  otherwise);
* any stride > 1, and 1D/2D: the dense kernel is rebuilt from the factors (:meth:`CompressedConv.dense_weight`,
  :func:`tfus.kernels.cp_weight` in 3D) and handed to ``F.conv1d/2d/3d`` with the stride. The result is the same
  function; only the speed differs.

Initialisation: PyTorch's default for a dense conv (Kaiming-uniform, ``a = sqrt(5)``) gives every weight variance
``1 / (3 fan_in)`` with ``fan_in = C_in k1 ... kd``. A weight here is a sum of ``R`` products of ``d`` independent
zero-mean factors, so ``Var W = R prod_j s_j^2``; every factor is drawn from ``U(-b, b)`` with
``s^2 = b^2 / 3 = (1 / (3 R fan_in))^(1/d)``, which gives ``Var W = 1 / (3 fan_in)``. Distinct weights of a kernel
share factors but stay uncorrelated (every cross term has a lone zero-mean factor), so the output variance equals
the dense conv's for any input. The bias is the dense default, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

Example:
    >>> import torch
    >>> conv = CompressedConv(3, 4, 8, kernel_size=3, rank=2)
    >>> conv(torch.zeros(1, 4, 6, 6, 6)).shape, conv.factors[0].shape
    (torch.Size([1, 8, 6, 6, 6]), torch.Size([2, 8, 4, 3]))
    >>> sum(p.numel() for p in conv.parameters()) == 2 * (3 + 3 + 3) * 4 * 8 + 8
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tfus.kernels import cp_conv3d, cp_weight
from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.layers.conv_factory import make_conv, register_conv

__all__ = ["CompressedConv", "parse_rank"]

_EINSUM = {1: "roip->oip", 2: "roip,roiq->oipq"}


def parse_rank(arg: str | None) -> int:
    """The rank ``R`` of a ``cp:R`` spec (a positive integer), else a one-line :class:`TfusInputError`.

    Example:
        >>> parse_rank("4")
        4
    """
    try:
        rank = int(str(arg).strip()) if arg is not None else 0
    except ValueError:
        rank = 0
    if rank < 1:
        given = "cp" if arg is None else f"cp:{arg}"
        raise TfusInputError(f"conv spec {given!r} needs a positive integer rank, e.g. 'cp:4'")
    return rank


def _tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    return (int(value),) * n if isinstance(value, int) else tuple(int(v) for v in value)


class CompressedConv(nn.Module):
    """Rank-``R`` compressed convolution with odd kernels and zero "same" padding (see the module docstring).

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size, one per axis or one for all.
        rank: number of separable terms ``R``.
        stride: stride, one per axis or one for all (> 1: dense kernel rebuilt, then ``F.conv``).
        bias: add a learned bias.

    Attributes:
        factors: ``spatial_dims`` parameters of shape ``(R, out_channels, in_channels, k_j)`` (axis ``j``).
        bias: ``(out_channels,)`` or None.

    Example:
        >>> import torch
        >>> conv = CompressedConv(2, 3, 5, kernel_size=(3, 5), rank=1, stride=2)
        >>> conv(torch.zeros(2, 3, 9, 9)).shape, conv.dense_weight().shape
        (torch.Size([2, 5, 5, 5]), torch.Size([5, 3, 3, 5]))
    """

    def __init__(self, spatial_dims: int, in_channels: int, out_channels: int, kernel_size: int | Sequence[int] = 3,
                 rank: int = 1, stride: int | Sequence[int] = 1, bias: bool = True) -> None:
        super().__init__()
        if spatial_dims not in (1, 2, 3):
            raise TfusInputError(f"spatial_dims must be 1, 2 or 3, got {spatial_dims}")
        kernel, strides = _tuple(kernel_size, spatial_dims), _tuple(stride, spatial_dims)
        if len(kernel) != spatial_dims or len(strides) != spatial_dims or min(kernel + strides) < 1:
            raise TfusInputError(f"kernel_size {kernel_size!r} and stride {stride!r} must be one positive int or "
                                 f"{spatial_dims} of them")
        if any(k % 2 == 0 for k in kernel):
            raise TfusInputError(f"kernel_size {kernel_size!r} must be odd to keep the grid aligned")
        if int(rank) < 1:
            raise TfusInputError(f"rank must be a positive integer, got {rank!r}")
        self.spatial_dims, self.in_channels, self.out_channels = int(spatial_dims), int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.rank = kernel, strides, int(rank)
        self.padding = tuple(k // 2 for k in kernel)
        self.factors = nn.ParameterList(
            nn.Parameter(torch.empty(self.rank, self.out_channels, self.in_channels, k)) for k in kernel)
        self.bias = nn.Parameter(torch.empty(self.out_channels)) if bias else None
        self.reset_parameters()

    @property
    def fan_in(self) -> int:
        return self.in_channels * math.prod(self.kernel_size)

    def factor_bound(self) -> float:
        """Half-width ``b`` of the uniform factor init: ``(b^2 / 3)^d R = 1 / (3 fan_in)`` (module docstring)."""
        var = (1.0 / (3.0 * self.rank * self.fan_in)) ** (1.0 / self.spatial_dims)
        return math.sqrt(3.0 * var)

    def reset_parameters(self) -> None:
        """Factors ``U(-b, b)`` (weight variance of the dense default), bias as a dense conv's."""
        bound = self.factor_bound()
        for factor in self.factors:
            nn.init.uniform_(factor, -bound, bound)
        if self.bias is not None:
            b = 1.0 / math.sqrt(self.fan_in)
            nn.init.uniform_(self.bias, -b, b)

    def dense_weight(self) -> torch.Tensor:
        """The equivalent dense kernel ``(out_channels, in_channels, *kernel_size)``."""
        if self.spatial_dims == 3:
            return cp_weight(*self.factors)
        return torch.einsum(_EINSUM[self.spatial_dims], *self.factors)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spatial_dims == 3 and set(self.stride) == {1}:
            return cp_conv3d(x, *self.factors, self.bias)
        conv = getattr(F, f"conv{self.spatial_dims}d")
        weight = self.dense_weight().to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return conv(x, weight, bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, rank={self.rank}, "
                f"stride={self.stride}, bias={self.bias is not None}")


def _check_cp_arg(arg: str | None) -> None:
    parse_rank(arg)


@register_conv("cp", check_arg=_check_cp_arg)
def _cp(spatial_dims: int, in_channels: int, out_channels: int, kernel: tuple[int, ...], stride: tuple[int, ...],
        padding: tuple[int, ...], bias: bool, arg: str | None) -> nn.Module:
    rank = parse_rank(arg)
    if set(kernel) == {1}:  # pointwise: already rank 1 (module docstring)
        return make_conv(spatial_dims, in_channels, out_channels, kernel, stride, "dense", bias)
    return CompressedConv(spatial_dims, in_channels, out_channels, kernel, rank, stride, bias)
