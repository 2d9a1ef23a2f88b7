"""``tfus report``: a self-contained HTML page from a field, its head and a protocol; bad inputs (impossible timing,
a head that does not match, a NaN field, a field of another grid) are one-line errors that write nothing."""

from __future__ import annotations

import json
import math
import re

import nibabel as nib
import numpy as np
import pytest

from tests.helpers.safety_case import POSE, write_case
from tfus.pipeline.fields.output import write_field


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return write_case(tmp_path_factory.mktemp("case"))


@pytest.fixture(scope="module")
def page(cli, case, tmp_path_factory):
    field, head = case
    out = tmp_path_factory.mktemp("page") / "plan.html"
    result = cli("report", field, "--head", head, "--protocol", "legon2018-1khz", "--out", out, "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    return out, result


def test_page_is_self_contained_and_shows_the_flags(page):
    out, result = page
    html = out.read_text(encoding="utf-8")
    safety = json.loads(result.stdout)
    n_flags = len(safety["limits"]["flags"])
    assert len(re.findall(r"<td class='flag (?:ok|exceeded)'>", html)) == n_flags
    verdict = "ok" if safety["limits"]["ok"] else "exceeded"
    assert f"data-verdict='{verdict}'" in html
    # offline: nothing is fetched (no http(s) sources or links), images and volumes are inline
    assert not re.search(r"""(?:src|href)\s*=\s*['"]?https?:""", html)
    assert html.count("src='data:image/png;base64,") == 3  # focus, target, temperature
    assert "NVImage" in html and '"pressure"' in html and "id='viewer-volumes'" in html
    for section in ("safety", "inputs", "acoustic", "thermal", "slices", "temperature", "viewer", "timings",
                    "versions"):
        assert f"<section id='{section}'>" in html
    assert "legon2018-1khz" in html and "slab-bowl" in html and "field record" in html
    assert safety["protocol"]["name"] == "legon2018-1khz" and safety["acoustic"]["target"]["label"] == 4


def test_options_override_the_record_and_the_viewer_can_be_left_out(cli, case, tmp_path):
    field, head = case
    out = tmp_path / "small.html"
    result = cli("report", field, "--head", head, "--protocol", "legon2018-1khz", "--out", out, "--no-viewer",
                 "--position", *POSE.apex.tolist(), "--target", *POSE.target.tolist())
    assert result.exit_code == 0, (result.exception, result.stderr)
    html = out.read_text(encoding="utf-8")
    assert "NVImage" not in html and "data-viewer='none'" in html and out.stat().st_size < 400_000
    assert "wrote" in result.stderr and "ITRUSST" in result.stderr


def test_free_field_from_a_water_simulation(cli, stdout_json, case, tmp_path):
    """--free-field: the free-field values are the water field's peak (here 1.5 MPa at 60 kPa), not O'Neil's."""
    field, head = case
    water = np.zeros((10, 10, 10), np.float32)
    water[5, 5, 5] = 1.5e6
    write_field(tmp_path / "water.nii.gz", water, np.eye(4))
    result = cli("report", field, "--head", head, "--protocol", "legon2018-1khz", "--out", tmp_path / "p.html",
                 "--free-field", tmp_path / "water.nii.gz", "--no-viewer", "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    ff = stdout_json(result)["acoustic"]["free_field"]
    assert ff["source"] == "water field" and ff["isppa_w_cm2"] == pytest.approx(17.12, rel=1e-9)
    assert ff["peak_pressure_pa"] == pytest.approx(1.5e6 * math.sqrt(17.12 / (1.5e6**2 / 3e6 / 1e4)), rel=1e-6)


def test_a_field_without_a_record_needs_the_transducer_and_pose(cli, user_error, tmp_path):
    field, head = write_case(tmp_path / "bare", record=False)
    out = tmp_path / "p.html"
    user_error(cli("report", field, "--head", head, "--protocol", "legon2018-1khz", "--out", out), "--transducer")
    user_error(cli("report", field, "--head", head, "--protocol", "legon2018-1khz", "--out", out, "--transducer",
                   "itrusst-sc1"), "--position")
    assert not out.exists()


def _bad_inputs(root, case):
    """Each bad input as (argument overrides, words of the error)."""
    field, head = case
    bad = root / "bad"
    bad.mkdir()
    (bad / "timing.yaml").write_text("pulse_duration_ms: 300\npulse_repetition_frequency_hz: 5\n"
                                     "train_duration_s: 1\ntrain_repetition_interval_s: 1\ntotal_duration_s: 1\n"
                                     "source_amplitude_pa: 1.0e5\n", encoding="utf-8")
    img = nib.load(str(field))
    amp = np.asarray(img.dataobj, np.float32)
    nan = amp.copy()
    nan[5, 5, 5] = np.nan
    write_field(bad / "nan.nii.gz", nan, img.affine)
    write_field(bad / "cropped.nii.gz", amp[:, :, :30], img.affine)
    shifted = img.affine.copy()
    shifted[:3, 3] += 7.0
    write_field(bad / "shifted.nii.gz", amp, shifted)
    (bad / "empty_head").mkdir()
    return {
        "timing": ({"--protocol": bad / "timing.yaml"}, ["repetition period"]),
        "protocol": ({"--protocol": "no-such-protocol"}, ["no-such-protocol"]),
        "nan": ({"field": bad / "nan.nii.gz"}, ["NaN"]),
        "grid": ({"field": bad / "cropped.nii.gz"}, ["not on the grid of the head"]),
        "shifted": ({"field": bad / "shifted.nii.gz"}, ["not on the grid of the head"]),
        "no head": ({"--head": bad / "empty_head"}, ["hu.nii.gz"]),
        "no field": ({"field": bad / "missing.nii.gz"}, ["does not exist"]),
        "out": ({"--out": bad / "plan.txt"}, [".html"]),
    }


@pytest.mark.parametrize("which", ["timing", "protocol", "nan", "grid", "shifted", "no head", "no field", "out"])
def test_bad_input_is_one_line_and_writes_nothing(cli, user_error, case, tmp_path, which):
    overrides, needles = _bad_inputs(tmp_path, case)[which]
    field, head = case
    args = {"field": field, "--head": head, "--protocol": "legon2018-1khz", "--out": tmp_path / "out" / "plan.html"}
    args.update(overrides)
    argv = ["report", args.pop("field")] + [x for k, v in args.items() for x in (k, v)]
    user_error(cli(*argv), *needles)
    assert not (tmp_path / "out").exists() and not (tmp_path / "bad" / "plan.txt").exists()
