"""U-Net encoder and decoder levels. Every convolution comes from
:func:`~tfus.surrogates.networks.layers.conv_factory.make_conv` (so ``conv_spec`` swaps them all); normalisation
and activation layers come from MONAI's factories (``get_norm_layer``, ``get_act_layer``).

* :class:`EncoderBlock` (residual, like MONAI's ``UnetResBlock``): ``conv(stride) -> norm -> act -> conv2 -> norm``,
  plus a 1x1 (strided) projection of the input, then ``act``. ``conv2`` is a
  :class:`~tfus.surrogates.networks.layers.dynamic_conv.DynamicConv` when ``cond_dim`` is given: each level then
  alternates a plain and a dynamic convolution, as in DeepTFUS.
* :class:`DecoderBlock`: linear upsampling to the skip's size and a 1x1 conv (no transposed-conv checkerboard),
  concatenation with the skip, ``conv -> norm -> act -> conv -> norm -> FiLM(z) -> act`` (FiLM when ``cond_dim``
  is given).

Example:
    >>> import torch
    >>> enc = EncoderBlock(2, 1, 8, stride=1)
    >>> dec = DecoderBlock(2, 16, 8, 8, cond_dim=4)
    >>> skip = enc(torch.randn(1, 1, 8, 8))
    >>> dec(torch.randn(1, 16, 4, 4), skip, torch.randn(1, 4)).shape
    torch.Size([1, 8, 8, 8])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from monai.networks.layers.utils import get_act_layer, get_norm_layer
from torch import nn

from tfus.surrogates.networks.layers.conv_factory import make_conv
from tfus.surrogates.networks.layers.dynamic_conv import DynamicConv
from tfus.surrogates.networks.layers.film import FiLM

__all__ = ["DecoderBlock", "EncoderBlock", "make_act", "make_norm"]

_INTERP = {1: "linear", 2: "bilinear", 3: "trilinear"}


def make_norm(spatial_dims: int, channels: int, norm: str = "instance", groups: int = 8) -> nn.Module:
    """``instance`` (affine), ``batch``, ``group`` (``gcd(groups, channels)`` groups) or ``none``.

    Example:
        >>> make_norm(3, 12, "group").num_groups
        4
    """
    if norm == "none":
        return nn.Identity()
    args: dict = {"instance": {"affine": True}, "group": {"num_groups": math.gcd(int(groups), int(channels))}}.get(
        norm, {})
    return get_norm_layer((norm, args), spatial_dims=spatial_dims, channels=channels)


def make_act(act: str = "leakyrelu") -> nn.Module:
    """A MONAI activation by name (``leakyrelu`` uses slope 0.1)."""
    return get_act_layer(("leakyrelu", {"negative_slope": 0.1}) if act == "leakyrelu" else act)


class EncoderBlock(nn.Module):
    """One encoder level (residual; optional dynamic second conv).

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: input channels.
        out_channels: output channels.
        stride: 2 to halve the grid (``ceil``), 1 to keep it.
        cond_dim: size of ``z`` for a dynamic second conv; None for a plain one.
        n_experts: experts of the dynamic conv.
        conv_spec: kind of every conv.
        norm: normalisation (see :func:`make_norm`).
        act: activation name.
    """

    def __init__(self, spatial_dims: int, in_channels: int, out_channels: int, stride: int = 1,
                 cond_dim: int | None = None, n_experts: int = 4, conv_spec: str = "dense", norm: str = "instance",
                 act: str = "leakyrelu") -> None:
        super().__init__()
        self.conv1 = make_conv(spatial_dims, in_channels, out_channels, 3, stride, conv_spec)
        self.norm1, self.act1 = make_norm(spatial_dims, out_channels, norm), make_act(act)
        self.dynamic = cond_dim is not None
        self.conv2 = (DynamicConv(spatial_dims, out_channels, out_channels, cond_dim, 3, n_experts=n_experts,
                                  conv_spec=conv_spec) if self.dynamic
                      else make_conv(spatial_dims, out_channels, out_channels, 3, 1, conv_spec))
        self.norm2, self.act2 = make_norm(spatial_dims, out_channels, norm), make_act(act)
        self.skip = (nn.Identity() if in_channels == out_channels and stride == 1
                     else make_conv(spatial_dims, in_channels, out_channels, 1, stride, conv_spec))

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        y = self.act1(self.norm1(self.conv1(x)))
        y = self.conv2(y, z) if self.dynamic else self.conv2(y)
        return self.act2(self.norm2(y) + self.skip(x))


class DecoderBlock(nn.Module):
    """One decoder level: upsample, concatenate the skip, two convs, optional FiLM.

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: channels coming from the coarser level.
        skip_channels: channels of the skip connection.
        out_channels: output channels.
        cond_dim: size of ``z`` for FiLM; None for none.
        film_zero_init: FiLM starts as the identity.
        conv_spec: kind of every conv.
        norm: normalisation.
        act: activation name.
    """

    def __init__(self, spatial_dims: int, in_channels: int, skip_channels: int, out_channels: int,
                 cond_dim: int | None = None, film_zero_init: bool = True, conv_spec: str = "dense",
                 norm: str = "instance", act: str = "leakyrelu") -> None:
        super().__init__()
        self.mode = _INTERP[spatial_dims]
        self.up = make_conv(spatial_dims, in_channels, out_channels, 1, 1, conv_spec)
        self.conv1 = make_conv(spatial_dims, out_channels + skip_channels, out_channels, 3, 1, conv_spec)
        self.norm1, self.act1 = make_norm(spatial_dims, out_channels, norm), make_act(act)
        self.conv2 = make_conv(spatial_dims, out_channels, out_channels, 3, 1, conv_spec)
        self.norm2, self.act2 = make_norm(spatial_dims, out_channels, norm), make_act(act)
        self.film = FiLM(out_channels, cond_dim, zero_init=film_zero_init) if cond_dim is not None else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        x = self.up(F.interpolate(x, size=skip.shape[2:], mode=self.mode, align_corners=False))
        y = self.act1(self.norm1(self.conv1(torch.cat([x, skip], dim=1))))
        y = self.norm2(self.conv2(y))
        if self.film is not None:
            y = self.film(y, z)
        return self.act2(y)
