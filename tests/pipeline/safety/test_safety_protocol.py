"""Sonication protocols: presets, YAML loading, boundary validation (one-line errors) and the exact on/off course."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.safety import Protocol, list_protocols, load_protocol

BASE = dict(pulse_duration_ms=20.0, pulse_repetition_frequency_hz=5.0, train_duration_s=80.0,
            train_repetition_interval_s=80.0, total_duration_s=80.0, isppa_free_field_w_cm2=30.0)


def _write(tmp_path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_presets_load_with_sources_and_published_timing():
    names = list_protocols()
    assert {"tbtus-zeng2022", "legon2018-1khz", "pulsed-1khz-50pct", "rtus-verhagen2019"} <= set(names)
    for name in names:
        p = load_protocol(name)
        assert p.name == name and p.source and p.description
        assert 0 < p.duty_cycle <= 1
    tb = load_protocol("tbtus-zeng2022")
    assert tb.pulse_duration_s == pytest.approx(0.02) and tb.duty_cycle == pytest.approx(0.10)
    assert tb.on_time_s == pytest.approx(8.0) and tb.ispta_factor == pytest.approx(0.10)
    assert load_protocol("pulsed-1khz-50pct").pulse_repetition_frequency_hz == pytest.approx(1000.0)
    assert load_protocol("legon2018-1khz").duty_cycle == pytest.approx(0.36)


def test_yaml_file_round_trip_and_duty_cycle_derivation(tmp_path):
    path = _write(tmp_path, "pulse_duration_ms: 0.5\nduty_cycle_percent: 50\ntrain_duration_s: 0.5\n"
                            "train_repetition_interval_s: 5\ntotal_duration_s: 20\nsource_amplitude_pa: 60000.0\n")
    p = load_protocol(path)
    assert p.name == "p" and p.pulse_repetition_frequency_hz == pytest.approx(1000.0)
    assert p.train_intervals() == [(0.0, 0.5), (5.0, 5.5), (10.0, 10.5), (15.0, 15.5)]
    assert p.on_time_s == pytest.approx(4 * 0.25)
    assert p.ispta_factor == pytest.approx(1.0 / 20.0)
    assert p.amplitude_scale(simulated_source_pa=30e3) == pytest.approx(2.0)
    with pytest.raises(TfusInputError, match="source_amplitude_pa"):
        p.amplitude_scale(simulated_isppa_free_field_w_cm2=1.0)


@pytest.mark.parametrize("change, message", [
    (dict(pulse_duration_ms=300.0), "longer than its repetition period"),
    (dict(pulse_repetition_frequency_hz=None, duty_cycle_percent=120.0), "less than or equal to 100"),
    (dict(duty_cycle_percent=20.0), "disagrees"),
    (dict(pulse_repetition_frequency_hz=None), "give pulse_repetition_frequency_hz or duty_cycle_percent"),
    (dict(train_repetition_interval_s=60.0), "does not fit in its repetition interval"),
    (dict(total_duration_s=40.0, train_repetition_interval_s=100.0), "longer than the total"),
    (dict(train_duration_s=0.01, train_repetition_interval_s=1.0), "does not fit in a train"),
    (dict(source_amplitude_pa=1e5), "exactly one drive"),
    (dict(isppa_free_field_w_cm2=None), "exactly one drive"),
    (dict(pulse_duration_ms=-1.0), "pulse_duration_ms"),
    (dict(pulse_duration_ms="20 ms"), "pulse_duration_ms"),
    (dict(total_duration_s=float("nan")), "total_duration_s"),
    (dict(colour="red"), "unknown protocol key 'colour'"),
])
def test_bad_protocols_are_one_line_errors(change, message):
    values = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    with pytest.raises(TfusInputError, match=message) as info:
        Protocol.from_mapping(values, origin="bad.yaml")
    assert "\n" not in str(info.value) and str(info.value).startswith("bad.yaml: ")


def test_loader_errors(tmp_path):
    with pytest.raises(TfusInputError, match="unknown protocol preset 'nope'; available presets: .*tbtus-zeng2022"):
        load_protocol("nope")
    with pytest.raises(TfusInputError, match="not found"):
        load_protocol(tmp_path / "missing.yaml")
    with pytest.raises(TfusInputError, match="invalid YAML at line"):
        load_protocol(_write(tmp_path, "pulse_duration_ms: [1\n"))
    with pytest.raises(TfusInputError, match="must be a YAML mapping"):
        load_protocol(_write(tmp_path, "- 1\n- 2\n"))


def test_protocol_is_frozen():
    p = load_protocol("tbtus-zeng2022")
    with pytest.raises(Exception, match="frozen"):
        p.total_duration_s = 1.0


@pytest.mark.parametrize("name", ["tbtus-zeng2022", "legon2018-1khz", "repeated"])
def test_cumulative_on_time_matches_a_sampled_indicator(name):
    """F(t) against the on/off indicator sampled every 10 us (error <= one sample per pulse edge)."""
    if name == "repeated":
        p = Protocol(pulse_duration_ms=3.0, pulse_repetition_frequency_hz=100.0, train_duration_s=0.105,
                     train_repetition_interval_s=0.25, total_duration_s=0.9, source_amplitude_pa=1.0)
    else:
        p = load_protocol(name)
    horizon = min(p.total_duration_s, 1.3)
    step = 1e-5
    t = (np.arange(int(round(horizon / step))) + 0.5) * step
    in_train = np.mod(t, p.train_repetition_interval_s)
    on = (in_train < p.train_duration_s) & (np.mod(in_train, p.pulse_repetition_period_s) < p.pulse_duration_s)
    edges = np.linspace(0.0, horizon, 14)
    sampled = np.add.reduceat(on.astype(float), np.searchsorted(t, edges[:-1])) * step
    n_edges = 2 * horizon / p.pulse_repetition_period_s + 2
    assert np.abs(np.diff(p.cumulative_on_time(edges)) - sampled).max() <= n_edges * step
    assert np.all(np.diff(p.cumulative_on_time(np.linspace(0, p.total_duration_s + 1, 500))) >= 0)
    assert p.cumulative_on_time(np.array([p.total_duration_s + 5.0]))[0] == pytest.approx(p.on_time_s)
