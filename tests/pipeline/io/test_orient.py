"""to_ras / resample_isotropic / resample_to keep every world point on the same content."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from tests.helpers.io_synth import gaussian_blob, make_affine, world_centroid, world_grid
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io import Volume, resample_isotropic, resample_to, to_ras
from tfus.pipeline.io.orient import isotropic_grid

SHAPE = (12, 14, 10)


def _unique(shape=SHAPE) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


@pytest.mark.parametrize("kind", ["ras", "lps", "oblique"])
def test_to_ras_moves_voxels_not_anatomy(kind):
    vol = Volume(_unique(), make_affine(kind=kind), "mem", "ct")
    ras = to_ras(vol)
    assert nib.aff2axcodes(ras.affine) == ("R", "A", "S")
    assert ras.modality == "ct" and ras.source == "mem"
    # every voxel of the new array sits at the world point where the same value was before
    world = world_grid(ras.shape, ras.affine).reshape(-1, 3)
    old_ijk = np.rint(vol.world_to_voxel(world)).astype(int)
    np.testing.assert_allclose(vol.voxel_to_world(old_ijk), world, atol=1e-9)
    np.testing.assert_array_equal(vol.data[tuple(old_ijk.T)], ras.data.reshape(-1))
    np.testing.assert_allclose(sorted(ras.spacing_mm), sorted(vol.spacing_mm))


def test_to_ras_of_ras_is_identity():
    vol = Volume(_unique(), make_affine(kind="ras"))
    assert to_ras(vol) is vol


def test_to_ras_permuted_axes():
    affine = np.array([[0, 0, -2.0, 5], [1.5, 0, 0, -3], [0, -1.0, 0, 7], [0, 0, 0, 1]])
    vol = Volume(_unique(), affine)
    ras = to_ras(vol)
    np.testing.assert_allclose(np.diag(ras.affine)[:3], (2.0, 1.5, 1.0))
    assert ras.shape == (10, 12, 14)
    value = vol.data[3, 4, 5]
    where = np.argwhere(ras.data == value)[0]
    np.testing.assert_allclose(ras.voxel_to_world(where), vol.voxel_to_world((3, 4, 5)))


@pytest.mark.parametrize("kind", ["ras", "lps", "oblique"])
def test_isotropic_grid_keeps_cosines_and_fov_centre(kind):
    affine = make_affine(kind=kind)
    shape, new = isotropic_grid(affine, SHAPE, 0.5)
    assert shape == (29, 25, 40)  # round(12*1.2/0.5), round(14*0.9/0.5)=25, 10*2/0.5
    np.testing.assert_allclose(np.linalg.norm(new[:3, :3], axis=0), 0.5)
    np.testing.assert_allclose(new[:3, :3] / 0.5, affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0))
    old_centre = affine[:3, :3] @ ((np.array(SHAPE) - 1) / 2) + affine[:3, 3]
    new_centre = new[:3, :3] @ ((np.array(shape) - 1) / 2) + new[:3, 3]
    np.testing.assert_allclose(new_centre, old_centre, atol=1e-9)


@pytest.mark.parametrize("kind", ["lps", "oblique"])
def test_linear_field_is_reproduced_exactly(kind):
    """Trilinear interpolation reproduces a field linear in world mm: any affine mistake shows up at once."""
    affine = make_affine(kind=kind)

    def field(xyz):
        return 3.0 * xyz[..., 0] - 2.0 * xyz[..., 1] + 0.5 * xyz[..., 2] + 10.0

    vol = Volume(field(world_grid(SHAPE, affine)), affine, "mem")
    iso = resample_isotropic(vol, 0.7)
    expected = field(world_grid(iso.shape, iso.affine))
    inside = np.all((vol.world_to_voxel(world_grid(iso.shape, iso.affine)) >= 0)
                    & (vol.world_to_voxel(world_grid(iso.shape, iso.affine)) <= np.array(SHAPE) - 1), axis=-1)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(iso.data[inside], expected[inside], atol=2e-3)


@pytest.mark.parametrize("kind", ["ras", "lps", "oblique"])
def test_blob_world_position_after_to_ras_and_resampling(kind):
    shape = (20, 24, 16)
    affine = make_affine(kind=kind)
    target = affine[:3, :3] @ [9.3, 13.7, 7.4] + affine[:3, 3]
    vol = Volume(gaussian_blob(shape, affine, target), affine)
    for spacing in (0.6, 1.0, 1.7):
        iso = resample_isotropic(to_ras(vol), spacing)
        np.testing.assert_allclose(world_centroid(iso.data, iso.affine), target, atol=0.3)


def test_single_bright_voxel_nearest_neighbour():
    affine = make_affine(spacing=(1.0, 1.0, 2.0), kind="lps")
    data = np.zeros(SHAPE, np.float32)
    data[4, 6, 3] = 100.0
    vol = Volume(data, affine)
    iso = resample_isotropic(vol, 1.0, order=0)
    hits = np.argwhere(iso.data == 100.0)
    assert len(hits) == 2  # a 2 mm voxel becomes two 1 mm voxels
    np.testing.assert_allclose(iso.voxel_to_world(hits).mean(axis=0), vol.voxel_to_world((4, 6, 3)), atol=1e-9)


def test_resample_to_labels_round_trip():
    affine = make_affine(spacing=(1.0, 1.0, 2.0), kind="oblique")
    labels = np.zeros(SHAPE, np.uint8)
    labels[2:10, 3:11, 2:8] = 1
    labels[4:8, 5:9, 3:6] = 2
    iso_shape, iso_aff = isotropic_grid(affine, SHAPE, 0.5)
    iso = resample_to(labels, affine, iso_shape, iso_aff, order=0)
    assert iso.dtype == np.uint8 and set(np.unique(iso)) == {0, 1, 2}
    back = resample_to(iso, iso_aff, SHAPE, affine, order=0)
    np.testing.assert_array_equal(back, labels)


def test_resample_to_same_grid_is_identity_and_outside_is_cval():
    data = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    affine = make_affine(kind="oblique")
    np.testing.assert_allclose(resample_to(data, affine, SHAPE, affine, order=1), data, atol=1e-5)
    np.testing.assert_allclose(resample_to(data, affine, SHAPE, affine, order=3), data, atol=1e-4)
    shifted = affine.copy()
    shifted[:3, 3] += affine[:3, :3] @ [100.0, 0, 0]
    out = resample_to(data, affine, SHAPE, shifted, order=1, cval=-7.0)
    assert np.all(out == -7.0)


def test_bool_mask_resampling_keeps_dtype():
    mask = np.zeros(SHAPE, bool)
    mask[3:9, 3:9, 3:7] = True
    out = resample_to(mask, np.eye(4), (24, 28, 20), np.diag([0.5, 0.5, 0.5, 1.0]), order=0)
    assert out.dtype == bool and out.sum() == mask.sum() * 8


def test_bad_arguments():
    vol = Volume(_unique(), np.eye(4))
    for spacing in (0.0, -1.0, float("nan")):
        with pytest.raises(TfusInputError, match="spacing"):
            resample_isotropic(vol, spacing)
    with pytest.raises(TfusInputError, match="larger spacing"):
        resample_isotropic(vol, 1e-4)
    with pytest.raises(TfusInputError, match="order"):
        resample_to(vol.data, np.eye(4), SHAPE, np.eye(4), order=7)
    with pytest.raises(TfusInputError, match="3D"):
        resample_to(np.zeros((4, 4)), np.eye(4), SHAPE, np.eye(4))


@pytest.mark.parametrize("order", [0, 1, 3])
def test_resample_to_matches_pointwise_map_coordinates(order):
    """Every sample equals map_coordinates at that voxel's source coordinate; half a voxel out is edge, further cval."""
    from scipy import ndimage

    rng = np.random.default_rng(order)
    data = rng.normal(size=SHAPE)
    affine = make_affine(kind="oblique")
    target_shape, target = isotropic_grid(affine, SHAPE, 0.8)
    target = target.copy()
    target[:3, 3] += 1.3  # shift so part of the target grid falls outside
    out = resample_to(data, affine, target_shape, target, order=order, cval=-9.0)
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in target_shape], indexing="ij"), -1).reshape(-1, 3)
    src = (np.linalg.inv(affine) @ target @ np.c_[ijk, np.ones(len(ijk))].T)[:3]
    work = ndimage.spline_filter(data, order=order, mode="nearest") if order > 1 else data
    expected = ndimage.map_coordinates(work, src, order=order, mode="nearest", prefilter=False)
    outside = np.any((src < -0.5 - 1e-6) | (src > np.array(SHAPE)[:, None] - 0.5 + 1e-6), axis=0)
    expected[outside] = -9.0
    assert 0.05 < outside.mean() < 0.95
    np.testing.assert_allclose(out.reshape(-1), expected, rtol=1e-12, atol=1e-12)
