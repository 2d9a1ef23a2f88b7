"""``tfus transducers list`` and ``tfus transducers sample`` on the MNI head built through the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.transducers import CSV_COLUMNS, list_presets
from tfus.pipeline.transducers.scalp import lookup_labels

REQUIRED = ("apex_x", "apex_y", "apex_z", "target_x", "target_y", "target_z")
TARGET = (0.0, -20.0, 30.0)  # world mm, inside the MNI brain

YAML_BOWL = """\
# a small test bowl
name: test-bowl
radius_of_curvature_mm: 40
aperture_diameter_mm: 30
frequency_hz: 5.0e5
source_amplitude_pa: 50000
description: CLI test bowl
"""


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def vec(row, prefix):
    return np.array([float(row[f"{prefix}_{c}"]) for c in "xyz"])


@pytest.fixture(scope="module")
def mni_model(mni_head):
    return HeadModel.load(mni_head)


@pytest.fixture(scope="module")
def sampled(cli, mni_head, tmp_path_factory):
    """``tfus transducers sample MNI --n 6 --out poses.csv --seed 3``: (csv path, Result)."""
    out = tmp_path_factory.mktemp("poses") / "poses.csv"
    result = cli("transducers", "sample", mni_head, "--n", 6, "--out", out, "--seed", 3)
    assert result.exit_code == 0, (result.exception, result.output, result.stderr)
    return out, result


@pytest.fixture(scope="module")
def aimed(cli, mni_head, tmp_path_factory):
    """Six poses aimed at TARGET: (csv path, Result)."""
    out = tmp_path_factory.mktemp("aimed") / "aimed.csv"
    result = cli("transducers", "sample", mni_head, "--n", 6, "--out", out, "--seed", 1,
                 "--target", *TARGET)
    assert result.exit_code == 0, (result.exception, result.output, result.stderr)
    return out, result


# ------------------------------------------------------------------------------------------------------------ list


def test_list_shows_the_presets(cli):
    result = cli("transducers", "list")
    assert result.exit_code == 0, result.output
    assert "itrusst-sc1" in result.stdout
    for name in list_presets():
        assert name in result.stdout


def test_list_json(cli, stdout_json):
    result = cli("transducers", "list", "--json")
    assert result.exit_code == 0, result.output
    presets = {p["name"]: p for p in stdout_json(result)}
    assert set(presets) == set(list_presets())
    sc1 = presets["itrusst-sc1"]
    assert sc1["radius_of_curvature_mm"] == 64.0 and sc1["aperture_diameter_mm"] == 64.0
    assert sc1["frequency_hz"] == 5e5


# ---------------------------------------------------------------------------------------------------------- sample


def test_sample_writes_csv_with_required_columns(sampled, mni_model):
    out, result = sampled
    header, rows = read_csv(out)
    assert tuple(header) == CSV_COLUMNS
    assert set(REQUIRED) <= set(header)
    assert len(rows) == 6
    assert all(row["transducer"] == "itrusst-sc1" for row in rows)
    apex = np.array([vec(r, "apex") for r in rows])
    target = np.array([vec(r, "target") for r in rows])
    assert np.all(np.isfinite(apex)) and np.all(np.isfinite(target))
    # Apexes sit outside the head (background or off the grid); default aim: the geometric focus, R = 64 mm away.
    assert np.all(lookup_labels(mni_model.labels, mni_model.affine, apex, outside=-1) <= 0)
    np.testing.assert_allclose(np.linalg.norm(target - apex, axis=1), 64.0, atol=1e-6)
    assert len({tuple(a) for a in apex.round(3)}) == 6  # six distinct placements
    assert "wrote 6 poses" in result.stderr and result.stdout == ""


def test_sample_sidecar_records_seed_and_transducer(sampled, mni_head):
    out, _ = sampled
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["seed"] == 3 and record["n"] == 6 and record["target"] is None
    assert record["transducer"]["name"] == "itrusst-sc1"
    assert record["transducer"]["radius_of_curvature_mm"] == 64.0
    assert record["head"] == str(mni_head)
    assert "tfus" in record["versions"]


def test_same_seed_same_csv(cli, sampled, mni_head, tmp_path):
    out, _ = sampled
    again = tmp_path / "again.csv"
    result = cli("transducers", "sample", mni_head, "--n", 6, "--out", again, "--seed", 3)
    assert result.exit_code == 0, result.stderr
    assert again.read_text() == out.read_text()


def test_other_seed_other_poses(cli, sampled, mni_head, tmp_path):
    out, _ = sampled
    other = tmp_path / "other.csv"
    result = cli("transducers", "sample", mni_head, "--n", 6, "--out", other, "--seed", 4)
    assert result.exit_code == 0, result.stderr
    assert other.read_text() != out.read_text()


def test_target_every_axis_passes_through_it(aimed, mni_model):
    out, _ = aimed
    _, rows = read_csv(out)
    assert len(rows) == 6
    t = np.array(TARGET)
    assert lookup_labels(mni_model.labels, mni_model.affine, t[None], outside=-1)[0] == 4  # the target is in brain
    for row in rows:
        apex, target, focus = vec(row, "apex"), vec(row, "target"), vec(row, "focus")
        np.testing.assert_allclose(target, t, atol=1e-9)
        axis = (focus - apex) / np.linalg.norm(focus - apex)
        # distance of the target from the line apex + s * axis
        assert np.linalg.norm(np.cross(t - apex, axis)) < 1e-6
        assert np.dot(t - apex, axis) > 0  # the bowl faces the target
        assert float(row["normal_angle_deg"]) <= 45.0 + 1e-9


def test_target_is_recorded(aimed):
    out, _ = aimed
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["target"] == list(TARGET)


def test_yaml_transducer(cli, mni_head, tmp_path):
    bowl = tmp_path / "my_bowl.yaml"
    bowl.write_text(YAML_BOWL)
    out = tmp_path / "yaml.csv"
    result = cli("transducers", "sample", mni_head, "--n", 3, "--out", out, "--transducer", bowl)
    assert result.exit_code == 0, (result.exception, result.stderr)
    _, rows = read_csv(out)
    assert len(rows) == 3 and all(r["transducer"] == "test-bowl" for r in rows)
    for row in rows:
        assert np.linalg.norm(vec(row, "focus") - vec(row, "apex")) == pytest.approx(40.0)
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["transducer"]["name"] == "test-bowl"
    assert record["transducer"]["aperture_diameter_mm"] == 30.0
    assert record["transducer"]["frequency_hz"] == 5e5


def test_other_preset_by_name(cli, mni_head, tmp_path):
    out = tmp_path / "ctx.csv"
    result = cli("transducers", "sample", mni_head, "--n", 2, "--out", out, "--transducer", "neurofus-ctx500")
    assert result.exit_code == 0, result.stderr
    _, rows = read_csv(out)
    assert [r["transducer"] for r in rows] == ["neurofus-ctx500"] * 2


def test_sample_json_and_png(cli, mni_head, tmp_path, stdout_json):
    out, png = tmp_path / "p.csv", tmp_path / "fig" / "poses.png"
    result = cli("transducers", "sample", mni_head, "--n", 2, "--out", out, "--json", "--png", png)
    assert result.exit_code == 0, result.stderr
    poses = stdout_json(result)
    assert len(poses) == 2 and set(poses[0]) == {"apex", "target", "focus", "standoff_mm"}
    _, rows = read_csv(out)
    np.testing.assert_allclose([p["apex"] for p in poses], [vec(r, "apex") for r in rows])
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------------------------------------------------- errors

HEMISPHERE_45 = """\
radius_of_curvature_mm: 45
aperture_diameter_mm: 90
frequency_hz: 500000
source_amplitude_pa: 60000
"""

UNKNOWN_KEY = """\
radius_of_curvature_mm: 30
aperture_diameter_mm: 30
frequency_hz: 500000
source_amplitude_pa: 60000
focal_lenght_mm: 30
"""


def _sample_error(cli, user_error, tmp_path, head_dir, *args, needles):
    out = tmp_path / "sub" / "poses.csv"
    result = cli("transducers", "sample", head_dir, "--out", out, *args)
    message = user_error(result, *needles)
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())
    return message


def test_not_a_head_folder(cli, user_error, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    _sample_error(cli, user_error, tmp_path, empty, "--n", 3, needles=["has no hu.nii.gz", "tfus head build"])


def test_missing_head_folder(cli, user_error, tmp_path):
    _sample_error(cli, user_error, tmp_path, tmp_path / "nope", "--n", 3, needles=["nope", "has no hu.nii.gz"])


def test_damaged_head_folder(cli, user_error, tmp_path, mni_head):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("hu.nii.gz", "labels.nii.gz"):
        data = (mni_head / name).read_bytes()
        (broken / name).write_bytes(data[: len(data) // 3])
    _sample_error(cli, user_error, tmp_path, broken, "--n", 3, needles=["cannot read head model"])


def test_unknown_preset(cli, user_error, tmp_path, mni_head):
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 3, "--transducer", "no-such-bowl",
                  needles=["unknown transducer preset", "'no-such-bowl'", "itrusst-sc1"])


def test_missing_yaml_file(cli, user_error, tmp_path, mni_head):
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 3, "--transducer", tmp_path / "absent.yaml",
                  needles=["absent.yaml", "not found"])


def test_yaml_with_unknown_key(cli, user_error, tmp_path, mni_head):
    bowl = tmp_path / "typo.yaml"
    bowl.write_text(UNKNOWN_KEY)
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 3, "--transducer", bowl,
                  needles=["unknown key", "'focal_lenght_mm'", "typo.yaml"])


def test_invalid_yaml(cli, user_error, tmp_path, mni_head):
    bowl = tmp_path / "broken.yaml"
    bowl.write_text("radius_of_curvature_mm: [64\n")
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 3, "--transducer", bowl,
                  needles=["not valid YAML"])


def test_bowl_that_does_not_fit(cli, user_error, tmp_path, mni_head):
    """A 45 mm hemisphere whose rim would cut into the head at every standoff up to 30 mm (the search is limited to
    --standoff 30 to keep the test fast: the full 3-30 mm search takes minutes before it gives up)."""
    bowl = tmp_path / "hemisphere-45.yaml"
    bowl.write_text(HEMISPHERE_45)
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 3, "--transducer", bowl, "--standoff", 30,
                  needles=["hemisphere-45 does not fit"])


def test_too_many_poses_do_not_fit(cli, user_error, tmp_path, mni_head):
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 100000, needles=["does not fit", "100000 poses"])


@pytest.mark.parametrize("n", [0, -2])
def test_non_positive_pose_count(cli, user_error, tmp_path, mni_head, n):
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", n, needles=["number of poses", "positive"])


@pytest.mark.parametrize("target, where", [
    pytest.param((0.0, 0.0, 500.0), "off the head grid", id="off-grid"),
    pytest.param((-85.0, 0.0, 0.0), "not in the brain", id="outside-head"),
    pytest.param((0.0, -20.0, 300.0), "not in the brain", id="far-above"),
])
def test_target_outside_the_brain(cli, user_error, tmp_path, mni_head, mni_model, target, where):
    label = lookup_labels(mni_model.labels, mni_model.affine, np.array([target]), outside=-1)[0]
    assert label != 4
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 3, "--target", *target,
                  needles=[where, "pick a target inside the brain"])


def test_target_in_the_skull(cli, user_error, tmp_path, mni_head, mni_model):
    """A target straight above TARGET, in the first cortical bone voxel on the way out."""
    for z in np.arange(TARGET[2], 120.0, 0.5):
        point = np.array([TARGET[0], TARGET[1], z])
        if lookup_labels(mni_model.labels, mni_model.affine, point[None], outside=-1)[0] == 2:
            break
    else:
        pytest.fail("no cortical bone above the target")
    _sample_error(cli, user_error, tmp_path, mni_head, "--n", 3, "--target", *point,
                  needles=["in cortical", "not in the brain"])


def test_out_with_json_suffix_keeps_the_csv(cli, mni_head, tmp_path):
    out = tmp_path / "poses.json"
    result = cli("transducers", "sample", mni_head, "--n", 2, "--out", out)
    assert result.exit_code != 0 or out.read_text().startswith("apex_x,")
