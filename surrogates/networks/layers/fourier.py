"""Random Fourier features of low-dimensional coordinates (Tancik et al., NeurIPS 2020): ``[x, sin(2 pi B x),
cos(2 pi B x)]`` with a fixed Gaussian matrix ``B ~ N(0, scale^2)``. They let an MLP resolve fine positional detail:
a raw coordinate in [-1, 1] varies too slowly for a network to tell voxel-sized shifts of a transducer apart.

``B`` is drawn from a seeded generator and stored as a buffer (saved with the weights), so a checkpoint always
reproduces its features. ``scale`` sets the finest resolved wavelength: coordinates span 2 units, so ``scale=16``
reaches about a 1/32 of the grid.

Example:
    >>> import torch
    >>> ff = FourierFeatures(3, n_frequencies=8, scale=4.0)
    >>> ff(torch.zeros(2, 5, 3)).shape, ff.out_features
    (torch.Size([2, 5, 19]), 19)
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["FourierFeatures"]


class FourierFeatures(nn.Module):
    """Map ``(..., in_features)`` coordinates to ``(..., out_features)`` random Fourier features.

    Args:
        in_features: coordinate dimension (3 for points).
        n_frequencies: number of random frequencies (each gives a sine and a cosine).
        scale: standard deviation of the frequencies (cycles per unit coordinate).
        include_input: also pass the raw coordinates through.
        learnable: make ``B`` a parameter instead of a fixed buffer.
        seed: seed of the generator drawing ``B``.
    """

    def __init__(self, in_features: int, n_frequencies: int = 32, scale: float = 10.0, include_input: bool = True,
                 learnable: bool = False, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        freqs = torch.randn(int(n_frequencies), int(in_features), generator=gen) * float(scale)
        if learnable:
            self.freqs = nn.Parameter(freqs)
        else:
            self.register_buffer("freqs", freqs)
        self.in_features = int(in_features)
        self.include_input = bool(include_input)
        self.out_features = 2 * int(n_frequencies) + (self.in_features if include_input else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        proj = 2 * math.pi * x @ self.freqs.t()
        parts = [x] if self.include_input else []
        return torch.cat([*parts, torch.sin(proj), torch.cos(proj)], dim=-1)
