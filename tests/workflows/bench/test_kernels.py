"""``tfus bench kernels`` on tiny CPU sizes: the JSON keys and ratios, the table (which says plainly that CPU timings
are no speed claim), and one-line errors for bad options."""

from __future__ import annotations

import pytest
import torch

ROW_KEYS = {"impl", "layout", "available", "fwd_ms", "fwd_bwd_ms", "fwd_gbs", "fwd_bwd_gbs", "fwd_pct_bandwidth",
            "fwd_bwd_pct_bandwidth", "fwd_tflops", "fwd_speedup", "fwd_bwd_speedup", "max_rel_diff"}
TINY = ["--size", 6, "--channels", 2, "--frames", 2, "--repeats", 1, "--warmup", 0]


def test_bench_kernels_json(cli, stdout_json):
    result = cli("bench", "kernels", *TINY, "--json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    res = stdout_json(result)
    assert {"device", "cuda", "dtype", "copy_bandwidth_gbs", "note", "ops", "versions"} <= set(res)
    assert res["dtype"] == "fp32" and res["copy_bandwidth_gbs"] > 0
    assert [o["op"] for o in res["ops"]] == ["depthwise_conv3d", "cp_conv3d", "sep4d_conv"]
    for o in res["ops"]:
        timed = [r for r in o["rows"] if "fwd_ms" in r]
        torch_rows = [r for r in timed if r["impl"] == "pytorch"]
        assert torch_rows and all(ROW_KEYS <= set(r) for r in timed), o
        assert {r["layout"] for r in torch_rows} == (
            {"contiguous"} if o["op"] == "sep4d_conv" else {"contiguous", "channels_last_3d"})
        for key in ("fwd", "fwd_bwd"):
            best = min(r[f"{key}_ms"] for r in torch_rows)
            assert o[f"best_pytorch_{key}_ms"] == best > 0
            assert max(r[f"{key}_speedup"] for r in torch_rows) == pytest.approx(1.0)
        for r in timed:
            assert r["fwd_gbs"] > 0 and r["fwd_pct_bandwidth"] == pytest.approx(
                100 * r["fwd_gbs"] / res["copy_bandwidth_gbs"])
            assert r["max_rel_diff"] < 1e-4
        if not res["cuda"]:
            assert o["speedup_fwd"] is None
            assert [r["available"] for r in o["rows"] if r["impl"] == "triton"] == [False]
    if not res["cuda"]:
        assert "not a speed claim" in res["note"]
    assert res["ops"][1]["shape"] == {"B": 2, "Cin=Cout": 2, "D=H=W": 6, "k": 3, "rank": 2}


def test_bench_kernels_table(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    result = cli("bench", "kernels", *TINY, "--op", "cp_conv3d", "--dtype", "bf16")
    assert result.exit_code == 0, (result.stderr, result.exception)
    out = result.stdout
    assert "cp_conv3d" in out and "depthwise_conv3d" not in out and "bf16" in out
    assert "channels_last_3d" in out and "speed-up fwd" in out and "GB/s" in out
    if not torch.cuda.is_available():
        assert "NOT a speed claim" in out and "not timed: no CUDA" in out


@pytest.mark.parametrize("args, needles", [
    (["--dtype", "fp16"], ["fp32 or bf16"]),
    (["--op", "conv9d"], ["--op", "conv9d"]),
    (["--size", 1], ["--size"]),
])
def test_bench_kernels_bad_input(cli, user_error, args, needles):
    user_error(cli("bench", "kernels", *args), *needles)
