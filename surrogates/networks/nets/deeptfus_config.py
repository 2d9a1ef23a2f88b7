"""The configuration of :class:`~tfus.surrogates.networks.nets.deeptfus.DeepTFUS`: a frozen pydantic model, so a
YAML mapping is validated at the boundary (unknown keys and bad values are one :class:`TfusInputError` line) and
every ablation is one flag (``dynamic_conv``, ``cross_attention``, ``film``, ``fourier_features``,
``predict_scale``, ``coord_channels``).

Channels of level ``l`` (0 = full resolution, ``depth`` = bottleneck) are ``min(width * 2**l, max_width)`` unless
``channels`` lists them. Presets (:data:`PRESETS`): ``tiny`` (tests), ``base`` (the defaults), ``demo`` (the model
``tfus demo`` trains and the benchmarks start from), ``beam`` (the shipped beam-frame model) and ``large`` (a
paper-scale model for 256^3 grids on one 80 GB GPU).

Example:
    >>> cfg = DeepTFUSConfig(width=8, depth=2, film=False)
    >>> cfg.level_channels, cfg.uses_transducer, cfg.attention_at
    ((8, 16, 32), True, (1, 2))
    >>> DeepTFUSConfig.from_mapping({"preset": "tiny", "spatial_dims": 2}).width
    4
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.layers.conv_factory import parse_conv_spec
from tfus.surrogates.networks.nets.config_mapping import config_from_mapping, level_channels

__all__ = ["PRESETS", "DeepTFUSConfig"]


class DeepTFUSConfig(BaseModel):
    """Width, depth and every conditioning path of DeepTFUS.

    Attributes:
        spatial_dims: 2 or 3.
        in_channels: image channels (1: normalised CT).
        out_channels: field channels (1: normalised pressure).
        width: channels of the full-resolution level.
        depth: number of downsamplings (the bottleneck is at level ``depth``).
        max_width: cap on the channels of any level.
        channels: explicit channels per level (``depth + 1`` values); overrides ``width``/``max_width``.
        conv: conv spec for every convolution (``dense``, or a registered ``name:arg`` such as ``cp:4``).
        norm: ``instance``, ``group``, ``batch`` or ``none``.
        act: MONAI activation name.
        coord_channels: append the voxel coordinates ([-1, 1], the frame of the points) as input channels.
        free_field_prior: one more input channel, the bowl's free field in water at the pose
            (:mod:`tfus.surrogates.data.prior`; prepared by ``model_inputs``): the network learns what the head does
            to a beam it is shown, instead of discovering the beam from the surface points.
        beam_prior: which prior a beam-frame model is shown: ``water`` (the box's exact k-Wave water field, one per
            store) or ``angular-spectrum`` (the bowl marched through this sample's skull by the hybrid angular
            spectrum, :mod:`tfus.pipeline.beam.angular`: per pose, ~0.1 s, needs the tissue labels). Whole-head models
            ignore it (their prior is the Rayleigh free field).
        prior_residual: with the prior, the network predicts a correction added to it, and its output layer starts
            at zero, so an untrained model already predicts the free field (a residual on the physics).
        embed_dim: width of the transducer tokens and embedding ``z_T``.
        fourier_features: Fourier-encode the points (off: raw coordinates into the MLP).
        n_frequencies: Fourier frequencies.
        fourier_scale: standard deviation of the frequencies (cycles per unit of [-1, 1]).
        point_layers: layers of the point MLP.
        n_tokens: tokens of the attention pooling.
        n_heads: heads of the attention pooling (divides ``embed_dim``).
        n_points: transducer points the data pipeline samples per sample (the model accepts any number).
        dynamic_conv: the second conv of every encoder level is dynamic (kernel from ``z_T``).
        n_experts: expert kernels per dynamic conv.
        cross_attention: cross-attention from encoder features to the transducer tokens.
        attention_levels: levels with cross-attention (default: every downsampled level and the bottleneck).
        attention_head_dim: channels per cross-attention head.
        film: FiLM from ``z_T`` in every decoder level.
        film_zero_init: FiLM starts as the identity.
        predict_scale: also predict the normalised log peak pressure (needed to return pascals).
        scale_hidden: hidden width of the scale head.
        seed: seed of the Fourier matrix.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    spatial_dims: Literal[2, 3] = 3
    in_channels: int = Field(1, ge=1)
    out_channels: int = Field(1, ge=1)
    width: int = Field(16, ge=1)
    depth: int = Field(3, ge=1, le=7)
    max_width: int = Field(256, ge=1)
    channels: tuple[int, ...] | None = None
    conv: str = "dense"
    norm: Literal["instance", "group", "batch", "none"] = "instance"
    act: str = "leakyrelu"
    coord_channels: bool = True
    free_field_prior: bool = False
    beam_prior: Literal["water", "angular-spectrum"] = "water"
    prior_residual: bool = True
    embed_dim: int = Field(64, ge=1)
    fourier_features: bool = True
    n_frequencies: int = Field(32, ge=1)
    fourier_scale: float = Field(10.0, gt=0)
    point_layers: int = Field(2, ge=1)
    n_tokens: int = Field(8, ge=1)
    n_heads: int = Field(4, ge=1)
    n_points: int = Field(2048, ge=1)
    dynamic_conv: bool = True
    n_experts: int = Field(4, ge=1)
    cross_attention: bool = True
    attention_levels: tuple[int, ...] | None = None
    attention_head_dim: int = Field(16, ge=1)
    film: bool = True
    film_zero_init: bool = True
    predict_scale: bool = True
    scale_hidden: int = Field(64, ge=1)
    seed: int = 0

    @field_validator("conv")
    @classmethod
    def _conv(cls, value: str) -> str:
        try:
            parse_conv_spec(value)
        except TfusInputError as err:
            raise ValueError(str(err)) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DeepTFUSConfig:
        if self.channels is not None and (len(self.channels) != self.depth + 1 or min(self.channels) < 1):
            raise ValueError(f"channels must list depth + 1 = {self.depth + 1} positive widths, got "
                             f"{list(self.channels)}")
        if self.embed_dim % self.n_heads:
            raise ValueError(f"embed_dim {self.embed_dim} must be divisible by n_heads {self.n_heads}")
        bad = [lv for lv in self.attention_levels or () if not 0 <= lv <= self.depth]
        if bad:
            raise ValueError(f"attention_levels {bad} outside 0..depth ({self.depth})")
        return self

    @property
    def level_channels(self) -> tuple[int, ...]:
        """Channels of levels ``0..depth``."""
        return level_channels(self.width, self.depth, self.max_width, self.channels)

    @property
    def input_channels(self) -> int:
        """Channels of the model's image input: ``in_channels`` plus the free-field prior."""
        return self.in_channels + int(self.free_field_prior)

    @property
    def uses_transducer(self) -> bool:
        """Whether any path reads the transducer (else the model ignores the points)."""
        return self.dynamic_conv or self.cross_attention or self.film

    @property
    def attention_at(self) -> tuple[int, ...]:
        """Levels that get cross-attention (empty when ``cross_attention`` is off)."""
        if not self.cross_attention:
            return ()
        levels = self.attention_levels if self.attention_levels is not None else range(1, self.depth + 1)
        return tuple(sorted(set(levels)))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None = None, **overrides: Any) -> DeepTFUSConfig:
        """Validate a mapping (e.g. the ``model:`` section of a YAML); ``preset: NAME`` starts from a preset.

        Raises:
            TfusInputError: one line naming the bad key and what is allowed.
        """
        return config_from_mapping(cls, PRESETS, data, overrides, "model")


#: Named starting points; any key can still be overridden.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "depth": 2, "embed_dim": 16, "n_frequencies": 8, "n_tokens": 4, "n_heads": 2,
             "n_experts": 2, "scale_hidden": 16, "n_points": 256},
    "base": {},
    # small enough to train on 2 CPU cores in minutes; every conditioning path on, plus the free-field prior (a
    # residual on the bowl's field in water): at demo scale (12 training fields) it is what makes the map a beam
    "demo": {"width": 8, "depth": 3, "n_experts": 2, "n_points": 512, "free_field_prior": True},
    # the shipped beam-frame model (data/models): one transducer and frequency per model, the bowl always on the box
    # axis, so no transducer conditioning; the exact k-Wave water field of the box as the residual prior
    "beam": {"width": 8, "depth": 3, "dynamic_conv": False, "cross_attention": False, "film": False,
             "free_field_prior": True, "n_points": 64, "scale_hidden": 32},
    # the same network on a better prior: the bowl's field through this pose's skull by the angular spectrum
    "beam-has": {"width": 8, "depth": 3, "dynamic_conv": False, "cross_attention": False, "film": False,
                 "free_field_prior": True, "beam_prior": "angular-spectrum", "n_points": 64, "scale_hidden": 32},
    "large": {"width": 32, "depth": 4, "max_width": 320, "embed_dim": 128, "n_frequencies": 64,
              "fourier_scale": 16.0, "n_tokens": 16, "n_heads": 8, "attention_head_dim": 32, "scale_hidden": 128,
              "n_points": 4096},
}
