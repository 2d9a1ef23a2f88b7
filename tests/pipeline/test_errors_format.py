"""The one pydantic ValidationError formatter and the dataclass-settings check beside it (tfus.pipeline.errors)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tfus.pipeline.engines.fem.config import FemConfig
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.errors import TfusInputError, dataclass_from_mapping, validation_message


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = 1


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inner: _Inner = _Inner()
    rate: float = 1.0

    @field_validator("rate")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be positive")
        return v


def _message(data, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        _Outer.model_validate(data)
    return validation_message(info.value, _Outer, **kwargs)


def test_unknown_keys_name_the_allowed_ones_also_nested():
    assert _message({"rat": 1}) == "unknown key 'rat'; allowed keys: inner, rate"
    assert _message({"inner": {"sise": 2}}, where="a.yaml") == "a.yaml.inner: unknown key 'sise'; allowed keys: size"
    assert _message({"rat": 1}, unknown="unknown model key", where="model").startswith("model: unknown model key")


def test_values_and_types():
    assert _message({"rate": -1}) == "rate: must be positive"
    assert _message({"rate": "fast"}).startswith("rate: Input should be a valid number")
    assert "(got 'fast')" in _message({"rate": "fast"})
    assert "(got" not in _message({"rate": "fast"}, show_input=False)
    both = _message({"rate": -1, "inner": {"size": "x"}})
    assert "; " in both and "\n" not in both
    assert "; " not in _message({"rate": -1, "inner": {"size": "x"}}, limit=1)


def test_dataclass_settings_checked_like_the_pydantic_configs():
    @dataclass(frozen=True)
    class Steps:
        n: int = 3

    assert dataclass_from_mapping(Steps, None, where="steps") == Steps()
    with pytest.raises(TfusInputError, match="^steps: unknown key 'm'; allowed keys: n$"):
        dataclass_from_mapping(Steps, {"m": 1}, where="steps")
    with pytest.raises(TfusInputError, match="expected a mapping"):
        dataclass_from_mapping(Steps, [1], where="steps")
    with pytest.raises(TfusInputError, match="^kwave: unknown key 'cfll'; allowed keys: cfl, "):
        KWaveConfig.from_mapping({"cfll": 0.3})
    with pytest.raises(TfusInputError, match="^kwave: unstable time step"):
        KWaveConfig.from_mapping({"cfl": 0.9})
    with pytest.raises(TfusInputError, match="^fem: unknown key 'quadratur'"):
        FemConfig.from_mapping({"quadratur": "gauss"})
    assert FemConfig.from_mapping({"quadrature": "gauss"}).quadrature == "gauss"
