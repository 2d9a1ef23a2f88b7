"""Cross-attention from a feature map to the transducer tokens: every voxel's features (the queries) attend over
the ``M`` transducer tokens (keys and values) and the result is added back (pre-norm residual).

The queries carry the voxel's position (a linear map of its [-1, 1] coordinates, the frame of the transducer
points), so "where am I relative to this transducer" can be expressed. The cost is linear in voxels (``N_vox x
M``), which is why the transducer is pooled to a few tokens first. Written with
``torch.nn.functional.scaled_dot_product_attention`` (fused, memory-efficient kernels); MONAI's
``CrossAttentionBlock`` would need the extra ``einops`` dependency for the same computation.

Example:
    >>> import torch
    >>> block = SpatialCrossAttention(3, channels=8, context_dim=16)
    >>> block(torch.randn(2, 8, 4, 4, 4), torch.randn(2, 5, 16)).shape
    torch.Size([2, 8, 4, 4, 4])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SpatialCrossAttention", "grid_coordinates"]


def grid_coordinates(shape: tuple[int, ...], device=None, dtype=None) -> torch.Tensor:
    """Voxel-centre coordinates ``(*shape, D)`` in [-1, 1] (``-1`` first voxel, ``+1`` last; align-corners).

    Example:
        >>> grid_coordinates((3, 2))[..., 0].tolist()
        [[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]
    """
    axes = [torch.linspace(-1.0, 1.0, n, device=device, dtype=dtype) if n > 1 else
            torch.zeros(1, device=device, dtype=dtype) for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


class SpatialCrossAttention(nn.Module):
    """``x + Attn(LN(x) + pos, tokens)`` on ``(B, C, *S)`` features and ``(B, M, context_dim)`` tokens.

    Args:
        spatial_dims: 1, 2 or 3.
        channels: feature channels ``C`` (the attention width).
        context_dim: token width.
        head_dim: channels per head (heads = ``max(1, C // head_dim)``).
        position: add the voxel position to the queries.
    """

    def __init__(self, spatial_dims: int, channels: int, context_dim: int, head_dim: int = 16,
                 position: bool = True) -> None:
        super().__init__()
        self.n_heads = max(1, int(channels) // int(head_dim))
        if channels % self.n_heads:
            self.n_heads = 1
        self.norm = nn.LayerNorm(channels)
        self.pos = nn.Linear(spatial_dims, channels) if position else None
        self.to_q = nn.Linear(channels, channels)
        self.to_kv = nn.Linear(context_dim, 2 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, *spatial = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        q = self.norm(tokens)
        if self.pos is not None:
            q = q + self.pos(grid_coordinates(tuple(spatial), x.device, x.dtype).reshape(-1, len(spatial)))
        h = self.n_heads
        q = self.to_q(q).view(b, -1, h, c // h).transpose(1, 2)
        k, v = self.to_kv(context).view(b, context.shape[1], 2, h, c // h).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, -1, c)
        return x + self.out(att).transpose(1, 2).reshape(x.shape)
