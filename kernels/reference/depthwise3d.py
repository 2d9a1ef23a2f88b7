"""Depthwise 3D convolution, stride 1, zero "same" padding: one ``kd x kh x kw`` filter per channel.

Example:
    >>> import torch
    >>> x, w = torch.ones(1, 2, 4, 4, 4), torch.ones(2, 1, 3, 3, 3)
    >>> depthwise_conv3d_reference(x, w)[0, 0, 2, 2, 2].item()  # interior voxel: 27 neighbours
    27.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tfus.kernels.reference._checks import check_bias, odd_kernel, require

__all__ = ["check_depthwise", "depthwise_conv3d_reference"]


def check_depthwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Shape checks of the depthwise 3D conv (shared by the reference and the Triton path)."""
    require(x.ndim == 5, f"x must be (B, C, D, H, W), got shape {tuple(x.shape)}")
    channels = x.shape[1]
    require(weight.ndim == 5 and weight.shape[:2] == (channels, 1),
            f"weight must be ({channels}, 1, kd, kh, kw), got {tuple(weight.shape)}")
    odd_kernel("depthwise", weight.shape[2:])
    check_bias(bias, channels)


def depthwise_conv3d_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``out[b, c] = sum_k weight[c, 0, k] * x[b, c, . + k - k//2] (+ bias[c])``, zero outside the volume.

    Args:
        x: ``(B, C, D, H, W)``.
        weight: ``(C, 1, kd, kh, kw)``, odd sizes.
        bias: ``(C,)`` or None.

    Returns:
        ``(B, C, D, H, W)``, dtype of ``x``.
    """
    check_depthwise(x, weight, bias)
    padding = tuple(k // 2 for k in weight.shape[2:])
    return F.conv3d(x, weight, bias, padding=padding, groups=x.shape[1])
