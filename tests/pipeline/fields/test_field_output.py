"""Field files: NIfTI round trip (data and affine), PNG overlays in 3D (with a head) and 2D, atomic writes."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields.output import save_field_png, write_field
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.validation.itrusst import itrusst_medium

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _field(ndim=3):
    b = itrusst_medium(6, 2.0, ndim=ndim, lateral_half_width_mm=12.0)
    x = b.medium.index_to_world(np.indices(b.medium.shape).reshape(ndim, -1).T)[:, 0].reshape(b.medium.shape)
    amp = (2e5 * np.exp(-((x - 55.0) ** 2) / 50.0)).astype(np.float32)
    return b, SteadyStateField(amp, np.zeros_like(amp), b.medium.affine, 5e5)


def test_nifti_round_trip(tmp_path):
    b, f = _field()
    affine = f.affine.copy()
    affine[:3, :3] = affine[:3, :3] @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])  # rotated grids too
    write_field(tmp_path / "p.nii.gz", f.amplitude.astype(np.float64), affine)
    img = nib.load(str(tmp_path / "p.nii.gz"))
    assert img.get_data_dtype() == np.float32
    np.testing.assert_allclose(img.affine, affine, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(img.dataobj), f.amplitude)
    assert [p.name for p in tmp_path.iterdir()] == ["p.nii.gz"]  # no temporary left behind


def test_nifti_2d(tmp_path):
    _, f = _field(ndim=2)
    write_field(tmp_path / "p2.nii", f.amplitude, f.affine)
    img = nib.load(str(tmp_path / "p2.nii"))
    assert img.shape == f.amplitude.shape + (1,)
    np.testing.assert_allclose(img.affine[:2, [0, 1, 3]], f.affine[:2])
    with pytest.raises(TfusInputError):
        write_field(tmp_path / "bad.nii.gz", np.zeros((2, 2, 2)), np.eye(3))


def test_png_with_head_and_markers(tmp_path):
    b, f = _field()
    head = HeadModel(hu=np.where(np.isin(b.labels, [2, 3]), 1200.0, 40.0).astype(np.float32),
                     labels=b.labels, affine=b.medium.affine)
    out = tmp_path / "p.png"
    save_field_png(out, f, head=head, transducer=b.transducer, pose=b.pose, focus_mm=[56.0, 0.0, 0.0])
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 10_000
    save_field_png(tmp_path / "labels_only.png", f, labels=b.labels, title="labels")
    assert (tmp_path / "labels_only.png").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels_only.png", "p.png"]
    with pytest.raises(TfusInputError):
        save_field_png(tmp_path / "bad.png", f, labels=b.labels[:-1])


def test_png_2d_field_in_mpa(tmp_path):
    b, f = _field(ndim=2)
    strong = SteadyStateField(f.amplitude * 10, f.phase, f.affine, f.frequency_hz)
    save_field_png(tmp_path / "p2.png", strong, transducer=b.transducer, pose=b.pose)
    assert (tmp_path / "p2.png").read_bytes()[:8] == PNG_MAGIC


def test_write_field_outputs_writes_the_set_with_numeric_json(tmp_path):
    import json

    from tfus.pipeline.fields.output import write_field_outputs

    _, field = _field()
    record = {"metrics": {"peak_pressure_pa": np.float32(2.5e5), "n": np.int64(3), "focus_mm": np.array([1.0, 2.0])},
              "request": {"head": tmp_path}, "time_resolved": {"n_snapshots": 2}}
    snaps = np.stack([field.amplitude, -field.amplitude])
    written = write_field_outputs(tmp_path / "f.nii.gz", field, record, phase=tmp_path / "ph.nii.gz",
                                  snapshots=snaps, snapshot_times_s=np.array([1e-6, 2e-6]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "f.nii.gz", "f.png", "f_snapshots.nii.gz",
                                                          "ph.nii.gz"]
    saved = json.loads(written.json.read_text())
    assert saved["metrics"] == {"peak_pressure_pa": 250000.0, "n": 3, "focus_mm": [1.0, 2.0]}
    assert isinstance(saved["metrics"]["peak_pressure_pa"], float) and saved["request"]["head"] == str(tmp_path)
    assert list(saved["time_resolved"]) == ["snapshots_file", "n_snapshots"]
    assert saved["time_resolved"]["snapshots_file"] == str(tmp_path / "f_snapshots.nii.gz") == str(written.snapshots)
    assert nib.load(str(written.snapshots)).shape == (*field.amplitude.shape, 2)
    assert "time_resolved" not in record or "snapshots_file" not in record["time_resolved"]  # caller's dict kept


def test_write_json_record_leaves_nothing_on_error(tmp_path):
    from tfus.pipeline.fields.output import write_json_record

    class Unserialisable:
        def __str__(self):
            raise ValueError("cannot be written")

    with pytest.raises(ValueError):
        write_json_record(tmp_path / "r.json", {"x": Unserialisable()})
    assert list(tmp_path.iterdir()) == []
