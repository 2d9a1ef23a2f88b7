"""T1 pseudo-CT on the bundled real T1 volumes: the skull must land in the published adult range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.build import HeadBuildConfig, build_head
from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.measures import measure_head
from tfus.pipeline.head.pseudo_ct import PSEUDO_CT_HU, segment_t1


@pytest.mark.parametrize("image", ["mni_t1", "itk_t1"])
def test_bundled_t1_skull_in_adult_range(image, request):
    head = build_head(request.getfixturevalue(image), HeadBuildConfig(modality="auto", spacing_mm=2.0))
    assert head.meta["modality"] == "t1"
    m = measure_head(head)
    # adult cranial vault: 4-10 mm thick (REFERENCE / anatomy); brain + CSF 1.1-2.1 l; skull 0.3-1.2 l
    assert 4.0 <= m["skull_thickness_mm"] <= 10.0
    assert 1100 <= m["brain_volume_ml"] <= 2100
    assert 250 <= m["skull_volume_ml"] <= 1200
    # every label present, HU as documented
    for lab in Label:
        assert (head.labels == lab).any(), lab
        assert np.all(head.hu[head.labels == lab] == PSEUDO_CT_HU[int(lab)])


COLIN27_T1 = Path("/usr/share/mricron/templates/ch2.nii.gz")


@pytest.mark.slow
@pytest.mark.parametrize("image", ["mni_t1", "itk_t1", "colin27"])
def test_t1_skull_at_1mm_in_adult_range(image, request):
    """At the simulation spacing (1 mm) the pseudo-CT skull must match an adult cranium: neither scalp nor face counted
    as bone (the real head CT here measures 569 ml, median 7.25 mm, p90 9.25 mm)."""
    if image == "colin27":
        if not COLIN27_T1.is_file():
            pytest.skip("Colin27 T1 not available (apt package mricron)")
        path = COLIN27_T1
    else:
        path = request.getfixturevalue(image)
    head = build_head(path, HeadBuildConfig(modality="t1", spacing_mm=1.0))
    m = measure_head(head)
    assert 4.0 <= m["skull_thickness_mm"] <= 10.0
    assert m["skull_thickness_p10_p90_mm"][1] <= 12.0
    assert 1100 <= m["brain_volume_ml"] <= 2100
    assert 300 <= m["skull_volume_ml"] <= 800


def test_skull_covers_the_vertex(mni_t1):
    """Walking down from the top of the head along the midline we meet scalp, then bone, then brain."""
    head = build_head(mni_t1, HeadBuildConfig(spacing_mm=2.0))
    i, j, _ = head.world_to_voxel(np.array([0.0, -20.0, 0.0])).round().astype(int)
    column = head.labels[i, j, ::-1]
    column = column[column != Label.BACKGROUND]
    order = [int(v) for k, v in enumerate(column) if k == 0 or v != column[k - 1]]
    assert order[0] == Label.SCALP
    assert order[1] in (Label.CORTICAL, Label.TRABECULAR)
    assert Label.BRAIN in order


def test_skull_stripped_t1_is_refused(mni_t1):
    import nibabel as nib

    img = nib.load(str(mni_t1))
    t1 = img.get_fdata(dtype=np.float32)
    from tfus.pipeline.resources import data_path

    brain = np.asarray(nib.load(str(data_path("heads", "mni152_t1_2mm_brain_mask.nii.gz"))).dataobj) > 0
    stripped = np.where(brain, t1, 0).astype(np.float32)
    affine = nib.as_closest_canonical(img).affine
    stripped = np.asarray(nib.as_closest_canonical(nib.Nifti1Image(stripped, img.affine)).dataobj, np.float32)
    with pytest.raises(TfusInputError, match="skull"):
        segment_t1(stripped, affine)
