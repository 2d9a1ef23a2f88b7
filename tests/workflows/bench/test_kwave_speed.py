"""``tfus bench kwave-speed`` on tiny grids: every solver row (both FFT backends, their floors, k-wave-python in
float32/float64), min and median, the ratios, and the fields of every tfus backend equal k-wave-python's."""

from __future__ import annotations

import math

import pytest

from tfus.workflows.bench.kwave_speed import FFT_ROWS, SpeedConfig, floor_row, render_speed, run_speed_bench

pytest.importorskip("pyfftw")


@pytest.mark.parametrize("problem", ["cube", "beam"])
def test_speed_bench_rows_and_agreement(problem):
    res = run_speed_bench(SpeedConfig(n=48, steps=4, warmup=1, rounds=2, problem=problem), say=lambda m: None)
    rows, medians = res["seconds_per_step"], res["median_seconds_per_step"]
    for row in (FFT_ROWS["fftw"], FFT_ROWS["scipy"], floor_row("fftw", 10), floor_row("scipy", 10),
                "k-wave-python Simulation.step (float64, NumPy fftn)",
                "k-wave-python Simulation.step (float32, NumPy fftn)"):
        assert rows[row] > 0 and medians[row] >= rows[row]
    for key in ("fast_over_fft_floor", "speedup_vs_kwave_float64", "fftw_speedup_vs_scipy"):
        assert math.isfinite(res[key]) and res[key] > 0
    # float32 steps against the float64 reference: the engine's own tolerance (tests/pipeline/engines/kwave)
    assert res["max_rel_diff_by_backend"]["fftw"] <= 1e-4 and res["max_rel_diff_by_backend"]["scipy"] <= 1e-4
    assert res["fft_backend"] == "fftw"
    if problem == "beam":
        assert res["grid"] == (80, 80, 90)  # 57 x 57 x 68 + 2 x 10 PML, padded to 7-smooth sizes
    text = " ".join(str(item) for item in render_speed(res, "cpu"))
    assert "target >= 1.8" in text
