"""The transducer encoder of DeepTFUS: surface points -> (Fourier features) -> point MLP (Linear, LayerNorm, ReLU)
-> attention pooling -> ``n_tokens`` transducer tokens and one global embedding ``z_T``.

Points are ``(B, N, 3)`` in the grid's normalised coordinates ([-1, 1], see
:mod:`tfus.surrogates.normalization`), so they live in the same frame as the volume. ``N`` may vary between calls;
a boolean ``mask`` ``(B, N)`` (True = real point) lets a batch mix transducers with different point counts. A pose
can be encoded the same way as a few points (e.g. apex and geometric focus, ``N = 2``).

Attention pooling: ``n_tokens`` learned queries attend over the point features (multi-head, padded points masked
out), so the encoder is invariant to the order and, to first order, the density of the points. The tokens feed
cross-attention; their mean, projected and normalised, is ``z_T`` (dynamic convolutions, FiLM, the scale head).

Example:
    >>> import torch
    >>> enc = TransducerEncoder(embed_dim=16, n_frequencies=8, n_tokens=4, n_heads=2)
    >>> tokens, z = enc(torch.rand(2, 50, 3) * 2 - 1)
    >>> tokens.shape, z.shape
    (torch.Size([2, 4, 16]), torch.Size([2, 16]))
"""

from __future__ import annotations

import torch
from torch import nn

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.layers.fourier import FourierFeatures

__all__ = ["AttentionPooling", "TransducerEncoder"]


class AttentionPooling(nn.Module):
    """``n_tokens`` learned queries attending over a set of features ``(B, N, dim)`` -> ``(B, n_tokens, dim)``.

    Example:
        >>> import torch
        >>> AttentionPooling(8, n_tokens=2, n_heads=2)(torch.randn(3, 10, 8)).shape
        torch.Size([3, 2, 8])
    """

    def __init__(self, dim: int, n_tokens: int = 8, n_heads: int = 4) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(int(n_tokens), int(dim)) * dim ** -0.5)
        self.attn = nn.MultiheadAttention(int(dim), int(n_heads), batch_first=True)
        self.norm = nn.LayerNorm(int(dim))

    def forward(self, feats: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q = self.queries.unsqueeze(0).expand(feats.shape[0], -1, -1)
        pad = None if mask is None else ~mask.bool()
        out, _ = self.attn(q, feats, feats, key_padding_mask=pad, need_weights=False)
        return self.norm(out + q)


class TransducerEncoder(nn.Module):
    """Encode transducer surface points to tokens ``(B, n_tokens, embed_dim)`` and ``z_T`` ``(B, embed_dim)``.

    Args:
        embed_dim: width of point features, tokens and ``z_T``.
        in_features: coordinate dimension of a point (3).
        fourier_features: encode points with random Fourier features (else raw coordinates).
        n_frequencies: Fourier frequencies.
        fourier_scale: standard deviation of the frequencies (cycles per unit).
        n_layers: point-MLP layers (each Linear, LayerNorm, ReLU).
        n_tokens: pooled tokens.
        n_heads: attention heads of the pooling (divides ``embed_dim``).
        seed: seed of the Fourier matrix.
    """

    def __init__(self, embed_dim: int = 64, in_features: int = 3, fourier_features: bool = True,
                 n_frequencies: int = 32, fourier_scale: float = 10.0, n_layers: int = 2, n_tokens: int = 8,
                 n_heads: int = 4, seed: int = 0) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.fourier = FourierFeatures(in_features, n_frequencies, fourier_scale, seed=seed) if fourier_features \
            else None
        width = self.fourier.out_features if self.fourier is not None else self.in_features
        layers: list[nn.Module] = []
        for i in range(int(n_layers)):
            layers += [nn.Linear(width if i == 0 else embed_dim, embed_dim), nn.LayerNorm(embed_dim), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)
        self.pool = AttentionPooling(embed_dim, n_tokens, n_heads)
        self.head = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.LayerNorm(embed_dim))

    def forward(self, points: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if points.ndim != 3 or points.shape[-1] != self.in_features:
            raise TfusInputError(f"transducer points must have shape (batch, n_points, {self.in_features}), "
                                 f"got {tuple(points.shape)}")
        if mask is not None and not bool(mask.bool().any(dim=1).all()):
            raise TfusInputError("a transducer has no valid point (mask all False); give every sample >= 1 point")
        feats = self.mlp(self.fourier(points) if self.fourier is not None else points)
        tokens = self.pool(feats, mask)
        return tokens, self.head(tokens.mean(dim=1))
