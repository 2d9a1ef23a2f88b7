"""Smoke tests of the physics validation benches through the CLI (``tfus bench oneil``, ``itrusst``, ``cross-engine``)
on the coarsest grids they accept: the JSON has every key, finite numbers, and physics within what the grid allows.

O'Neil and ITRUSST run at 250 kHz on a 3 mm grid (2 points per wavelength in water, the coarsest k-Wave accepts):
about 20 s each instead of the benchmarks' 500 kHz at 1 mm (minutes). The measured values at this setting (peak
+1.0 %, peak position -1.6 mm, Rayleigh L2 10.7 %) set the tolerances below, with room for one grid cell.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest

from tfus.pipeline.transducers import load_transducer
from tfus.pipeline.validation.closed_forms import oneil_reference

FREQUENCY_HZ = 250e3
SPACING_MM = 3.0  # 2 points per wavelength in water at 250 kHz


def _numbers(value):
    """Every number in a JSON value (nested lists and dicts included)."""
    if isinstance(value, bool) or isinstance(value, str) or value is None:
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    return [n for v in value for n in _numbers(v)]


def _run_json(cli, *args) -> dict:
    result = cli("bench", *args, "--json")
    assert result.exit_code == 0, (result.exception, result.output, result.stderr)
    record = json.loads(result.stdout)
    numbers = _numbers(record)
    assert numbers and all(math.isfinite(n) for n in numbers), record
    return record


@pytest.mark.slow
def test_oneil_bench_matches_the_closed_form_on_a_coarse_grid(cli):
    r = _run_json(cli, "oneil", "--spacing", SPACING_MM, "--frequency", FREQUENCY_HZ)
    assert set(r) == {"spacing_mm", "wall_s", "steps", "ms_per_step", "peak_pa", "peak_ref_pa", "peak_error_percent",
                      "peak_z_mm", "peak_z_ref_mm", "peak_position_error_mm", "p_at_R_pa", "p_at_R_ref_pa",
                      "axial_6db_mm", "axial_6db_ref_mm", "lateral_6db_widths_mm", "lateral_6db_ref_mm"}
    assert r["spacing_mm"] == SPACING_MM and r["steps"] > 0 and r["wall_s"] > 0
    # the reference is O'Neil at the requested frequency (not the benchmark's 500 kHz)
    ref = oneil_reference(replace(load_transducer("itrusst-sc1"), frequency_hz=FREQUENCY_HZ))
    assert r["peak_ref_pa"] == pytest.approx(ref.peak_pa) and r["p_at_R_ref_pa"] == pytest.approx(ref.focal_pressure_pa)
    # at 2 points per wavelength k-Wave's amplitude is within a few %, positions within a cell
    assert abs(r["peak_error_percent"]) <= 10.0
    assert r["peak_error_percent"] == pytest.approx(100 * (r["peak_pa"] / r["peak_ref_pa"] - 1))
    assert abs(r["peak_position_error_mm"]) <= SPACING_MM
    assert r["p_at_R_pa"] == pytest.approx(r["p_at_R_ref_pa"], rel=0.10)
    assert r["peak_pa"] >= r["p_at_R_pa"]  # the on-axis maximum lies before the geometric focus
    np.testing.assert_allclose(r["axial_6db_mm"], r["axial_6db_ref_mm"], atol=2 * SPACING_MM)
    np.testing.assert_allclose(r["lateral_6db_widths_mm"], r["lateral_6db_ref_mm"], atol=SPACING_MM)


@pytest.mark.slow
def test_itrusst_bm1_matches_the_rayleigh_integral_and_writes_the_plane(cli, tmp_path):
    out = tmp_path / "itrusst"
    r = _run_json(cli, "itrusst", "--bm", 1, "--spacing", SPACING_MM, "--frequency", FREQUENCY_HZ, "--plane-dir", out)
    assert r["bm"] == 1 and r["description"] == "BM1 lossless water" and r["reference"] == "Rayleigh integral"
    for key in ("focal_pressure_pa", "focus_axial_mm", "focus_lateral_mm", "axial_6db_length_mm",
                "lateral_6db_width_mm", "axial_3db_length_mm", "lateral_3db_width_mm", "ref_focal_pressure_pa",
                "focal_pressure_diff_percent", "focal_position_diff_mm", "linf_percent", "l2_percent"):
        assert key in r, key
    assert abs(r["focal_pressure_diff_percent"]) <= 10.0
    assert r["focal_pressure_pa"] == pytest.approx(r["ref_focal_pressure_pa"], rel=0.10)
    assert r["focal_position_diff_mm"] <= SPACING_MM
    assert abs(r["focus_lateral_mm"]) <= SPACING_MM  # on the axis
    assert 40.0 <= r["focus_axial_mm"] <= 64.0  # between the near field and the geometric focus (R = 64 mm)
    assert 0 < r["l2_percent"] <= 20.0 and 0 < r["linf_percent"] <= 20.0
    assert r["axial_3db_length_mm"] < r["axial_6db_length_mm"] and r["lateral_3db_width_mm"] < r["lateral_6db_width_mm"]
    # the field on the 0.5 mm comparison plane (241 axial x 141 lateral points), its maximum the focal pressure
    plane = nib.load(out / "bm1_plane.nii.gz")
    data = np.asarray(plane.dataobj)
    assert data.shape[:2] == (241, 141) and np.all(np.isfinite(data))
    np.testing.assert_allclose(np.abs(np.diag(plane.affine)[:2]), [0.5, 0.5])
    assert data.max() == pytest.approx(r["focal_pressure_pa"], rel=0.10)


@pytest.mark.slow
def test_cross_engine_bench_agrees_on_the_phantom_slice(cli, tmp_path, monkeypatch):
    """k-Wave vs FE at 1 mm (3 points per wavelength in water: the coarsest grid at which the FE field is not
    degenerate). An empty data folder makes the bench use the phantom's slice, the same on every machine (the real
    CT slice at 1 mm takes minutes)."""
    monkeypatch.setenv("TFUS_DATA_DIR", str(tmp_path / "no-built-heads"))
    spacing = 1.0
    r = _run_json(cli, "cross-engine", "--spacing", spacing)
    assert r["description"] == "axial slice of the phantom (real CT not built)"
    assert r["mapping"] == "kwave" and r["spacing_mm"] == spacing and r["grid_cell_mm"] == spacing
    assert r["frequency_hz"] == 500e3 and len(r["grid"]) == 2 and min(r["grid"]) > 100
    for key in ("kwave_focus_mm", "fem_focus_mm", "brain_kwave_focus_mm", "brain_fem_focus_mm"):
        assert len(r[key]) == 2, key
    assert r["kwave_s"] > 0 and r["fem_s"] > 0
    # both engines focus the arc at the same place beyond the source, with peaks of the same order (a 60 kPa source)
    assert r["focus_distance_mm"] <= 2 * spacing
    assert r["focus_distance_mm"] == pytest.approx(np.linalg.norm(np.subtract(r["kwave_focus_mm"], r["fem_focus_mm"])))
    assert 0.5 <= r["kwave_peak_pa"] / r["fem_peak_pa"] <= 2.0
    assert 60e3 < r["kwave_peak_pa"] < 1e6
    # the fields correlate (FE's phase error at 3 points per wavelength is tens of %, so no tighter bound here)
    assert 0 < r["relative_l2"] < 1.0 and 0 < r["brain_relative_l2"] < 1.0


def test_oneil_bench_refuses_a_bad_frequency(cli, user_error):
    user_error(cli("bench", "oneil", "--frequency", 0), "frequency")
