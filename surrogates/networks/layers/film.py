"""Feature-wise linear modulation (FiLM, Perez et al., AAAI 2018): ``x * (1 + gamma(z)) + beta(z)`` per channel,
with ``gamma, beta`` a linear function of a conditioning vector ``z``.

With ``zero_init=True`` (default) the linear map starts at zero, so the layer starts as the identity and the
unconditioned network is undisturbed at the first step (the adaLN-Zero / ControlNet trick); gradients still reach the
map at once (``dL/dW = dL/d(gamma, beta) z^T``).

Example:
    >>> import torch
    >>> film = FiLM(4, cond_dim=8)
    >>> x = torch.randn(2, 4, 5, 5)
    >>> torch.equal(film(x, torch.randn(2, 8)), x)
    True
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FiLM"]


class FiLM(nn.Module):
    """Per-channel scale and shift of ``(B, C, *S)`` features from a ``(B, cond_dim)`` vector.

    Args:
        channels: number of feature channels ``C``.
        cond_dim: size of the conditioning vector.
        zero_init: start as the identity.
    """

    def __init__(self, channels: int, cond_dim: int, zero_init: bool = True) -> None:
        super().__init__()
        self.proj = nn.Linear(int(cond_dim), 2 * int(channels))
        if zero_init:
            nn.init.zeros_(self.proj.weight)
            nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(z).chunk(2, dim=-1)
        shape = (*gamma.shape, *([1] * (x.ndim - 2)))
        return x * (1 + gamma.view(shape)) + beta.view(shape)
