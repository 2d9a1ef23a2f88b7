"""Sep4dUNet: a U-Net over ``(T, Z, Y, X)`` built from the separable 4D conv, predicting the time-resolved
pressure (the snapshots of a tone burst or of one steady-state period) from the head and the transducer pose.

Inputs (prepared by :mod:`tfus.surrogates.data.wave_inputs`, the one input preparation of training, evaluation and
``tfus predict``): the normalised CT ``(B, 1, Z, Y, X)`` and static geometry channels ``(B, G, Z, Y, X)``, both
broadcast over time inside the network, and the wave channels ``(B, W, T, Z, Y, X)``: the source waveform at each
voxel's geometric retarded time. Why these: a convolutional network cannot find out from the CT alone where a bowl
outside its field of view sits or when its wave arrives; handing it the free-field answer (the focused wavefront's
arrival and phase) leaves it the part it can learn locally, the skull's delay, attenuation and scattering.

Outputs: ``field`` ``(B, 1, T, Z, Y, X)``, the snapshots divided by the sample's peak ``|p|`` (in [-1, 1]), and
``log_peak`` ``(B,)``, the normalised log of that peak (the scale head on the bottleneck, as DeepTFUS's), so
``p = field * peak_pa(log_peak)`` is in pascals.

Layout: a residual block of two :class:`~tfus.surrogates.networks.layers.sep4d_conv.Sep4dConv` per level, average
pooling by 2 in space between levels (time is never pooled), linear upsampling + pointwise map + skip concatenation
in the decoder, a pointwise head initialised to zero. Every conv follows the config's ``conv``, ``z_branch`` and
``time_padding``.

Tetris: :meth:`Sep4dUNet.enable_z_branch` turns a 2D+t network (``z_branch: false``) into a 4D one that computes the
same function (zero z-branches); :meth:`Sep4dUNet.load_init_weights` loads a 2D+t checkpoint into a 4D network the
same way.

Why a zero head: the target is sparse (a burst fills a small part of the 4D volume at any time), and a default
initialised head puts instance-normalised noise on every voxel — 7x the target's norm on a synthetic burst
(measured; ``tests/surrogates/test_sep4d_overfit.py``) — which the first steps spend removing. Starting at silence
(100 % relative L2), the same net fitted that burst to 13 % in 200 steps instead of 31 %. The head's weights still
get gradients at the first step, and everything else from the second.

Example:
    >>> import torch
    >>> net = Sep4dUNet(Sep4dConfig.from_mapping({"preset": "tiny"}))
    >>> ct, geometry, wave = net.example_inputs(batch=2, shape=(4, 6, 8, 8))
    >>> out = net(ct, geometry, wave)
    >>> out.field.shape, out.log_peak.shape
    (torch.Size([2, 1, 4, 6, 8, 8]), torch.Size([2]))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import nn

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.blocks.scale_head import ScaleHead
from tfus.surrogates.networks.blocks.sep4d_blocks import Pointwise, Sep4dResBlock, downsample, upsample
from tfus.surrogates.networks.layers.sep4d_conv import Sep4dConv
from tfus.surrogates.networks.nets.sep4d_config import Sep4dConfig

__all__ = ["Sep4dOutput", "Sep4dUNet"]


class Sep4dOutput(NamedTuple):
    """``field``: ``(B, 1, T, Z, Y, X)`` peak-normalised snapshots; ``log_peak``: ``(B,)`` or None."""

    field: torch.Tensor
    log_peak: torch.Tensor | None


class _Up(nn.Module):
    """Decoder level: upsample to the skip, pointwise map, concatenate, residual block."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, act: str, conv_kwargs: dict) -> None:
        super().__init__()
        self.proj = Pointwise(in_channels, out_channels)
        self.block = Sep4dResBlock(2 * out_channels, out_channels, norm, act, **conv_kwargs)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.proj(upsample(x, skip.shape[3:]))
        return self.block(torch.cat([x, skip], dim=1))


class Sep4dUNet(nn.Module):
    """The separable-4D time-resolved surrogate (see the module docstring).

    Args:
        config: a :class:`Sep4dConfig` (default: the ``base`` model).
    """

    def __init__(self, config: Sep4dConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config if config is not None else Sep4dConfig()
        ch = cfg.level_channels
        conv_kwargs = {"plane_kernel": cfg.plane_kernel, "z_kernel": cfg.z_kernel, "t_kernel": cfg.t_kernel,
                       "z_branch": cfg.z_branch, "time_padding": cfg.time_padding, "conv": cfg.conv}
        self.encoder = nn.ModuleList(
            Sep4dResBlock(cfg.in_channels if lv == 0 else ch[lv - 1], ch[lv], cfg.norm, cfg.act, **conv_kwargs)
            for lv in range(cfg.depth + 1))
        self.decoder = nn.ModuleList(_Up(ch[lv + 1], ch[lv], cfg.norm, cfg.act, conv_kwargs)
                                     for lv in reversed(range(cfg.depth)))
        self.head = Pointwise(ch[0], 1)
        for param in self.head.parameters():
            nn.init.zeros_(param)  # start at silence (module docstring)
        self.scale_head = ScaleHead(ch[-1], 0, cfg.scale_hidden) if cfg.predict_scale else None

    def forward(self, ct: torch.Tensor, geometry: torch.Tensor, wave: torch.Tensor) -> Sep4dOutput:
        """Predict the normalised snapshots (and the log peak).

        Args:
            ct: ``(B, 1, Z, Y, X)`` normalised CT.
            geometry: ``(B, geometry_channels, Z, Y, X)``.
            wave: ``(B, wave_channels, T, Z, Y, X)``.
        """
        cfg = self.config
        if wave.ndim != 6 or wave.shape[1] != cfg.wave_channels:
            raise TfusInputError(f"wave input must be (batch, {cfg.wave_channels}, T, Z, Y, X), got "
                                 f"{tuple(wave.shape)}")
        space = tuple(wave.shape[3:])
        for name, x, c in (("ct", ct, 1), ("geometry", geometry, cfg.geometry_channels)):
            if x.ndim != 5 or x.shape[1] != c or tuple(x.shape[2:]) != space or x.shape[0] != wave.shape[0]:
                raise TfusInputError(f"{name} input must be ({wave.shape[0]}, {c}, {', '.join(map(str, space))}), "
                                     f"got {tuple(x.shape)}")
        t = wave.shape[2]
        static = torch.cat([ct, geometry], dim=1).to(wave.dtype)
        x = torch.cat([static[:, :, None].expand(-1, -1, t, *space), wave], dim=1)
        skips = []
        for lv, block in enumerate(self.encoder):
            x = block(x if lv == 0 else downsample(x))
            skips.append(x)
        x = skips.pop()
        log_peak = self.scale_head(x) if self.scale_head is not None else None
        for up in self.decoder:
            x = up(x, skips.pop())
        return Sep4dOutput(self.head(x), log_peak)

    # -- Tetris --------------------------------------------------------------------------------------------------
    def sep4d_convs(self) -> list[Sep4dConv]:
        """Every separable 4D conv of the network."""
        return [m for m in self.modules() if isinstance(m, Sep4dConv)]

    def enable_z_branch(self) -> None:
        """Switch every z-branch on with zero weights: the network computes exactly what it computed before."""
        for conv in self.sep4d_convs():
            conv.enable_z_branch()
        self.config = self.config.model_copy(update={"z_branch": True})

    def load_init_weights(self, state: Mapping[str, torch.Tensor]) -> list[str]:
        """Load weights to start a new run from (``init_from``): every weight must match, except that z-branch
        weights missing from ``state`` (a 2D+t network) start at zero. Returns the names started at zero.

        Raises:
            TfusInputError: extra or mismatching weights, or other weights missing.
        """
        try:
            missing, unexpected = self.load_state_dict(state, strict=False)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[-1].strip()
            raise TfusInputError(f"init_from weights do not fit this sep4d config ({first[:120]}); give a run of "
                                 "the same width, depth and conv") from None
        others = [k for k in missing if not k.endswith(".w_z")]
        if others or unexpected:
            what = f"missing {others[0]}" if others else f"unexpected {unexpected[0]}"
            raise TfusInputError(f"init_from weights do not fit this sep4d config ({what}); give a run of the same "
                                 "width, depth and conv")
        params = dict(self.named_parameters())
        with torch.no_grad():
            for key in missing:
                params[key].zero_()
        return list(missing)

    def example_inputs(self, batch: int = 1, shape: tuple[int, int, int, int] = (4, 8, 8, 8)
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Random ``(ct, geometry, wave)`` for a ``(T, Z, Y, X)`` grid (smoke tests, benchmarks)."""
        cfg = self.config
        device = next(self.parameters()).device
        t, *space = shape
        return (torch.rand(batch, 1, *space, device=device),
                torch.rand(batch, cfg.geometry_channels, *space, device=device),
                torch.rand(batch, cfg.wave_channels, t, *space, device=device) * 2 - 1)

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
