"""`tfus simulate`: a tiny water run end to end, a small head run, and every bad input refused up front."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from tfus.pipeline.head.phantom import PhantomGeometry, ellipsoid_head

TINY = """name: tiny
radius_of_curvature_mm: 6.0
aperture_diameter_mm: 6.0
frequency_hz: 1000000.0
source_amplitude_pa: 100000.0
"""


@pytest.fixture(scope="module")
def tiny_yaml(tmp_path_factory):
    path = tmp_path_factory.mktemp("tx") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def water_run(cli, tiny_yaml, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "field.nii.gz"
    result = cli("simulate", "--water", "--transducer", tiny_yaml, "--position", 0, 0, 0, "--target", 0, 0, 6,
                 "--spacing", 0.5, "--out", out, "--phase", out.parent / "phase.nii.gz", "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    return out, result


def test_water_outputs(water_run):
    out, result = water_run
    metrics = json.loads(result.stdout)
    for key in ("peak_pressure_pa", "focus_mm", "focal_volume_mm3", "isppa_w_cm2", "mi"):
        assert key in metrics
    img = nib.load(str(out))
    assert img.get_data_dtype() == np.float32
    amp = np.asarray(img.dataobj)
    assert float(amp.max()) == pytest.approx(metrics["peak_pressure_pa"], rel=1e-6)
    # the focus lies on the axis, near the geometric focus (O'Neil: slightly before it for ka ~ 12)
    fx, fy, fz = metrics["focus_mm"]
    assert abs(fx) <= 0.5 and abs(fy) <= 0.5 and 3.0 <= fz <= 6.5
    # world coordinates: the voxel at the reported focus holds the peak
    ijk = np.rint(np.linalg.inv(img.affine) @ np.array([fx, fy, fz, 1.0]))[:3].astype(int)
    assert amp[tuple(ijk)] == pytest.approx(amp.max())
    assert (out.parent / "phase.nii.gz").is_file() and (out.parent / "field.png").is_file()
    record = json.loads((out.parent / "field.json").read_text(encoding="utf-8"))
    assert record["engine"]["engine"] == "kwave" and "versions" in record


@pytest.fixture(scope="module")
def small_head(tmp_path_factory):
    geometry = PhantomGeometry(radii_mm=(10.0, 11.0, 10.5), scalp_mm=1.5, outer_table_mm=1.0, diploe_mm=1.0,
                               inner_table_mm=1.0, neck_radius_mm=6.0, margin_mm=1.0)  # the bowl lies outside: padded
    head = ellipsoid_head(spacing_mm=0.5, geometry=geometry)
    out = tmp_path_factory.mktemp("head") / "small"
    head.save(out)
    return out


@pytest.mark.slow
def test_head_run_focus_in_brain(cli, small_head, tiny_yaml, tmp_path):
    out = tmp_path / "f.nii.gz"
    result = cli("simulate", "--head", small_head, "--transducer", tiny_yaml, "--position", 0, 0, 14,
                 "--target", 0, 0, 8, "--out", out, "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    metrics = json.loads(result.stdout)
    assert metrics["focus_label"] == 4  # the reported focus is intracranial
    img = nib.load(str(out))
    head_img = nib.load(str(small_head / "hu.nii.gz"))
    assert np.allclose(img.affine, head_img.affine) and img.shape == head_img.shape


def test_beam_frame_run_maps_back_to_the_head_grid(cli, small_head, tiny_yaml, tmp_path):
    """A beam-frame run with a protocol: the field and the temperature rise both back on the head grid."""
    out = tmp_path / "beam.nii.gz"
    result = cli("simulate", "--head", small_head, "--transducer", tiny_yaml, "--position", 0, 0, 14,
                 "--target", 0, 0, 8, "--frame", "beam", "--protocol", "legon2018-1khz", "--out", out, "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    img, head_img = nib.load(str(out)), nib.load(str(small_head / "hu.nii.gz"))
    assert np.allclose(img.affine, head_img.affine) and img.shape == head_img.shape
    amp = np.asarray(img.dataobj)
    metrics = json.loads(result.stdout)
    assert np.isfinite(amp).all() and amp.max() > 0
    # the box (aperture radius 3 mm + 10 mm laterally) ends inside this 23 mm head image: zero beyond it
    x = (np.arange(img.shape[0]) * img.affine[0, 0] + img.affine[0, 3])
    assert np.all(amp[np.abs(x) > 13.6 + 0.5] == 0)
    # the focus (found in the box, reported in world mm) lies on the bowl axis x = y = 0, within a voxel
    fx, fy, _ = metrics["focus_mm"]
    assert abs(fx) <= 0.5 and abs(fy) <= 0.5
    record = json.loads((tmp_path / "beam.json").read_text(encoding="utf-8"))
    assert record["request"]["frame"] == "beam"
    # --protocol: the safety block (drive = the protocol's free-field Isppa), in the record too, and the temperature
    # rise at the hottest time on the head grid, zero beyond the box like the field
    safety = metrics["safety"]
    assert set(safety["limits"]["groups"]) == {"mechanical", "thermal skin", "thermal skull", "thermal brain"}
    assert safety["drive"]["free_field_isppa_w_cm2"] == pytest.approx(17.12, rel=1e-9)
    assert record["metrics"]["safety"]["limits"] == safety["limits"] and "ITRUSST" in result.stderr
    rise_img = nib.load(str(tmp_path / "beam_temperature_rise.nii.gz"))
    assert rise_img.shape == head_img.shape and np.allclose(rise_img.affine, head_img.affine)
    rise = np.asarray(rise_img.dataobj)
    assert np.isfinite(rise).all() and rise.max() > 0 and np.all(rise[np.abs(x) > 13.6 + 0.5] == 0)
    bad = cli("simulate", "--water", "--transducer", tiny_yaml, "--position", 0, 0, 0, "--target", 0, 0, 6,
              "--frame", "box", "--out", tmp_path / "x.nii.gz")
    assert bad.exit_code == 2 and "--frame" in bad.stderr and not (tmp_path / "x.nii.gz").exists()


@pytest.mark.parametrize("args,needles", [
    (["--water", "--head", "X"], ["exactly one"]),
    ([], ["exactly one"]),
    (["--water", "--target", 0, 0, 0], ["apex"]),
    (["--water", "--spacing", 2.0], ["too coarse"]),
    (["--water", "--frequency", -5], ["frequency"]),
    (["--water", "--engine", "fdtd"], ["engine"]),
    (["--water", "--transducer", "nope"], ["nope"]),
])
def test_bad_input(cli, user_error, tiny_yaml, tmp_path, args, needles):
    out = tmp_path / "f.nii.gz"
    base = {"--transducer": tiny_yaml, "--position": [0, 0, 0], "--target": [0, 0, 6]}
    for i, a in enumerate(args):
        if a in base and i + 1 < len(args):
            base.pop(a)
    argv = ["simulate", "--out", out, "--spacing", 0.5] + [x for k, v in base.items() for x in [k, *np.atleast_1d(v)]]
    if "--spacing" in args:
        argv = argv[:3] + argv[5:]
    user_error(cli(*argv, *args), *needles)
    assert not any(tmp_path.iterdir())


def test_transducer_inside_head_is_refused(cli, user_error, small_head, tiny_yaml, tmp_path):
    out = tmp_path / "f.nii.gz"
    user_error(cli("simulate", "--head", small_head, "--transducer", tiny_yaml, "--position", 0, 0, 2,
                   "--target", 0, 0, -5, "--out", out), "inside the head")
    assert not out.exists()


def test_missing_head_files(cli, user_error, tiny_yaml, tmp_path):
    (tmp_path / "empty").mkdir()
    user_error(cli("simulate", "--head", tmp_path / "empty", "--transducer", tiny_yaml, "--position", 0, 0, 24,
                   "--target", 0, 0, 0, "--out", tmp_path / "f.nii.gz"), "hu.nii.gz")
