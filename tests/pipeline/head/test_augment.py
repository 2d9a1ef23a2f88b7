"""Skull augmentation: seeded, identity at zero, thickness changed by the requested mm (within the grid's voxel),
elastic deformation that keeps the skull a closed shell and the tissue volumes, HU perturbation with the requested
mean / spread inside the physical range, one-line errors for bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head import Label, PhantomGeometry, SkullAugmentation, augment_head, bone_mask, ellipsoid_head
from tfus.pipeline.head.augment import HU_RANGE, MAX_STRAIN, MIN_SKULL_VOXELS, smooth_displacement
from tfus.pipeline.head.measures import cranial_thickness_mm

#: a small phantom: 7 mm skull (2 mm tables, 3 mm diploe), 5 mm scalp
GEOMETRY = PhantomGeometry(radii_mm=(60.0, 70.0, 64.0), scalp_mm=5.0, margin_mm=8.0, neck_radius_mm=25.0)


@pytest.fixture(scope="module")
def head2():
    return ellipsoid_head(spacing_mm=2.0, geometry=GEOMETRY)


@pytest.fixture(scope="module")
def head3():
    return ellipsoid_head(spacing_mm=3.0, geometry=GEOMETRY)


def enclosed(labels: np.ndarray) -> bool:
    """The skull separates brain from the outside: no 6-connected path of non-bone voxels joins them."""
    comp, _ = ndi.label(~bone_mask(labels))
    brain_comps = set(np.unique(comp[labels == Label.BRAIN])) - {0}
    outside = set(np.unique(comp[labels == Label.BACKGROUND])) - {0}
    return bool(brain_comps) and not (brain_comps & outside)


def _axis_profiles(labels: np.ndarray) -> list[list[int]]:
    """Bone labels met along the five grid half-axes from the centre that cross the cranium (not down the neck)."""
    c = np.array(labels.shape) // 2
    rays = [labels[c[0]:, c[1], c[2]], labels[c[0]::-1, c[1], c[2]], labels[c[0], c[1]:, c[2]],
            labels[c[0], c[1]::-1, c[2]], labels[c[0], c[1], c[2]:]]
    return [[int(v) for v in ray if v in (Label.CORTICAL, Label.TRABECULAR)] for ray in rays]


def test_identity_and_determinism(head3):
    same = augment_head(head3, SkullAugmentation(), seed=3)
    assert np.array_equal(same.hu, head3.hu) and np.array_equal(same.labels, head3.labels)
    assert np.array_equal(same.affine, head3.affine)
    zero_amp = augment_head(head3, SkullAugmentation(elastic_amplitude_mm=0.0, elastic_length_mm=5.0), seed=3)
    assert np.array_equal(zero_amp.hu, head3.hu) and np.array_equal(zero_amp.labels, head3.labels)
    aug = SkullAugmentation(elastic_amplitude_mm=2.0, elastic_length_mm=20.0, thickness_mm=2.0, hu_scale=1.2,
                            porosity_hu_std=100.0)
    a, b = augment_head(head3, aug, seed=7), augment_head(head3, aug, seed=7)
    c = augment_head(head3, aug, seed=8)
    assert np.array_equal(a.hu, b.hu) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.hu, c.hu) and not np.array_equal(a.labels, c.labels)
    assert a.shape == head3.shape and np.array_equal(a.affine, head3.affine)
    assert a.meta["augmentation"]["seed"] == 7 and a.meta["augmentation"]["thickness_mm"] == 2.0


@pytest.mark.parametrize("change_mm", [-3.0, 3.0, 5.0])
def test_thickness_change_is_the_requested_mm(head2, change_mm):
    """Median cranial thickness along inner-surface normals and the skull volume move by the requested change,
    within one voxel (the change is rounded to the grid); both tables stay cortical, the skull stays closed."""
    s = head2.spacing_mm
    before = float(np.median(cranial_thickness_mm(head2)))
    assert abs(before - GEOMETRY.skull_thickness_mm) <= s  # the ruler works on the source
    out = augment_head(head2, SkullAugmentation(thickness_mm=change_mm), seed=0)
    after = float(np.median(cranial_thickness_mm(out)))
    assert abs((after - before) - change_mm) <= s, (before, after)
    # a shell grown or thinned about its mid-surface: volume ratio (T + dT) / T, within a voxel of thickness
    ratio = bone_mask(out.labels).sum() / bone_mask(head2.labels).sum()
    expected = (before + change_mm) / before
    assert abs(ratio - expected) <= s / before, (ratio, expected)
    assert enclosed(out.labels)
    # layers move with the surfaces: along the grid axes (no staircase) the profile is still table, diploe, table,
    # with only the diploe changed; over the whole surface most voxels stay cortical (1-voxel tables on staircases)
    half = abs(change_mm) / 2 / s + 0.5  # voxels per side, the outer rounded half up and the inner half down
    layers = int(np.floor(half) + np.ceil(half) - 1)
    for before_prof, after_prof in zip(_axis_profiles(head2.labels), _axis_profiles(out.labels)):
        table = int(GEOMETRY.outer_table_mm / s)
        assert after_prof[:table] == after_prof[-table:] == [Label.CORTICAL] * table, after_prof
        assert set(after_prof[table:-table]) <= {Label.TRABECULAR}
        expected = layers if change_mm > 0 else -min(layers, len(before_prof) - MIN_SKULL_VOXELS)
        assert len(after_prof) - len(before_prof) == expected, (before_prof, after_prof)
    bone = bone_mask(out.labels)
    surface = bone & ~ndi.binary_erosion(bone)
    assert (out.labels[surface] == Label.CORTICAL).mean() > 0.75
    # HU follow the labels (each bone voxel keeps its layer's HU); removed bone became scalp / brain HU
    for lab in (Label.SCALP, Label.CORTICAL, Label.TRABECULAR, Label.BRAIN):
        assert np.unique(out.hu[out.labels == lab]).size == 1
    assert set(np.unique(out.labels)) <= {int(v) for v in Label}


def test_thinning_keeps_a_closed_skull(head2):
    """Thinning by more than the skull is thick leaves at least two voxels of bone everywhere."""
    out = augment_head(head2, SkullAugmentation(thickness_mm=-10.0), seed=0)
    assert enclosed(out.labels)
    thick = cranial_thickness_mm(out)
    assert thick.size and np.percentile(thick, 1) >= 2 * head2.spacing_mm - 0.5 * head2.spacing_mm


def test_elastic_deformation_is_smooth_and_keeps_the_shell(head3):
    s = head3.spacing_mm
    amplitude, length = MAX_STRAIN * 20.0, 20.0
    disp = smooth_displacement(head3.shape, s, amplitude, length, np.random.default_rng(0))
    assert np.allclose(np.sqrt((disp**2).reshape(3, -1).mean(1)), amplitude, rtol=1e-3)
    # the map x -> x - d(x) never folds at the largest allowed strain: Jacobian determinant positive everywhere
    grads = np.stack([np.stack(np.gradient(disp[i] / s), 0) for i in range(3)])  # d(disp_i)/d(x_j), voxels
    jac = np.eye(3)[:, :, None, None, None] - grads
    det = np.linalg.det(np.moveaxis(jac, (0, 1), (-2, -1)))
    assert det.min() > 0.2, det.min()
    # seed 0: augment_head draws this very field first from default_rng(0)
    out = augment_head(head3, SkullAugmentation(elastic_amplitude_mm=amplitude, elastic_length_mm=length), seed=0)
    assert enclosed(out.labels)
    assert ndi.label(bone_mask(out.labels), structure=np.ones((3, 3, 3)))[1] == 1
    # volumes obey the change of variables of the backward map phi(x) = x - d(x): a tissue's old volume equals the
    # integral of det(J_phi) over the voxels it occupies after the warp (nearest-neighbour labels: 1 % for the
    # brain, 2 % for the 3.5-voxel-thick skull shell at 3 mm), while its raw voxel count does change
    for mask_of in (lambda lab: lab == Label.BRAIN, bone_mask):
        old, new = mask_of(head3.labels), mask_of(out.labels)
        tol = 0.01 if mask_of is not bone_mask else 0.02
        assert abs(det[new].sum() / old.sum() - 1) <= tol, det[new].sum() / old.sum()
    assert abs(bone_mask(out.labels).sum() / bone_mask(head3.labels).sum() - 1) > 0.01  # the volume did change
    moved = (out.labels != head3.labels).mean()
    assert moved > 0.005  # it did deform
    # HU stay with their tissue: linear inside a layer, nearest at its edges, so no bone voxel gets blended HU
    for lab in (Label.SCALP, Label.CORTICAL, Label.TRABECULAR, Label.BRAIN):
        assert np.unique(out.hu[out.labels == lab]).tolist() == np.unique(head3.hu[head3.labels == lab]).tolist()


def test_hu_scale_and_porosity_noise(head3):
    bone = bone_mask(head3.labels)
    src = head3.hu[bone].astype(float)
    scaled = augment_head(head3, SkullAugmentation(hu_scale=1.5), seed=0)
    new = scaled.hu[bone].astype(float)
    assert abs(new.mean() - src.mean()) < 1e-2 and abs(new.std() / src.std() - 1.5) < 1e-4
    assert np.array_equal(scaled.hu[~bone], head3.hu[~bone]) and np.array_equal(scaled.labels, head3.labels)
    length = 6.0
    noisy = augment_head(head3, SkullAugmentation(porosity_hu_std=120.0, porosity_length_mm=length), seed=1)
    delta = (noisy.hu - head3.hu).astype(float)
    assert abs(delta[bone].mean()) < 1e-2 and abs(delta[bone].std() - 120.0) < 0.1
    assert np.array_equal(noisy.hu[~bone], head3.hu[~bone])
    # a smooth (porosity) field, not voxel noise: Gaussian correlation exp(-lag^2 / (4 L^2)) at one voxel
    pair = bone[1:] & bone[:-1]
    corr = np.corrcoef(delta[1:][pair], delta[:-1][pair])[0, 1]
    assert abs(corr - np.exp(-(head3.spacing_mm**2) / (4 * length**2))) < 0.05, corr


def test_hu_stays_in_the_physical_range(head3):
    dense = head3.hu.copy()
    dense[head3.labels == Label.CORTICAL] = 2800.0
    from tfus.pipeline.head import HeadModel

    head = HeadModel(hu=dense, labels=head3.labels, affine=head3.affine)
    out = augment_head(head, SkullAugmentation(hu_scale=2.0, porosity_hu_std=500.0, porosity_length_mm=3.0), seed=2)
    assert out.hu.min() >= HU_RANGE[0] and out.hu.max() <= HU_RANGE[1]
    assert out.hu.max() == HU_RANGE[1]  # the clip was needed here


@pytest.mark.parametrize("bad, words", [
    ({"hu_scale": 3.0}, "hu_scale"),
    ({"elastic_amplitude_mm": 5.0, "elastic_length_mm": 10.0}, "fold"),
    ({"thickness_mm": float("nan")}, "finite"),
    ({"porosity_hu_std": -1.0}, ">= 0"),
    ({"porosity_length_mm": 0.0}, "> 0"),
    ({"thickness_mm": 12.0}, "thickness_mm"),
])
def test_bad_parameters_are_one_line_errors(bad, words):
    with pytest.raises(TfusInputError, match=words) as err:
        SkullAugmentation(**bad)
    assert "\n" not in str(err.value)


def test_head_without_skull_is_an_error(head3):
    from tfus.pipeline.head import HeadModel

    flat = HeadModel(hu=head3.hu, labels=np.where(bone_mask(head3.labels), 1, head3.labels).astype(np.uint8),
                     affine=head3.affine)
    with pytest.raises(TfusInputError, match="skull and brain"):
        augment_head(flat, SkullAugmentation(thickness_mm=1.0), seed=0)
