"""The GPU check's CPU rehearsal: every part runs (or is skipped for want of CUDA) on tiny sizes, a part that raises or
outlives its box is recorded while the others still run, and the record is one JSON file written atomically."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.workflows.bench.gpu_check import PARTS, GpuCheckConfig, main, render, run_gpu_check
from tfus.workflows.bench.gpu_parts import compare_fields

CUDA = torch.cuda.is_available()


def _quiet(_msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def dry(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("gpu") / "gpu.json"
    assert main(["--out", str(out), "--dry-run", "--budget-s", "300"]) == 0
    return json.loads(out.read_text()), str(out)


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_dry_run_runs_every_part(dry):
    result, _ = dry
    assert result["dry_run"] is True and list(result["parts"]) == list(PARTS)
    assert result["wall_s"] < result["budget_s"] and result["import_errors"] == []
    for name, part in result["parts"].items():
        assert part["status"] in ("ok", "skipped"), (name, part.get("reason"), part.get("traceback"))
    env = result["parts"]["environment"]["data"]
    assert env["torch"] == torch.__version__ and "missing" in env
    kw = result["parts"]["kwave"]["data"]
    speed = kw["speed"]["40^3"]
    assert _finite(speed["fast_ms_per_step"]) and speed["fast_ms_per_step"] > 0
    assert speed["max_rel_diff_vs_kwave_float64"] < 1e-4  # the fast step still equals k-wave-python's step
    assert _finite(kw["sample"]["timing"]["cpu"]["wall_s"]) and kw["sample"]["timing"]["cpu"]["steps"] > 0
    kernels = result["parts"]["kernels"]["data"]["runs"]
    assert set(kernels) == {"fp32", "bf16"}
    for run in kernels.values():
        assert _finite(run["copy_bandwidth_gbs"]) and run["copy_bandwidth_gbs"] > 0
        assert all(_finite(op["best_pytorch_fwd_ms"]) for op in run["ops"].values())
    pred = result["parts"]["predict"]["data"]
    assert _finite(pred["predict_vs_simulation"]["speedup"])
    for name in ("deeptfus", "sep4d"):
        row = pred["models_timed"][name]
        assert _finite(row["forward_cpu_s"]) and _finite(row["train_burst"]["steps_per_s"])
        assert _finite(row["train_burst"]["final_loss"])
    if not CUDA:  # the CUDA legs are recorded as skipped, with the reason
        assert kw["gpu"].startswith("skipped: no CUDA")
        assert kw["sample"]["agreement_gpu_vs_cpu"].startswith("skipped: no CUDA")
        assert result["parts"]["kernels"]["data"]["triton"].startswith("skipped: no CUDA")
        assert all(op["triton"].startswith("skipped: no CUDA") for op in kernels["fp32"]["ops"].values())
        assert pred["models_timed"]["sep4d"]["forward_gpu_s"].startswith("skipped: no CUDA")
    text = render(result)
    assert text.splitlines()[0].startswith("tfus GPU check (dry run)")
    assert all(f"\n{name}" in text for name in PARTS)


def test_a_failing_part_is_recorded_and_the_others_run():
    # a 10^3 total grid cannot hold the speed bench's 16-point PML: the k-Wave part raises
    result = run_gpu_check(GpuCheckConfig(dry_run=True, parts=("kwave", "environment"), kwave_sizes=(10,)),
                           say=_quiet)
    kw = result["parts"]["kwave"]
    assert kw["status"] == "failed" and "\n" not in kw["reason"] and kw["reason"]
    assert "traceback" in kw and "data" not in kw
    assert result["parts"]["environment"]["status"] == "ok"


def test_a_part_failing_midway_keeps_what_it_measured():
    # CFL 0.9 is refused by KWaveConfig: the sample fails after the speed bench of the first grid finished
    result = run_gpu_check(GpuCheckConfig(dry_run=True, parts=("kwave",), sample_kwave={"cfl": 0.9}), say=_quiet)
    kw = result["parts"]["kwave"]
    assert kw["status"] == "failed" and kw["reason"].startswith("TfusInputError: unstable time step")
    assert kw["partial"] is True and kw["data"]["speed"]["40^3"]["fast_ms_per_step"] > 0
    assert "sample" not in kw["data"] or "agreement_gpu_vs_cpu" not in kw["data"]["sample"]
    assert "kwave        failed" in render(result) and "40^3" in render(result)


def test_a_part_over_its_box_times_out_and_the_others_run():
    result = run_gpu_check(GpuCheckConfig(dry_run=True, parts=("predict", "environment"),
                                          part_budget_s={"predict": 0.5}), say=_quiet)
    pred = result["parts"]["predict"]
    assert pred["status"] == "timed_out" and pred["reason"] == "timed out after 0.5 s (its box)"
    assert pred["seconds"] < 15  # killed at its box, not left running
    assert result["parts"]["environment"]["status"] == "ok"


def test_the_json_file_is_the_returned_record(dry):
    result, path = dry
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == result


def test_bad_input_is_one_line_error(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--dry-run"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: --out") and len(out.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TfusInputError, match="unknown part"):
        GpuCheckConfig(parts=("nope",))
    with pytest.raises(TfusInputError, match="budget"):
        GpuCheckConfig(budget_s=0)


def test_gpu_defaults_fit_the_budget():
    cfg = GpuCheckConfig()
    assert cfg.kwave_sizes == (128, 256) and cfg.kernel_size is None and cfg.kernel_dtypes == ("fp32", "bf16")
    assert sum(cfg.budgets.values()) <= cfg.budget_s <= 480


def test_compare_fields():
    ref = np.zeros((6, 6, 6))
    ref[2, 2, 2] = 10.0
    other = ref.copy()
    other[2, 2, 2] = 9.0
    other[2, 2, 4] = 9.5
    cmp = compare_fields(ref, other, spacing_mm=2.0)
    assert cmp["max_rel_diff_amplitude"] == pytest.approx(0.95)
    assert cmp["focal_pressure_rel_diff"] == pytest.approx(0.05)
    assert cmp["focus_shift_mm"] == pytest.approx(4.0)


def test_tfus_bench_gpu_command_writes_the_json(cli, tmp_path):
    out = tmp_path / "gpu.json"
    result = cli("bench", "gpu", "--dry-run", "--parts", "environment", "--out", out)
    assert result.exit_code == 0, (result.output, result.stderr)
    saved = json.loads(out.read_text())
    assert saved["parts"]["environment"]["status"] == "ok"
    bad = cli("bench", "gpu", "--out", tmp_path / "gpu.txt")
    assert bad.exit_code == 2 and bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
