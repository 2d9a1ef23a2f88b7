"""The configuration of :class:`~tfus.surrogates.networks.nets.sep4d.Sep4dUNet`, the time-resolved surrogate: a
frozen pydantic model (unknown keys and bad values are one :class:`TfusInputError` line), like
:class:`~tfus.surrogates.networks.nets.deeptfus_config.DeepTFUSConfig`.

Channels of level ``l`` are ``min(width * 2**l, max_width)`` unless ``channels`` lists them. Presets
(:data:`SEP4D_PRESETS`): ``tiny`` (tests), ``demo`` (width 4: ~12 s per forward + backward of one demo-4d sample,
16 x 44 x 52 x 44, on one loaded CPU core) and ``base`` (the defaults, width 16, depth 3: for a GPU).

Example:
    >>> cfg = Sep4dConfig.from_mapping({"preset": "tiny"})
    >>> cfg.level_channels, cfg.in_channels, cfg.z_branch
    ((4, 8), 6, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.layers.sep4d_conv import parse_sep4d_conv
from tfus.surrogates.networks.nets.config_mapping import config_from_mapping, level_channels

__all__ = ["SEP4D_PRESETS", "Sep4dConfig"]


class Sep4dConfig(BaseModel):
    """Width, depth, kernels and inputs of the separable-4D U-Net.

    Attributes:
        geometry_channels: static pose channels besides the CT (the bowl surface raster and the distance to the
            geometric focus, :mod:`tfus.surrogates.data.wave_inputs`).
        wave_channels: time-resolved pose channels (the source waveform at the geometric retarded time: envelope,
            in-phase and quadrature).
        width: channels of the full-resolution level.
        depth: number of spatial downsamplings.
        max_width: cap on the channels of any level.
        channels: explicit channels per level (``depth + 1`` values).
        conv: ``dense`` (full separable 4D kernels) or ``cp:R`` (rank-R in-plane kernels).
        z_branch: the along-z branch of every conv (off: a 2D+t network, Tetris stage 1).
        time_padding: ``zeros`` (tone bursts) or ``circular`` (one period of a steady state).
        plane_kernel: in-plane kernel size.
        z_kernel: along-z kernel size.
        t_kernel: along-time kernel size.
        norm: ``instance``, ``group`` or ``none``.
        act: MONAI activation name.
        predict_scale: also predict the normalised log of the peak ``|p|`` (needed to return pascals).
        scale_hidden: hidden width of the scale head.
        n_points: bowl surface points rasterised into the surface channel.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    geometry_channels: int = Field(2, ge=0)
    wave_channels: int = Field(3, ge=0)
    width: int = Field(16, ge=1)
    depth: int = Field(3, ge=0, le=5)
    max_width: int = Field(128, ge=1)
    channels: tuple[int, ...] | None = None
    conv: str = "dense"
    z_branch: bool = True
    time_padding: Literal["zeros", "circular"] = "zeros"
    plane_kernel: int = Field(3, ge=1)
    z_kernel: int = Field(3, ge=1)
    t_kernel: int = Field(3, ge=1)
    norm: Literal["instance", "group", "none"] = "instance"
    act: str = "leakyrelu"
    predict_scale: bool = True
    scale_hidden: int = Field(32, ge=1)
    n_points: int = Field(2048, ge=1)

    @field_validator("plane_kernel", "z_kernel", "t_kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"kernel sizes must be odd, got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Sep4dConfig:
        try:
            parse_sep4d_conv(self.conv)
        except TfusInputError as err:
            raise ValueError(str(err)) from None
        if self.channels is not None and (len(self.channels) != self.depth + 1 or min(self.channels) < 1):
            raise ValueError(f"channels must list depth + 1 = {self.depth + 1} positive widths, got "
                             f"{list(self.channels)}")
        return self

    @property
    def in_channels(self) -> int:
        """Input channels of the network: the CT, the static geometry and the wave channels."""
        return 1 + self.geometry_channels + self.wave_channels

    @property
    def level_channels(self) -> tuple[int, ...]:
        """Channels of levels ``0..depth``."""
        return level_channels(self.width, self.depth, self.max_width, self.channels)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None = None, **overrides: Any) -> Sep4dConfig:
        """Validate a mapping (the ``model:`` section of a training YAML); ``preset: NAME`` starts from a preset.

        Raises:
            TfusInputError: one line naming the bad key and what is allowed.
        """
        return config_from_mapping(cls, SEP4D_PRESETS, data, overrides, "sep4d model", "sep4d")


#: Named starting points; any key can still be overridden.
SEP4D_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "depth": 1, "scale_hidden": 8, "n_points": 256},
    "demo": {"width": 4, "depth": 2, "scale_hidden": 16},
    "base": {},
}
