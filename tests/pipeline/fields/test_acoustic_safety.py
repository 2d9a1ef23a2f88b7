"""Acoustic safety quantities per region (Isppa, Ispta, MI, MItc, -6 dB focal volume and centroid) in situ and in
free field; values checked against the definitions computed by hand, the scaling laws and O'Neil's closed form."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields import (
    acoustic_safety,
    free_field_from_transducer,
    free_field_from_water_field,
)
from tfus.pipeline.transducers import load_transducer

SHAPE = (12, 12, 20)
F = 500e3
RHO = {0: 1000.0, 1: 1090.0, 2: 1850.0, 3: 1700.0, 4: 1040.0}  # ITRUSST media
C = {0: 1500.0, 1: 1610.0, 2: 2800.0, 3: 2300.0, 4: 1560.0}


def _layers():
    """Layers along the last axis: water, skin, cortical, trabecular, cortical, brain (1 mm voxels)."""
    labels = np.zeros(SHAPE, np.uint8)
    for label, (a, b) in zip((1, 2, 3, 2, 4), ((2, 4), (4, 5), (5, 7), (7, 8), (8, 20))):
        labels[..., a:b] = label
    rho = np.vectorize(RHO.get)(labels).astype(np.float32)
    c = np.vectorize(C.get)(labels).astype(np.float32)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = (-5.5, -5.5, 0.0)
    medium = MediumGrid(c, rho, np.zeros(SHAPE, np.float32), 2.0, affine)
    return labels, medium, affine


def _field(affine):
    """A plateau focus of 2x2x3 voxels at 8e5 Pa in the brain (voxels 5-6, 5-6, 12-14), one-voxel hot spots in bone
    (7e5), skin (3e5) and water (9e5), 2e5 Pa elsewhere (below half of every peak)."""
    amp = np.full(SHAPE, 2e5)
    amp[5:7, 5:7, 12:15] = 8e5
    amp[3, 3, 5] = 7e5          # trabecular bone
    amp[9, 9, 2] = 3e5          # skin
    amp[0, 0, 0] = 9e5          # coupling water (near field): the whole-field peak
    return SteadyStateField(amp, np.zeros(SHAPE), affine, F)


def test_regions_follow_the_definitions():
    labels, medium, affine = _layers()
    field = _field(affine)
    target = affine[:3, :3] @ np.array([5.5, 5.5, 13.0]) + affine[:3, 3]  # the plateau centre
    out = acoustic_safety(field, medium, labels, duty_cycle=0.1, target_mm=target)
    assert set(out.regions) == {"brain", "skull", "skin", "all"}
    brain = out.regions["brain"]
    assert brain.peak_pressure_pa == 8e5
    assert brain.isppa_w_cm2 == pytest.approx(8e5**2 / (2 * 1040.0 * 1560.0) / 1e4, rel=1e-6)
    assert brain.ispta_w_cm2 == pytest.approx(0.1 * brain.isppa_w_cm2, rel=1e-12)
    assert brain.mi == pytest.approx(0.8 / math.sqrt(0.5), rel=1e-12)
    # the -6 dB region is the plateau exactly (2e5 < 4e5); its centroid is the plateau centre, the target
    assert brain.focal_volume_mm3 == pytest.approx(12.0)
    assert np.allclose(brain.focal_centroid_mm, target) and brain.centroid_to_target_mm == pytest.approx(0.0)
    assert brain.peak_to_target_mm == pytest.approx(math.sqrt(0.5**2 * 2 + 1.0), rel=1e-9)  # first plateau voxel
    skull = out.regions["skull"]
    assert skull.peak_pressure_pa == 7e5 and skull.focal_volume_mm3 == 1.0
    assert skull.isppa_w_cm2 == pytest.approx(7e5**2 / (2 * 1700.0 * 2300.0) / 1e4, rel=1e-6)
    # Isppa is the largest local intensity: in the skin 3e5 Pa at 1090 x 1610 beats 2e5 Pa elsewhere
    assert out.regions["skin"].peak_pressure_pa == 3e5
    assert out.regions["all"].peak_pressure_pa == 9e5  # water counts in the whole field, not in the MItc
    assert out.mi_transcranial == pytest.approx(brain.mi) and out.mi_transcranial_region == "brain"
    assert out.target.label == 4 and out.target.pressure_pa == 8e5
    assert out.target.ispta_w_cm2 == pytest.approx(0.1 * out.target.isppa_w_cm2)
    text = json.dumps(out.to_dict(), allow_nan=False)
    assert json.loads(text)["regions"]["brain"]["focal_volume_mm3"] == 12.0


def test_the_intensity_peak_uses_local_impedance():
    """Equal pressures in brain and bone: the brain voxel (lower rho c) has the higher intensity."""
    labels, medium, affine = _layers()
    amp = np.full(SHAPE, 1e5)
    amp[2, 2, 10] = 6e5   # brain
    amp[2, 2, 6] = 6e5    # trabecular bone
    out = acoustic_safety(SteadyStateField(amp, 0 * amp, affine, F), medium, labels)
    assert out.regions["all"].isppa_w_cm2 == pytest.approx(6e5**2 / (2 * 1040.0 * 1560.0) / 1e4, rel=1e-6)
    assert out.regions["all"].ispta_w_cm2 == out.regions["all"].isppa_w_cm2  # continuous wave


@pytest.mark.parametrize("factor", [0.3, 2.5])
def test_scaling_laws_match_a_recomputation(factor):
    """Pressure and MI scale with the drive, intensities with its square; geometry does not change."""
    labels, medium, affine = _layers()
    field = _field(affine)
    ff = free_field_from_water_field(SteadyStateField(np.full((3, 3, 3), 1.2e6), np.zeros((3, 3, 3)), np.eye(4), F),
                                     0.2)
    base = acoustic_safety(field, medium, labels, duty_cycle=0.2, target_mm=(0.0, 0.0, 13.0), free_field=ff)
    again = acoustic_safety(SteadyStateField(field.amplitude * factor, field.phase, affine, F), medium, labels,
                            duty_cycle=0.2, target_mm=(0.0, 0.0, 13.0), free_field=ff.scaled(factor))
    a, b = base.scaled(factor).to_dict(), again.to_dict()
    assert a.keys() == b.keys()
    flat = lambda d, p="": [(p + k, v) for k, v in d.items() if not isinstance(v, dict)] + [  # noqa: E731
        x for k, v in d.items() if isinstance(v, dict) for x in flat(v, p + k + ".")]
    for (ka, va), (kb, vb) in zip(sorted(flat(a)), sorted(flat(b))):
        assert ka == kb
        if vb is None or isinstance(vb, str):  # no value (no target voxel in a region), or a name/unit
            assert va == vb, ka
        else:
            assert va == pytest.approx(vb, rel=1e-12), ka


def test_free_field_from_oneil_matches_the_closed_form_reference():
    """ITRUSST SC1 in water: 1.094 MPa at 61.9 mm from the apex (REFERENCE.md, O'Neil)."""
    ff = free_field_from_transducer(load_transducer("itrusst-sc1"), duty_cycle=0.5)
    assert ff.source == "oneil"
    assert ff.peak_pressure_pa == pytest.approx(1.094e6, abs=0.5e3)
    assert ff.peak_axial_mm == pytest.approx(61.9, abs=0.05)
    assert ff.isppa_w_cm2 == pytest.approx(ff.peak_pressure_pa**2 / 3e6 / 1e4, rel=1e-12)
    assert ff.ispta_w_cm2 == pytest.approx(0.5 * ff.isppa_w_cm2) and ff.mi == pytest.approx(1.094 / math.sqrt(0.5),
                                                                                              abs=1e-3)


def test_water_only_field_has_only_the_whole_field_region():
    m = MediumGrid.homogeneous((6, 6, 6), 1.0)
    amp = np.zeros(m.shape)
    amp[3, 3, 3] = 1e5
    out = acoustic_safety(SteadyStateField(amp, 0 * amp, m.affine, F), m, None)
    assert list(out.regions) == ["all"] and out.mi_transcranial is None and out.target is None


def test_bad_inputs_are_one_line_errors():
    labels, medium, affine = _layers()
    field = _field(affine)
    nan = field.amplitude.copy()
    nan[1, 1, 1] = np.nan
    with pytest.raises(TfusInputError, match="NaN"):
        acoustic_safety(SteadyStateField(nan, 0 * nan, affine, F), medium, labels)
    with pytest.raises(TfusInputError, match="labels has shape"):
        acoustic_safety(field, medium, labels[:, :, :10])
    with pytest.raises(TfusInputError, match="outside the field"):
        acoustic_safety(field, medium, labels, target_mm=(0.0, 0.0, 500.0))
    with pytest.raises(TfusInputError, match="duty cycle"):
        acoustic_safety(field, medium, labels, duty_cycle=1.5)
    with pytest.raises(TfusInputError, match="drive factor"):
        acoustic_safety(field, medium, labels).scaled(-1.0)
