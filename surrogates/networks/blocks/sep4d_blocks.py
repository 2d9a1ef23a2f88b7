"""Blocks of the separable-4D U-Net on ``(B, C, T, Z, Y, X)`` features: a residual block of two
:class:`~tfus.surrogates.networks.layers.sep4d_conv.Sep4dConv`, and the resampling between levels.

* **Resampling in space only** (Z, Y, X; time keeps every snapshot): average pooling by 2 (1 along an axis of size
  1, so a single z slice, the 2D+t case, stays a slice) and linear upsampling to the skip's size, both frame by
  frame. Pooling time too would halve the snapshots per level; with 8-16 snapshots of one burst the time axis is
  short already and every snapshot is a target, so it stays at full resolution.
* **Normalisation** per sample and channel over all of (T, Z, Y, X) (``instance``; ``group`` and ``none`` too),
  via MONAI's 3D norm layers on the ``(B, C, T*Z, Y, X)`` view.
* **Pointwise** (1x1x1x1) channel maps: :class:`Pointwise`.

Example:
    >>> import torch
    >>> block = Sep4dResBlock(2, 4)
    >>> x = torch.randn(1, 2, 4, 6, 8, 8)
    >>> y = block(x); y.shape, downsample(y).shape, upsample(downsample(y), y.shape[3:]).shape
    (torch.Size([1, 4, 4, 6, 8, 8]), torch.Size([1, 4, 4, 3, 4, 4]), torch.Size([1, 4, 4, 6, 8, 8]))
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tfus.surrogates.networks.blocks.unet_blocks import make_act, make_norm
from tfus.surrogates.networks.layers.sep4d_conv import Sep4dConv

__all__ = ["Pointwise", "Sep4dNorm", "Sep4dResBlock", "downsample", "per_frame", "upsample"]


def per_frame(x: torch.Tensor, fn) -> torch.Tensor:
    """Apply a 3D operation ``fn`` on ``(N, C, Z, Y, X)`` to every time frame of ``(B, C, T, Z, Y, X)``."""
    b, c, t = x.shape[:3]
    frames = x.transpose(1, 2).reshape(b * t, c, *x.shape[3:])
    out = fn(frames)
    return out.reshape(b, t, out.shape[1], *out.shape[2:]).transpose(1, 2)


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Average-pool (Z, Y, X) by 2 (ceil; axes of size 1 are kept)."""
    kernel = tuple(2 if n > 1 else 1 for n in x.shape[3:])
    return per_frame(x, lambda f: F.avg_pool3d(f, kernel, kernel, ceil_mode=True))


def upsample(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Trilinear upsampling of (Z, Y, X) to ``size`` (frame by frame)."""
    return per_frame(x, lambda f: F.interpolate(f, size=tuple(size), mode="trilinear", align_corners=False))


class Pointwise(nn.Module):
    """A learned ``Cin -> Cout`` channel map at every (t, z, y, x)."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, z = x.shape[:4]
        out = self.conv(x.reshape(b, x.shape[1], t * z, *x.shape[4:]))
        return out.reshape(b, out.shape[1], t, z, *x.shape[4:])


class Sep4dNorm(nn.Module):
    """``instance`` / ``group`` / ``none`` normalisation over (T, Z, Y, X) per sample and channel."""

    def __init__(self, channels: int, norm: str = "instance") -> None:
        super().__init__()
        self.norm = make_norm(3, channels, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, z = x.shape[:4]
        return self.norm(x.reshape(b, c, t * z, *x.shape[4:])).reshape(x.shape)


class Sep4dResBlock(nn.Module):
    """``conv -> norm -> act -> conv -> norm`` plus a pointwise projection of the input (identity when the channels
    agree), then ``act`` (the residual block of the DeepTFUS encoder, in 4D).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        norm: normalisation.
        act: MONAI activation name.
        conv_kwargs: :class:`Sep4dConv` options (kernels, ``z_branch``, ``time_padding``, ``conv``).
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str = "instance", act: str = "leakyrelu",
                 **conv_kwargs) -> None:
        super().__init__()
        self.conv1 = Sep4dConv(in_channels, out_channels, **conv_kwargs)
        self.norm1, self.act1 = Sep4dNorm(out_channels, norm), make_act(act)
        self.conv2 = Sep4dConv(out_channels, out_channels, **conv_kwargs)
        self.norm2, self.act2 = Sep4dNorm(out_channels, norm), make_act(act)
        self.skip = nn.Identity() if in_channels == out_channels else Pointwise(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.norm1(self.conv1(x)))
        return self.act2(self.norm2(self.conv2(y)) + self.skip(x))
