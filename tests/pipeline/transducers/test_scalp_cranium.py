"""Scalp surface, normals and the cranium rule on the phantom (with and without an ear)."""

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.phantom import PhantomGeometry, ellipsoid_head
from tfus.pipeline.transducers import brain_centroid, cranium_mask, scalp_surface, solid_head_mask


@pytest.fixture(scope="module")
def head():
    return ellipsoid_head(spacing_mm=3.0)


def test_surface_points_touch_air_and_normals_point_out(head):
    surf = scalp_surface(head.labels, head.affine)
    assert len(surf) > 1000
    v = surf.voxels
    assert np.all(head.labels[v[:, 0], v[:, 1], v[:, 2]] != Label.BACKGROUND)
    assert np.allclose(np.linalg.norm(surf.normals, axis=1), 1.0)
    radii = np.array(PhantomGeometry().radii_mm)
    top = surf.points[:, 2] > 5  # the ellipsoid part, away from the neck
    exact = surf.points[top] / radii**2
    exact /= np.linalg.norm(exact, axis=1)[:, None]
    angle = np.degrees(np.arccos(np.clip(np.sum(exact * surf.normals[top], axis=1), -1, 1)))
    assert np.median(angle) < 3 and angle.max() < 15


def test_enclosed_air_is_head(head):
    labels = head.labels.copy()
    labels[30:33, 30:33, 30:33] = Label.BACKGROUND  # a pocket inside the brain
    assert solid_head_mask(labels)[31, 31, 31]
    assert len(scalp_surface(labels, head.affine)) == len(scalp_surface(head.labels, head.affine))


def test_cranium_excludes_neck_and_low_face(head):
    surf = scalp_surface(head.labels, head.affine)
    keep = cranium_mask(surf.points, head.labels, head.affine, normals=surf.normals)
    c = brain_centroid(head.labels, head.affine)
    assert np.allclose(c, 0.0, atol=2.0)
    rel = surf.points[keep] - c
    assert keep.sum() > 0.3 * len(surf)
    assert np.all(rel[:, 2] >= np.tan(np.radians(15)) * rel[:, 1] - 1e-9)
    assert not np.any((rel[:, 2] < 0) & (rel[:, 1] > 0))  # nothing anterior-inferior (face)
    assert rel[:, 2].min() > -30  # nothing on the neck
    for axis in range(2):  # the kept region covers left/right and front/back
        assert rel[:, axis].min() < -50 and rel[:, axis].max() > 50
    # normals computed internally agree
    assert np.array_equal(keep, cranium_mask(surf.points, head.labels, head.affine))


def test_cranium_rejects_an_ear(eared_head):
    labels, affine = eared_head.labels, eared_head.affine
    surf = scalp_surface(labels, affine)
    keep = cranium_mask(surf.points, labels, affine, normals=surf.normals)
    on_ear = (surf.points[:, 0] >= 80) & (np.abs(surf.points[:, 1]) <= 16) & (surf.points[:, 2] >= 2)
    assert on_ear.sum() > 20 and not keep[on_ear].any()
    assert keep[surf.points[:, 2] > 60].mean() > 0.9  # the vertex stays


def test_bad_inputs(head):
    with pytest.raises(TfusInputError, match="3D"):
        scalp_surface(head.labels[0], head.affine)
    with pytest.raises(TfusInputError, match="empty"):
        scalp_surface(np.zeros((5, 5, 5), np.uint8), np.eye(4))
    with pytest.raises(TfusInputError, match="brain"):
        brain_centroid(np.ones((5, 5, 5), np.uint8), np.eye(4))
