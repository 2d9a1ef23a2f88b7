"""``tfus bench generate`` on the tiny dataset: 1 vs 2 local workers, fresh stores, the table, the JSON and the
overhead arithmetic; bad options are one-line errors before anything runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers.tiny_dataset import write_tiny_dataset


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("bench_tiny"), heads=2, per_head=2)


def test_bench_generate_table_and_json(cli, tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one table row per line
    workdir = tmp_path / "work"
    workdir.mkdir()
    out = tmp_path / "bench.json"
    result = cli("bench", "generate", "--config", tiny_config, "--heads", 1, "--per-head", 2, "--workdir", workdir,
                 "--out", out)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    res = json.loads(out.read_text(encoding="utf-8"))
    assert not any(workdir.iterdir()), "temporary stores were left behind"

    cores = len(os.sched_getaffinity(0))
    assert res["samples"] == 2 and res["heads"] == ["phantom0"] and res["cores"] == cores
    rows = res["rows"]
    assert [r["workers"] for r in rows] == [1, 2, 1]  # the last: 1 worker on 1 core (same threads as 2 workers)
    for r, threads in zip(rows, [cores, max(1, cores // 2), max(1, cores // 2)], strict=True):
        assert r["samples"] == 2
        assert r["task_slots"] == r["workers"]
        assert r["threads_per_simulation"] == threads
        assert 0 < r["sim_seconds_total"] and 0 < r["simulate_wall_seconds"] < r["wall_seconds"]
        # the definitions: samples over the simulation phase's wall time; busy slot time beyond simulation time
        assert r["samples_per_hour"] == pytest.approx(3600 * 2 / r["simulate_wall_seconds"])
        busy = r["workers"] * r["simulate_wall_seconds"]
        assert r["overhead_fraction"] == pytest.approx((busy - r["sim_seconds_total"]) / r["sim_seconds_total"])
        assert r["overhead_fraction"] > 0  # reading, checking and writing a sample are never free
        assert 0 < r["store_seconds_per_sample"] <= r["overhead_seconds_per_sample"]
    assert res["speedup"] == pytest.approx(rows[1]["samples_per_hour"] / rows[0]["samples_per_hour"])
    assert res["speedup_same_threads"] == pytest.approx(rows[1]["samples_per_hour"] / rows[2]["samples_per_hour"])
    assert res["speedup_target"] == 1.8 and res["overhead_target"] == 0.05

    table = result.stdout
    assert "samples / hour" in table and "overhead" in table
    assert f"{rows[1]['samples_per_hour']:.0f}" in table
    assert f"{res['speedup']:.2f}x (target >= 1.8)" in table
    assert f"at 1 thread per simulation in both runs: {res['speedup_same_threads']:.2f}x" in table


@pytest.mark.parametrize(("args", "needles"), [
    (["--heads", "0"], ["--heads"]),
    (["--heads", "3"], ["--heads 3", "2 heads"]),
    (["--per-head", "0"], ["--per-head"]),
    (["--config", "no-such-preset"], ["no-such-preset", "demo"]),
    (["--config", "tfuscapes-like"], ["'gpu'", "CPU"]),
    (["--out", "results.txt"], ["results.txt", ".json"]),
])
def test_bench_generate_bad_options(cli, user_error, tiny_config, tmp_path, args, needles):
    args = [str(tmp_path / a) if a == "results.txt" else a for a in args]
    if "--config" not in args:
        args = ["--config", tiny_config, *args]
    user_error(cli("bench", "generate", *args), *needles)


def test_bench_dataset_defaults_to_the_whole_config(tiny_config):
    from tfus.workflows.bench.generate_speed import GenerateBenchConfig, bench_dataset

    whole = bench_dataset(GenerateBenchConfig(config=str(tiny_config)))
    assert [h.name for h in whole.heads] == ["phantom0", "phantom1"] and whole.n_samples == 4
    cut = bench_dataset(GenerateBenchConfig(config=str(tiny_config), heads=1, per_head=3))
    assert [h.name for h in cut.heads] == ["phantom0"] and cut.n_samples == 3
    assert cut.grid == whole.grid and cut.simulation == whole.simulation
