"""The scale head: predicts the normalised log peak pressure (see :mod:`tfus.surrogates.normalization`) from the
bottleneck (global average and max pooling) and, when the model has one, the transducer embedding ``z_T``. The
field head predicts a peak-normalised map; this scalar turns it back into pascals.

Example:
    >>> import torch
    >>> ScaleHead(16, cond_dim=8)(torch.randn(2, 16, 2, 2, 2), torch.randn(2, 8)).shape
    torch.Size([2])
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ScaleHead"]


class ScaleHead(nn.Module):
    """``MLP([avgpool(x), maxpool(x), z]) -> (B,)``.

    Args:
        in_channels: bottleneck channels.
        cond_dim: size of ``z`` (0: no ``z``).
        hidden: hidden width.
    """

    def __init__(self, in_channels: int, cond_dim: int = 0, hidden: int = 64) -> None:
        super().__init__()
        self.cond_dim = int(cond_dim)
        self.mlp = nn.Sequential(nn.Linear(2 * in_channels + self.cond_dim, hidden), nn.LayerNorm(hidden),
                                 nn.ReLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        flat = x.flatten(2)
        parts = [flat.mean(-1), flat.amax(-1)]
        if self.cond_dim:
            parts.append(z)
        return self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)
