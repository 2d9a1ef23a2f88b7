"""``tfus bench predict``: k-Wave vs the surrogate on one pose, same grid and machine; a table / JSON with the
ratio against the target (100x on CPU, 1000x on a GPU); its input errors come before any simulation."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.inference import make_head, write_checkpoint

POSE = ["--position", 0, 0, -30, "--target", 0, 0, 0]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def head_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("head") / "sphere"
    make_head().save(path)
    return path


@pytest.fixture(scope="module")
def run_250k(tmp_path_factory):
    """A tiny checkpoint at 250 kHz (3 points per wavelength on its 2 mm grid, which k-Wave accepts)."""
    return write_checkpoint(tmp_path_factory.mktemp("run"), frequency_hz=2.5e5)


@pytest.mark.slow
def test_bench_predict_with_a_checkpoint(cli, stdout_json, run_250k, head_dir):
    result = cli("bench", "predict", "--run", run_250k, "--head", head_dir, *POSE, "--repeats", 2, "--warmup", 1,
                 "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    res = stdout_json(result)
    assert res["trained"] and res["grid"] == [16, 16, 16] and res["frequency_hz"] == 2.5e5
    assert res["simulation_seconds"] > 0 and len(res["predict_seconds"]) == 2
    assert res["speedup"] == pytest.approx(res["simulation_seconds"] / res["predict_seconds_median"])
    # on CPU the target is the 100x (1000x is the GPU target)
    assert res["speedup_target"] == 100 and res["meets_target"] == (res["speedup"] >= 100)
    assert set(res["accuracy_vs_simulation"]) >= {"rel_l2_percent", "focal_error_mm", "peak_error_percent"}


@pytest.mark.parametrize("args, needles", [
    (["--position", 0, 0, -30], ["--position and --target"]),
    (["--repeats", 0], ["--repeats"]),
    (["--transducer", "itrusst-sc1", *POSE], ["radius of curvature", "64 mm"]),
])
def test_bench_predict_bad_input(cli, user_error, run_250k, head_dir, args, needles):
    user_error(cli("bench", "predict", "--run", run_250k, "--head", head_dir, *args), *needles)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is missing")
def test_bench_predict_gpu_without_cuda(cli, user_error, head_dir):
    user_error(cli("bench", "predict", "--head", head_dir, *POSE, "--device", "gpu"), "no CUDA device")
