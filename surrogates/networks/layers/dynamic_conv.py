"""Dynamic convolution: a per-sample kernel predicted from a conditioning vector (here the transducer embedding).

Predicting a full kernel per sample costs ``cond_dim * C_out * C_in * k^d`` weights (14 M for one 64-channel 3^3
layer with a 128-vector), so the kernel is predicted as a mixture of ``K`` learned expert kernels, ``W(z) = sum_k
pi_k(z) W_k`` with ``pi = softmax(router(z) / T)`` (Chen et al., "Dynamic Convolution", CVPR 2020): ``K`` times the
weights of one conv plus a ``cond_dim x K`` router.

Every expert is built by :func:`~tfus.surrogates.networks.layers.conv_factory.make_conv`, so ``conv_spec`` applies
here too. Plain dense experts run as one grouped convolution with the mixed kernel (one conv, groups = batch);
other kinds run every expert and mix the outputs, which is the same thing because a convolution is linear in its
kernel.

Example:
    >>> import torch
    >>> conv = DynamicConv(2, 3, 4, cond_dim=6, n_experts=2)
    >>> conv(torch.randn(2, 3, 8, 8), torch.randn(2, 6)).shape
    torch.Size([2, 4, 8, 8])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tfus.surrogates.networks.layers.conv_factory import make_conv

__all__ = ["DynamicConv"]

_DENSE = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


class DynamicConv(nn.Module):
    """Convolution whose kernel is a softmax mixture of ``n_experts`` kernels weighted from ``z``.

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: input channels.
        out_channels: output channels.
        cond_dim: size of the conditioning vector ``z``.
        kernel_size: odd kernel size.
        stride: stride.
        n_experts: number of expert kernels ``K``.
        temperature: softmax temperature of the router (higher: flatter mixtures).
        conv_spec: kind of every expert conv (see ``make_conv``).
        bias: learned (mixed) bias.
    """

    def __init__(self, spatial_dims: int, in_channels: int, out_channels: int, cond_dim: int,
                 kernel_size: int | Sequence[int] = 3, stride: int | Sequence[int] = 1, n_experts: int = 4,
                 temperature: float = 1.0, conv_spec: str = "dense", bias: bool = True) -> None:
        super().__init__()
        self.spatial_dims = int(spatial_dims)
        self.temperature = float(temperature)
        self.experts = nn.ModuleList(make_conv(spatial_dims, in_channels, out_channels, kernel_size, stride,
                                               conv_spec=conv_spec, bias=bias) for _ in range(int(n_experts)))
        self.router = nn.Linear(int(cond_dim), int(n_experts))
        self._grouped = all(type(e) in _DENSE and e.groups == 1 and e.padding_mode == "zeros"
                            and set(e.dilation) == {1} for e in self.experts)

    def mixing_weights(self, z: torch.Tensor) -> torch.Tensor:
        """Expert weights ``pi`` of shape ``(B, K)``, rows summing to one."""
        return torch.softmax(self.router(z) / self.temperature, dim=-1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        pi = self.mixing_weights(z)
        if self._grouped:
            return self._mixed_kernel(x, pi)
        shape = (-1, *([1] * (x.ndim - 1)))
        return sum(pi[:, k].view(shape) * expert(x) for k, expert in enumerate(self.experts))

    def _mixed_kernel(self, x: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
        first = self.experts[0]
        b, c_in = x.shape[:2]
        weight = torch.einsum("bk,k...->b...", pi, torch.stack([e.weight for e in self.experts]))
        weight = weight.reshape(b * first.out_channels, c_in, *weight.shape[3:])
        bias = None
        if first.bias is not None:
            bias = (pi @ torch.stack([e.bias for e in self.experts])).reshape(-1)
        conv = getattr(F, f"conv{self.spatial_dims}d")
        y = conv(x.reshape(1, b * c_in, *x.shape[2:]), weight, bias, stride=first.stride, padding=first.padding,
                 groups=b)
        return y.view(b, first.out_channels, *y.shape[2:])
