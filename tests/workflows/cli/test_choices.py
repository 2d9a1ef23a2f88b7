"""Fixed choices and number ranges on the command line: a wrong value is one ``error:`` line with exit code 2 (the
same contract as the hand-written checks), never click's boxed panel."""

from __future__ import annotations

import pytest

from tfus.workflows.cli._common import usage_error_line


@pytest.mark.parametrize(("args", "needles"), [
    (["evaluate", "run", "--store", "s.zarr", "--split", "bogus"], ["--split", "'bogus'", "'train'", "'test'"]),
    (["train", "--store", "s.zarr", "--out", "r", "--device", "tpu"], ["--device", "'tpu'", "'cpu'", "'auto'"]),
    (["simulate", "--water", "--out", "f.nii.gz", "--engine", "fdtd"], ["--engine", "'fdtd'", "'kwave'", "'fem'"]),
    (["simulate", "--water", "--out", "f.nii.gz", "--mapping", "hounsfield"], ["--mapping", "'porosity'"]),
    (["predict", "run", "--device", "tpu"], ["--device", "'tpu'", "'gpu'"]),
    (["bench", "cross-engine", "--mapping", "nope"], ["--mapping", "'nope'"]),
    (["bench", "compressed", "--store", "s.zarr", "--split", "x"], ["--split", "'x'"]),
    (["demo", "--device", "cuda9"], ["--device", "'cuda9'"]),
])
def test_wrong_choice_is_one_line(cli, user_error, args, needles):
    message = user_error(cli(*args), *needles)
    assert "--help" in message  # names where the choices are listed


@pytest.mark.parametrize(("args", "needles"), [
    (["bench", "itrusst", "--bm", "9"], ["--bm", "6"]),
    (["bench", "compressed", "--store", "s.zarr", "--epochs", "0"], ["--epochs", "1"]),
    (["train", "--store", "s.zarr", "--out", "r", "--stop-after", "0"], ["--stop-after"]),
])
def test_out_of_range_is_one_line(cli, user_error, args, needles):
    user_error(cli(*args), *needles)


def test_unknown_option_and_command_are_one_line(cli, user_error):
    user_error(cli("bench", "oneil", "--nope"), "--nope")
    user_error(cli("teleport"), "teleport")


def test_json_out_is_checked_first(cli, user_error, tmp_path):
    user_error(cli("bench", "oneil", "--out", tmp_path / "r.txt"), "r.txt", ".json")
    user_error(cli("bench", "kwave-speed", "--out", tmp_path), "folder")
    assert not any(tmp_path.iterdir())


def test_usage_error_line_keeps_the_problem():
    import click

    err = click.BadParameter("'x' is not one of 'a', 'b'.", param_hint="'--k'")
    assert usage_error_line(err) == "error: invalid value for '--k': 'x' is not one of 'a', 'b'"


def test_emit_writes_numbers_and_renders(tmp_path, capsys):
    import json

    import numpy as np

    from tfus.workflows.cli._common import emit

    out = tmp_path / "r.json"
    emit({"speedup": np.float64(2.5), "rows": np.arange(2)}, out, False, lambda r: [f"speed-up {r['speedup']:.1f}x"])
    assert json.loads(out.read_text()) == {"speedup": 2.5, "rows": [0, 1]}
    assert capsys.readouterr().out.strip() == "speed-up 2.5x"
    emit({"n": np.int32(3)}, None, True, lambda r: ["not shown"])
    assert json.loads(capsys.readouterr().out) == {"n": 3}


def test_bench_kernels_out_json(cli, tmp_path):
    import json

    out = tmp_path / "k.json"
    result = cli("bench", "kernels", "--op", "depthwise_conv3d", "--size", 8, "--channels", 2, "--repeats", 1,
                 "--warmup", 0, "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    saved = json.loads(out.read_text())
    assert saved["ops"][0]["op"] == "depthwise_conv3d" and isinstance(saved["copy_bandwidth_gbs"], float)
    assert "depthwise_conv3d" in result.stdout  # the table, rendered by the bench module
