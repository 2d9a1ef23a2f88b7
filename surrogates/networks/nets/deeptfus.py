"""DeepTFUS: a transducer-conditioned 3D U-Net that maps a normalised CT and the transducer's surface points to the
peak-normalised steady-state pressure field, plus (``predict_scale``) the normalised log peak pressure that turns
the map back into pascals (:func:`tfus.surrogates.normalization.to_pascal`).

Conditioning paths, each one config flag (:class:`DeepTFUSConfig`):

* transducer encoder (on whenever a path below is): points -> Fourier features -> MLP -> attention pooling ->
  tokens and ``z_T``;
* ``dynamic_conv``: the second conv of every encoder level is a mixture of expert kernels weighted from ``z_T``;
* ``cross_attention``: at ``attention_levels``, every voxel attends over the transducer tokens;
* ``film``: every decoder level is modulated by ``z_T``.

With all three off the network is a plain U-Net and ignores the points. ``coord_channels`` appends the voxel
coordinates in the frame of the points, so convolutions can relate a voxel to the transducer.

Any grid works whose every axis is at least ``2**depth`` (strided convs round up, the decoder upsamples to the
skip's size); ``2**depth``-divisible sizes keep every level exactly half the previous one.

Example:
    >>> import torch
    >>> net = DeepTFUS(DeepTFUSConfig.from_mapping({"preset": "tiny"}))
    >>> ct, points = net.example_inputs(batch=2, shape=(16, 16, 16))
    >>> out = net(ct, points)
    >>> out.field.shape, out.log_peak.shape
    (torch.Size([2, 1, 16, 16, 16]), torch.Size([2]))
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.blocks.cross_attention import SpatialCrossAttention, grid_coordinates
from tfus.surrogates.networks.blocks.scale_head import ScaleHead
from tfus.surrogates.networks.blocks.transducer_encoder import TransducerEncoder
from tfus.surrogates.networks.blocks.unet_blocks import DecoderBlock, EncoderBlock
from tfus.surrogates.networks.layers.conv_factory import make_conv
from tfus.surrogates.networks.nets.deeptfus_config import DeepTFUSConfig

__all__ = ["DeepTFUS", "DeepTFUSOutput"]


class DeepTFUSOutput(NamedTuple):
    """``field``: normalised pressure ``(B, out_channels, *S)``; ``log_peak``: ``(B,)`` normalised log peak
    pressure, or None without ``predict_scale``."""

    field: torch.Tensor
    log_peak: torch.Tensor | None


class DeepTFUS(nn.Module):
    """The DeepTFUS surrogate (see the module docstring).

    Args:
        config: a :class:`DeepTFUSConfig` (default: the demo model).
    """

    def __init__(self, config: DeepTFUSConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config if config is not None else DeepTFUSConfig()
        dims, ch = cfg.spatial_dims, cfg.level_channels
        self.transducer = (TransducerEncoder(cfg.embed_dim, 3, cfg.fourier_features, cfg.n_frequencies,
                                             cfg.fourier_scale, cfg.point_layers, cfg.n_tokens, cfg.n_heads, cfg.seed)
                           if cfg.uses_transducer else None)
        e = cfg.embed_dim
        common = {"conv_spec": cfg.conv, "norm": cfg.norm, "act": cfg.act}
        in_ch = cfg.input_channels + (dims if cfg.coord_channels else 0)
        self.encoder = nn.ModuleList(
            EncoderBlock(dims, in_ch if lv == 0 else ch[lv - 1], ch[lv], stride=1 if lv == 0 else 2,
                         cond_dim=e if cfg.dynamic_conv else None, n_experts=cfg.n_experts, **common)
            for lv in range(cfg.depth + 1))
        self.attention = nn.ModuleDict(
            {str(lv): SpatialCrossAttention(dims, ch[lv], e, cfg.attention_head_dim) for lv in cfg.attention_at})
        self.decoder = nn.ModuleList(
            DecoderBlock(dims, ch[lv + 1], ch[lv], ch[lv], cond_dim=e if cfg.film else None,
                         film_zero_init=cfg.film_zero_init, **common)
            for lv in reversed(range(cfg.depth)))
        self.head = make_conv(dims, ch[0], cfg.out_channels, 1, 1, cfg.conv)
        if cfg.free_field_prior and cfg.prior_residual:  # start as the free field; learn what the head changes
            for param in self.head.parameters():
                nn.init.zeros_(param)
        self.scale_head = (ScaleHead(ch[-1], e if cfg.uses_transducer else 0, cfg.scale_hidden)
                           if cfg.predict_scale else None)

    def forward(self, ct: torch.Tensor, points: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> DeepTFUSOutput:
        """Predict the normalised field (and log peak).

        Args:
            ct: normalised CT ``(B, input_channels, *S)`` (CT, then the free-field prior when configured).
            points: transducer surface points ``(B, N, 3)`` in [-1, 1] grid coordinates (unused and optional when
                no conditioning path is on).
            mask: optional ``(B, N)`` booleans, True for real points.
        """
        cfg = self.config
        spatial = tuple(ct.shape[2:])
        if ct.ndim != cfg.spatial_dims + 2 or ct.shape[1] != cfg.input_channels:
            raise TfusInputError(f"input must have shape (batch, {cfg.input_channels}, {cfg.spatial_dims} spatial "
                                 f"axes), got {tuple(ct.shape)}")
        if min(spatial) < 2 ** cfg.depth:
            raise TfusInputError(f"grid {list(spatial)} too small for depth {cfg.depth}; every axis needs >= "
                                 f"{2 ** cfg.depth} voxels (lower depth or pad the grid)")
        x = ct
        if cfg.coord_channels:
            coords = grid_coordinates(spatial, ct.device, ct.dtype).movedim(-1, 0)
            x = torch.cat([ct, coords.unsqueeze(0).expand(ct.shape[0], *coords.shape)], dim=1)
        tokens = z = None
        if self.transducer is not None:
            if points is None:
                raise TfusInputError("this model is conditioned on the transducer; pass its surface points")
            tokens, z = self.transducer(points.to(ct.dtype), mask)
        skips = []
        for lv, block in enumerate(self.encoder):
            x = block(x, z)
            if str(lv) in self.attention:
                x = self.attention[str(lv)](x, tokens)
            skips.append(x)
        x = skips.pop()
        log_peak = self.scale_head(x, z) if self.scale_head is not None else None
        for block in self.decoder:
            x = block(x, skips.pop(), z)
        field = self.head(x)
        if cfg.free_field_prior and cfg.prior_residual:
            field = field + ct[:, cfg.in_channels:cfg.in_channels + 1]
        return DeepTFUSOutput(field, log_peak)

    def example_inputs(self, batch: int = 1, shape: tuple[int, ...] | None = None,
                       n_points: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Random ``(ct, points)`` of the right shapes (for smoke tests and benchmarks)."""
        cfg = self.config
        shape = shape or (2 ** (cfg.depth + 1),) * cfg.spatial_dims
        device = next(self.parameters()).device
        ct = torch.rand(batch, cfg.input_channels, *shape, device=device)
        return ct, torch.rand(batch, n_points or min(cfg.n_points, 64), 3, device=device) * 2 - 1

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
