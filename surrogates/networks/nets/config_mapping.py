"""The one way a network config is built from a YAML mapping: ``preset: NAME`` first, then the given keys, validated
by the pydantic model, with one-line errors naming the bad key and the allowed ones.

Example:
    >>> from pydantic import BaseModel, ConfigDict
    >>> class Cfg(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     width: int = 8
    >>> config_from_mapping(Cfg, {"small": {"width": 4}}, {"preset": "small"}, {}, "toy").width
    4
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tfus.pipeline.errors import TfusInputError, validation_message

__all__ = ["config_from_mapping", "level_channels"]

C = TypeVar("C", bound=BaseModel)


def config_from_mapping(cls: type[C], presets: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any] | None,
                        overrides: Mapping[str, Any], kind: str, preset_kind: str | None = None) -> C:
    """Validate ``data`` plus ``overrides`` as ``cls``, starting from ``presets[data["preset"]]`` when given.

    Args:
        kind: how errors name the model's keys (``"model"``, ``"sep4d model"``).
        preset_kind: how errors name its presets (default ``kind``).

    Raises:
        TfusInputError: an unknown preset or key, or an invalid value (one line).
    """
    values = {**(dict(data) if data else {}), **overrides}
    preset = values.pop("preset", None)
    if preset is not None:
        if preset not in presets:
            raise TfusInputError(f"unknown {preset_kind or kind} preset {preset!r}; use one of: {', '.join(presets)}")
        values = {**presets[preset], **values}
    try:
        return cls.model_validate(values)
    except ValidationError as err:
        raise TfusInputError(validation_message(err, cls, where="model", unknown=f"unknown {kind} key", limit=1,
                                                show_input=False)) from None


def level_channels(width: int, depth: int, max_width: int, channels: tuple[int, ...] | None) -> tuple[int, ...]:
    """Channels of U-Net levels ``0..depth``: ``channels`` when given, else ``width`` doubling per level, capped."""
    if channels is not None:
        return tuple(channels)
    return tuple(min(width * 2 ** lv, max_width) for lv in range(depth + 1))
