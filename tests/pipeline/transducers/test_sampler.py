"""Pose sampling on the phantom: no intersections, coverage, reproducibility, target mode, CSV round trip."""

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.phantom import ellipsoid_head
from tfus.pipeline.transducers import (
    CSV_COLUMNS,
    BowlTransducer,
    bowl_surface_points,
    brain_centroid,
    load_transducer,
    poses_to_csv,
    read_poses_csv,
    sample_poses,
)
from tfus.pipeline.transducers.scalp import lookup_labels

TARGET = (10.0, 20.0, 30.0)


@pytest.fixture(scope="module")
def head():
    return ellipsoid_head(spacing_mm=4.0)


@pytest.fixture(scope="module")
def bowl():
    return load_transducer("itrusst-sc1")


@pytest.fixture(scope="module")
def poses(head, bowl):
    return sample_poses(head, bowl, 20, seed=0)


@pytest.fixture(scope="module")
def aimed(head, bowl):
    return sample_poses(head, bowl, 8, target=TARGET, seed=3)


def _assert_clear(head, bowl, poses):
    for p in poses:
        for spacing in (head.spacing_mm, head.spacing_mm / 4):  # independent, finer check too
            lab = lookup_labels(head.labels, head.affine, bowl_surface_points(bowl, p.pose, spacing), outside=0)
            assert np.all(lab == Label.BACKGROUND)
        assert lookup_labels(head.labels, head.affine, p.apex[None], outside=0)[0] == Label.BACKGROUND
        assert p.min_clearance_mm >= 1.0 and p.standoff_mm >= 3.0


def test_no_bowl_touches_the_head(head, bowl, poses, aimed):
    assert len(poses) == 20 and len(aimed) == 8
    _assert_clear(head, bowl, poses)
    _assert_clear(head, bowl, aimed)


def test_bowls_avoid_the_ear(eared_head, bowl):
    """Aiming at a target under the right-side flap: without the flap the sampler uses scalp points in the gap behind
    it; with the flap those are rejected (the bowl would hit it) and every bowl stays clear."""

    def in_gap(poses):
        s = np.array([p.scalp_point for p in poses])
        return (s[:, 0] > 60) & (s[:, 0] < 84) & (np.abs(s[:, 1]) <= 15) & (s[:, 2] > 8) & (s[:, 2] < 35)

    kwargs = {"target": (55.0, 0.0, 20.0), "max_angle_deg": 20.0, "seed": 0}
    plain = ellipsoid_head(spacing_mm=3.0)
    assert in_gap(sample_poses(plain, bowl, 12, **kwargs)).any()
    poses = sample_poses(eared_head, bowl, 12, **kwargs)
    assert not in_gap(poses).any()
    _assert_clear(eared_head, bowl, poses)


def test_normal_mode_geometry(bowl, poses):
    for p in poses:
        assert np.allclose(p.focus, p.apex + bowl.radius_of_curvature_mm * p.axis)
        assert np.allclose(p.target, p.focus) and p.apex_target_mm == pytest.approx(64.0)
        assert np.allclose(p.axis, -p.scalp_normal) and p.normal_angle_deg == pytest.approx(0.0, abs=1e-9)
        assert np.linalg.norm(p.scalp_point - p.apex) == pytest.approx(p.standoff_mm)
        assert p.focus_label == Label.BRAIN and p.bowl_in_grid and p.transducer == "itrusst-sc1"


def test_poses_cover_the_cranium(head, poses):
    c = brain_centroid(head.labels, head.affine)
    rel = np.array([p.scalp_point for p in poses]) - c
    assert rel[:, 0].min() < -30 and rel[:, 0].max() > 30  # left and right
    assert rel[:, 1].min() < -30 and rel[:, 1].max() > 30  # posterior and anterior
    assert rel[:, 2].max() > 50  # reaches the vertex
    below = rel[:, 2] < 0
    on_neck = below & (np.hypot(rel[:, 0], rel[:, 1] + 10.0) <= 50.0)
    on_face = below & (rel[:, 1] > 0)
    assert not on_neck.any() and not on_face.any()
    gaps = np.linalg.norm(rel[:, None] - rel[None], axis=2) + np.eye(len(rel)) * 1e9
    assert gaps.min() > 20  # spread out, no two poses on top of each other


def test_reproducible_from_the_seed(head, bowl, poses):
    again = sample_poses(head, bowl, 20, seed=0)
    assert [p.pose for p in again] == [p.pose for p in poses]
    other = sample_poses(head, bowl, 20, seed=1)
    assert [p.pose for p in other] != [p.pose for p in poses]


def test_target_mode_axes_pass_through_the_target(aimed):
    t = np.array(TARGET)
    for p in aimed:
        assert np.linalg.norm(np.cross(t - p.apex, p.axis)) < 1e-6
        assert np.allclose(p.target, t) and p.normal_angle_deg <= 45.0 + 1e-9
        assert np.linalg.norm(p.scalp_point - p.apex) == pytest.approx(p.standoff_mm)


@pytest.mark.parametrize("target, match", [((0.0, 0.0, 200.0), "off the head grid"), ((0.0, 0.0, 82.0), "scalp"),
                                           ((0.0, 0.0, 76.0), "not in the brain")])
def test_target_outside_brain_is_an_error(head, bowl, target, match):
    with pytest.raises(TfusInputError, match=match):
        sample_poses(head, bowl, 2, target=target)


def test_transducer_too_large_or_too_many_poses(head, bowl):
    hemisphere = BowlTransducer("hemisphere-25", 25.0, 50.0, 5e5, 6e4)
    with pytest.raises(TfusInputError, match="hemisphere-25 does not fit: only 0 of 3"):
        sample_poses(head, hemisphere, 3, max_standoff_mm=8.0, max_attempts=100)
    with pytest.raises(TfusInputError, match="does not fit"):
        sample_poses(head, bowl, 100_000)


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2.5}, {"n": 2, "standoff_mm": -1}, {"n": 2, "max_standoff_mm": 1},
                                    {"n": 2, "clearance_mm": float("nan")}, {"n": 2, "max_angle_deg": 0}])
def test_bad_arguments(head, bowl, kwargs):
    n = kwargs.pop("n")
    with pytest.raises(TfusInputError):
        sample_poses(head, bowl, n, **kwargs)


def test_csv_round_trip(tmp_path, poses, aimed):
    path = tmp_path / "poses.csv"
    poses_to_csv(path, poses + aimed)
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert tuple(header) == CSV_COLUMNS and list(tmp_path.iterdir()) == [path]
    back = read_poses_csv(path)
    assert [p.pose for p in back] == [p.pose for p in poses + aimed]
    for a, b in zip(back, poses + aimed):
        assert np.array_equal(a.focus, b.focus) and np.array_equal(a.scalp_normal, b.scalp_normal)
        assert (a.standoff_mm, a.normal_angle_deg, a.bowl_in_grid, a.focus_label, a.transducer) == \
            (b.standoff_mm, b.normal_angle_deg, b.bowl_in_grid, b.focus_label, b.transducer)


def test_csv_errors(tmp_path):
    with pytest.raises(TfusInputError, match="not found"):
        read_poses_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("apex_x,apex_y\n1,2\n")
    with pytest.raises(TfusInputError, match="apex_z"):
        read_poses_csv(bad)
    short = tmp_path / "short.csv"
    short.write_text(",".join(CSV_COLUMNS[:11]) + "\n" + ",".join(["1"] * 10) + ",x\n")
    with pytest.raises(TfusInputError, match="line 2"):
        read_poses_csv(short)
