"""Sonication protocols: pulse timing, train timing and the drive level, validated at the boundary.

A protocol is nested timing (the terms of the ITRUSST reporting checklist, Martin et al., arXiv 2402.10027):

* a **pulse** of ``pulse_duration_ms`` repeats every ``1 / pulse_repetition_frequency_hz`` (or give
  ``duty_cycle_percent`` instead of the PRF) for the **pulse-train duration** ``train_duration_s``;
* a train starts every ``train_repetition_interval_s`` until the **total sonication time** ``total_duration_s``
  ends (a train running past the end is cut there; a single train has interval = duration = total);
* the drive is exactly one of ``source_amplitude_pa`` (pressure at the transducer surface),
  ``isppa_in_situ_w_cm2`` (spatial-peak pulse-average intensity in the head) or ``isppa_free_field_w_cm2`` (the same
  in water). :meth:`Protocol.amplitude_scale` turns it into the factor that scales a simulated pressure field.

Presets live in ``data/protocols/<name>.yaml`` (sources in the README there); any YAML file with the same keys works.

Example:
    >>> from tfus.pipeline.safety.protocol import load_protocol
    >>> p = load_protocol("tbtus-zeng2022")
    >>> round(p.duty_cycle, 3), p.total_duration_s, round(p.on_time_s, 3)
    (0.1, 80.0, 8.0)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tfus.pipeline.errors import TfusInputError, validation_message
from tfus.pipeline.io.yaml_file import read_yaml
from tfus.pipeline.resources import data_path, preset_or_path

__all__ = ["Protocol", "list_protocols", "load_protocol"]

_DRIVES = ("source_amplitude_pa", "isppa_in_situ_w_cm2", "isppa_free_field_w_cm2")
_REL_TOL = 1e-9  # timing comparisons allow this relative slack (YAML decimals such as 0.36 ms)


class Protocol(BaseModel):
    """One sonication protocol (frozen; times in the units their names carry).

    Attributes:
        name: short identifier (preset name or file stem).
        description: one line for people.
        source: the publication the timing comes from.
        pulse_duration_ms: length of one pulse (tone burst), ms.
        pulse_repetition_frequency_hz: pulses per second within a train (derived from ``duty_cycle_percent`` if
            omitted).
        duty_cycle_percent: pulse duration x PRF in % (derived from the PRF if omitted; give one of the two).
        train_duration_s: length of one pulse train, s.
        train_repetition_interval_s: start-to-start time of trains, s (>= the train duration).
        total_duration_s: total sonication time, s (>= one train).
        source_amplitude_pa / isppa_in_situ_w_cm2 / isppa_free_field_w_cm2: the drive; exactly one is set.

    Example:
        >>> p = Protocol(name="cw", pulse_duration_ms=1000.0, pulse_repetition_frequency_hz=1.0,
        ...              train_duration_s=10.0, train_repetition_interval_s=10.0, total_duration_s=10.0,
        ...              source_amplitude_pa=60e3)
        >>> p.duty_cycle, p.ispta_factor
        (1.0, 1.0)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "protocol"
    description: str = ""
    source: str = ""
    pulse_duration_ms: float = Field(gt=0, le=3600e3)
    pulse_repetition_frequency_hz: float | None = Field(default=None, gt=0, le=1e5)
    duty_cycle_percent: float | None = Field(default=None, gt=0, le=100)
    train_duration_s: float = Field(gt=0, le=3600)
    train_repetition_interval_s: float = Field(gt=0, le=3600)
    total_duration_s: float = Field(gt=0, le=3600)
    source_amplitude_pa: float | None = Field(default=None, gt=0, le=20e6)
    isppa_in_situ_w_cm2: float | None = Field(default=None, gt=0, le=1e4)
    isppa_free_field_w_cm2: float | None = Field(default=None, gt=0, le=1e4)

    @model_validator(mode="after")
    def _check_timing(self) -> Protocol:
        prf, dc = self.pulse_repetition_frequency_hz, self.duty_cycle_percent
        pd_s = self.pulse_duration_ms / 1e3
        if prf is None and dc is None:
            raise ValueError("give pulse_repetition_frequency_hz or duty_cycle_percent")
        if prf is None:
            prf = dc / 100.0 / pd_s
            object.__setattr__(self, "pulse_repetition_frequency_hz", prf)
        elif dc is None:
            dc = 100.0 * pd_s * prf
            object.__setattr__(self, "duty_cycle_percent", dc)
        elif not math.isclose(dc, 100.0 * pd_s * prf, rel_tol=1e-6):
            raise ValueError(f"duty_cycle_percent {dc:g} disagrees with pulse_duration_ms x PRF = "
                             f"{100.0 * pd_s * prf:g} %; give only one of duty_cycle_percent and the PRF")
        if dc > 100.0 * (1 + _REL_TOL):
            raise ValueError(f"pulse of {self.pulse_duration_ms:g} ms is longer than its repetition period "
                             f"{1e3 / prf:g} ms (duty cycle {dc:g} % > 100 %); shorten the pulse or lower the PRF")
        if pd_s > self.train_duration_s * (1 + _REL_TOL):
            raise ValueError(f"pulse of {self.pulse_duration_ms:g} ms does not fit in a train of "
                             f"{self.train_duration_s:g} s; lengthen the train or shorten the pulse")
        if self.train_duration_s > self.train_repetition_interval_s * (1 + _REL_TOL):
            raise ValueError(f"train of {self.train_duration_s:g} s does not fit in its repetition interval "
                             f"{self.train_repetition_interval_s:g} s; make the interval at least the train duration")
        if self.train_duration_s > self.total_duration_s * (1 + _REL_TOL):
            raise ValueError(f"train of {self.train_duration_s:g} s is longer than the total sonication time "
                             f"{self.total_duration_s:g} s; make total_duration_s at least one train")
        given = [k for k in _DRIVES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one drive of {', '.join(_DRIVES)} (got {', '.join(given) or 'none'})")
        return self

    # --- derived quantities -------------------------------------------------------------------------------------
    @property
    def pulse_duration_s(self) -> float:
        """Pulse duration in s."""
        return self.pulse_duration_ms / 1e3

    @property
    def pulse_repetition_period_s(self) -> float:
        """Start-to-start time of pulses within a train, s."""
        return 1.0 / float(self.pulse_repetition_frequency_hz)

    @property
    def duty_cycle(self) -> float:
        """Fraction of a train during which the source is on (pulse duration x PRF, 0-1)."""
        return min(1.0, self.pulse_duration_s / self.pulse_repetition_period_s)

    @property
    def drive(self) -> tuple[str, float]:
        """The drive key and its value, e.g. ``("isppa_free_field_w_cm2", 30.0)``."""
        key = next(k for k in _DRIVES if getattr(self, k) is not None)
        return key, float(getattr(self, key))

    @property
    def on_time_s(self) -> float:
        """Total time the source is on over the whole sonication, s."""
        return float(self.cumulative_on_time(np.array([self.total_duration_s]))[0])

    @property
    def ispta_factor(self) -> float:
        """Time-averaging factor for Ispta over the whole sonication: Ispta = Isppa x this (on time / total time).

        Spatial-peak temporal-average intensity averaged over the total sonication time; within one train it is the
        duty cycle (use :attr:`duty_cycle` for the train-average Ispta).
        """
        return self.on_time_s / self.total_duration_s

    def train_intervals(self) -> list[tuple[float, float]]:
        """The (start, end) of every pulse train in s, cut at the total time; contiguous trains are merged.

        Example:
            >>> load_protocol("tbtus-zeng2022").train_intervals()
            [(0.0, 80.0)]
        """
        out: list[tuple[float, float]] = []
        period, total = self.train_repetition_interval_s, self.total_duration_s
        for k in range(int(math.ceil(total / period - _REL_TOL))):
            start = k * period
            end = min(start + self.train_duration_s, total)
            if out and start <= out[-1][1] * (1 + _REL_TOL):
                out[-1] = (out[-1][0], end)
            else:
                out.append((start, end))
        return out

    def cumulative_on_time(self, t: np.ndarray) -> np.ndarray:
        """Time the source has been on between 0 and each ``t`` (s), exactly, pulses included.

        The on-fraction of a time step ``[t0, t1]`` is ``(F(t1) - F(t0)) / (t1 - t0)`` with ``F`` this function; the
        thermal solver uses it so that the deposited energy is exact whatever the step.

        Example:
            >>> p = load_protocol("tbtus-zeng2022")   # 20 ms pulses every 200 ms
            >>> p.cumulative_on_time(np.array([0.01, 0.2, 0.25, 100.0])).round(4).tolist()
            [0.01, 0.02, 0.04, 8.0]
        """
        t = np.clip(np.asarray(t, dtype=np.float64), 0.0, self.total_duration_s)
        n_trains = np.floor(t / self.train_repetition_interval_s + _REL_TOL)
        in_train = np.clip(t - n_trains * self.train_repetition_interval_s, 0.0, None)
        return n_trains * self._train_on_time(self.train_duration_s) + self._train_on_time(
            np.minimum(in_train, self.train_duration_s))

    def on_fraction(self, edges: np.ndarray) -> np.ndarray:
        """Fraction of each interval ``[edges[i], edges[i+1]]`` during which the source is on (0-1).

        Example:
            >>> load_protocol("tbtus-zeng2022").on_fraction(np.array([0.0, 0.02, 0.2, 80.0, 81.0])).round(3).tolist()
            [1.0, 0.0, 0.1, 0.0]
        """
        edges = np.asarray(edges, dtype=np.float64)
        return np.diff(self.cumulative_on_time(edges)) / np.diff(edges)

    def _train_on_time(self, tau: np.ndarray | float) -> np.ndarray:
        tau = np.asarray(tau, dtype=np.float64)
        period = self.pulse_repetition_period_s
        m = np.floor(tau / period + _REL_TOL)
        return m * self.pulse_duration_s + np.clip(tau - m * period, 0.0, self.pulse_duration_s)

    def amplitude_scale(self, *, simulated_source_pa: float | None = None,
                        simulated_isppa_in_situ_w_cm2: float | None = None,
                        simulated_isppa_free_field_w_cm2: float | None = None) -> float:
        """Factor that scales a simulated pressure field to this protocol's drive (fields are linear in the drive).

        Give the simulated quantity that matches the protocol's drive: the source amplitude the field was simulated
        with, or its in-situ / free-field Isppa (W/cm^2). Intensities scale with the square of the pressure.

        Raises:
            TfusInputError: the matching simulated quantity is missing or not positive.

        Example:
            >>> p = Protocol(pulse_duration_ms=1.0, duty_cycle_percent=10.0, train_duration_s=1.0,
            ...              train_repetition_interval_s=1.0, total_duration_s=1.0, isppa_free_field_w_cm2=4.0)
            >>> p.amplitude_scale(simulated_isppa_free_field_w_cm2=1.0)
            2.0
        """
        key, target = self.drive
        given = {"source_amplitude_pa": simulated_source_pa, "isppa_in_situ_w_cm2": simulated_isppa_in_situ_w_cm2,
                 "isppa_free_field_w_cm2": simulated_isppa_free_field_w_cm2}[key]
        if given is None or not math.isfinite(float(given)) or float(given) <= 0:
            raise TfusInputError(f"protocol {self.name!r} sets {key}; pass the simulated field's value of it "
                                 f"(a positive number, got {given!r})")
        ratio = target / float(given)
        return ratio if key == "source_amplitude_pa" else math.sqrt(ratio)

    @classmethod
    def from_mapping(cls, data: Any, *, default_name: str = "protocol", origin: str = "protocol") -> Protocol:
        """Validate a parsed YAML mapping; any problem is one :class:`TfusInputError` line naming ``origin``."""
        if not isinstance(data, dict):
            raise TfusInputError(f"{origin}: a protocol must be a YAML mapping of keys, got {type(data).__name__}; "
                                 "see data/protocols/tbtus-zeng2022.yaml for the format")
        values = {"name": default_name, **data}
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            message = validation_message(err, cls, root="protocol", unknown="unknown protocol key", limit=1)
            raise TfusInputError(f"{origin}: {message}") from None


def list_protocols() -> list[str]:
    """Names of the bundled protocol presets (``data/protocols/*.yaml``), sorted.

    Example:
        >>> "tbtus-zeng2022" in list_protocols()
        True
    """
    folder = data_path("protocols")
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_protocol(name_or_path: str | Path | Protocol) -> Protocol:
    """A protocol preset by name (``"tbtus-zeng2022"``) or a YAML file by path (read with ``yaml.safe_load``).

    Raises:
        TfusInputError: unknown preset (the message lists them), missing/unreadable file, bad YAML, unknown or
            missing keys, out-of-range values or impossible timing.

    Example:
        >>> load_protocol("legon2018-1khz").pulse_repetition_frequency_hz
        1000.0
    """
    if isinstance(name_or_path, Protocol):
        return name_or_path
    path = preset_or_path(name_or_path, "protocols", "protocol")
    data = read_yaml(path, "protocol file")
    return Protocol.from_mapping(data, default_name=path.stem, origin=str(path))
