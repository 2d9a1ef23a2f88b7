"""``--protocol`` on ``tfus predict`` (a ``safety`` block in the JSON and the record, the temperature-rise NIfTI
beside the field on the head grid) and on ``tfus simulate`` (a bad protocol is refused before any work; the
beam-frame run with a protocol is in test_simulate.py, to share its simulation)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from tests.helpers.inference import POSES, make_head

TINY = """name: tiny
radius_of_curvature_mm: 6.0
aperture_diameter_mm: 6.0
frequency_hz: 1000000.0
source_amplitude_pa: 100000.0
"""
BAD_TIMING = """pulse_duration_ms: 300.0
pulse_repetition_frequency_hz: 5.0
train_duration_s: 1.0
train_repetition_interval_s: 1.0
total_duration_s: 1.0
source_amplitude_pa: 100000.0
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("protocol")
    (d / "tiny.yaml").write_text(TINY, encoding="utf-8")
    (d / "bad.yaml").write_text(BAD_TIMING, encoding="utf-8")
    make_head(shape=(20, 16, 14), shift=(5.0, -3.0, 2.0)).save(d / "sphere")
    return d


def _check_safety(block: dict, groups: set[str]) -> None:
    assert set(block["limits"]["groups"]) == groups
    assert block["protocol"]["name"] == "legon2018-1khz"
    assert block["drive"]["free_field_isppa_w_cm2"] == pytest.approx(17.12, rel=1e-9)  # the protocol's drive
    assert block["limits"]["binding"] is not None and block["max_drive"]["scale"] > 0


@pytest.mark.parametrize("protocol, needle", [("nope", "nope"), ("bad.yaml", "repetition period")])
def test_simulate_bad_protocol_writes_nothing(cli, user_error, files, tmp_path, protocol, needle):
    arg = files / protocol if protocol.endswith(".yaml") else protocol
    user_error(cli("simulate", "--water", "--transducer", files / "tiny.yaml", "--position", 0, 0, 0, "--target",
                   0, 0, 6, "--spacing", 0.5, "--protocol", arg, "--out", tmp_path / "f.nii.gz"), needle)
    assert not any(tmp_path.iterdir())


@pytest.mark.usefixtures("one_torch_thread")
def test_predict_with_a_protocol(cli, stdout_json, run_dir, files, tmp_path):
    pose = POSES[0]
    args = ["predict", run_dir, "--head", files / "sphere", "--position", *pose.apex.tolist(), "--target",
            *pose.target.tolist()]
    result = cli(*args, "--protocol", "legon2018-1khz", "--out", tmp_path / "p.nii.gz", "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    metrics = stdout_json(result)
    _check_safety(metrics["safety"], {"mechanical", "thermal skin", "thermal skull", "thermal brain"})
    assert metrics["safety"]["medium_mapping"] == "itrusst"
    rise = nib.load(str(tmp_path / "p_temperature_rise.nii.gz"))
    assert rise.shape == (20, 16, 14) and np.allclose(rise.affine, nib.load(str(tmp_path / "p.nii.gz")).affine)
    bad = cli(*args, "--protocol", files / "bad.yaml", "--out", tmp_path / "q" / "p.nii.gz")
    assert bad.exit_code == 2 and "repetition period" in bad.stderr and not (tmp_path / "q").exists()
