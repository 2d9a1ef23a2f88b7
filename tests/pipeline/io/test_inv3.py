"""InVesalius .inv3 projects: synthetic archives, every corruption case, and the real Cranium.inv3 example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.io_synth import inv3_bytes
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io import read_image, to_ras
from tfus.pipeline.io.inv3 import inv3_affine

CRANIUM = Path("/usr/share/doc/invesalius-examples/examples/Cranium.inv3")
ZYX = (10, 12, 14)  # nz, ny, nx as stored


def _matrix(dtype=np.int16) -> np.ndarray:
    return (np.arange(np.prod(ZYX)).reshape(ZYX) - 1024).astype(dtype)


def _write(tmp_path, name="p.inv3", **kwargs) -> Path:
    path = tmp_path / name
    path.write_bytes(inv3_bytes(kwargs.pop("matrix", _matrix()), **kwargs))
    return path


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.float32])
def test_synthetic_project(tmp_path, compress, dtype):
    matrix = _matrix(dtype) if dtype != np.uint8 else (_matrix() % 251).astype(np.uint8)
    vol = read_image(_write(tmp_path, matrix=matrix, spacing=(0.9, 0.8, 1.5), compress=compress))
    assert vol.shape == (14, 12, 10) and vol.data.dtype == np.float32
    np.testing.assert_array_equal(vol.data, matrix.transpose(2, 1, 0).astype(np.float32))
    assert vol.modality == "ct"
    np.testing.assert_allclose(vol.spacing_mm, (0.9, 0.8, 1.5))
    # x -> Left, y -> Anterior, z -> Superior; the volume centre sits at the world origin
    np.testing.assert_allclose(np.diag(vol.affine)[:3], (-0.9, 0.8, 1.5))
    np.testing.assert_allclose(vol.voxel_to_world((np.array(vol.shape) - 1) / 2), 0.0, atol=1e-12)
    ras = to_ras(vol)
    np.testing.assert_allclose(ras.voxel_to_world((0, 0, 0)), vol.voxel_to_world((13, 0, 0)))
    assert ras.data[0, 0, 0] == vol.data[13, 0, 0]


def test_affine_helper_centre():
    aff = inv3_affine((256, 256, 108), (0.957, 0.957, 1.5))
    np.testing.assert_allclose(aff[:3, :3] @ [127.5, 127.5, 53.5] + aff[:3, 3], 0.0, atol=1e-9)


@pytest.mark.parametrize("text, modality", [("MRI", "mr"), ("RMI", "mr"), ("CT", "ct"), ("XA", None)])
def test_modality_key(tmp_path, text, modality):
    assert read_image(_write(tmp_path, modality=text)).modality == modality


def test_main_plist_in_nested_folder_and_extra_members(tmp_path):
    vol = read_image(_write(tmp_path, folder="a/b/tmpxyz"))
    assert vol.shape == (14, 12, 10)


def _raises(path, *fragments):
    with pytest.raises(TfusInputError) as info:
        read_image(path)
    msg = str(info.value)
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg, msg


def test_not_an_archive(tmp_path):
    (tmp_path / "x.inv3").write_bytes(b"definitely not a tar file" * 40)
    _raises(tmp_path / "x.inv3", "InVesalius", "corrupt or truncated")


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_archive(tmp_path, compress, fraction):
    rng = np.random.default_rng(1)
    matrix = rng.integers(-1000, 2000, ZYX).astype(np.int16)  # incompressible enough to cut inside the matrix
    blob = inv3_bytes(matrix, compress=compress)
    end = len(blob) if compress else blob.index(matrix.tobytes()) + matrix.nbytes  # a plain tar ends in zero padding
    (tmp_path / "t.inv3").write_bytes(blob[: int(end * fraction)])
    _raises(tmp_path / "t.inv3", "t.inv3")


def test_matrix_size_mismatch(tmp_path):
    _raises(_write(tmp_path, matrix_bytes=b"\x00" * 100), "truncated", "needs 3360")


def test_missing_main_plist_and_matrix(tmp_path):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("tmp/other.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    (tmp_path / "n.inv3").write_bytes(buf.getvalue())
    _raises(tmp_path / "n.inv3", "no main.plist")
    bad = {"matrix": {"dtype": "int16", "filename": "elsewhere.dat", "shape": list(ZYX)}}
    _raises(_write(tmp_path, main_overrides=bad), "no image matrix")


@pytest.mark.parametrize("override, fragment", [
    ({"matrix": {"dtype": "int16", "shape": [10, 12, 14]}}, "'matrix'"),
    ({"matrix": {"dtype": "int16", "filename": "matrix.dat", "shape": [10, 12]}}, "shape"),
    ({"matrix": {"dtype": "object", "filename": "matrix.dat", "shape": [10, 12, 14]}}, "dtype"),
    ({"spacing": [1.0, 0.0, 1.0]}, "spacing"),
    ({"spacing": "1mm"}, "spacing"),
    ({"matrix": {"dtype": "int16", "filename": "matrix.dat", "shape": [100000, 100000, 100000]}}, "limit"),
])
def test_invalid_main_plist_fields(tmp_path, override, fragment):
    _raises(_write(tmp_path, main_overrides=override), fragment)


def test_main_plist_not_a_plist(tmp_path):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("tmp/main.plist")
        info.size = 9
        tar.addfile(info, io.BytesIO(b"<plist><x"))
    (tmp_path / "b.inv3").write_bytes(buf.getvalue())
    _raises(tmp_path / "b.inv3", "main.plist", "property list")


# ---------------------------------------------------------------- the real InVesalius example


def _head_mask(hu: np.ndarray) -> np.ndarray:
    """Largest connected soft-tissue-or-denser component (drops the CT head rest), holes filled per axial slice."""
    from scipy import ndimage

    labels, n = ndimage.label(hu > -300)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    head = labels == (1 + int(np.argmax(sizes)))
    return np.stack([ndimage.binary_fill_holes(head[:, :, k]) for k in range(head.shape[2])], axis=2)


@pytest.mark.slow
def test_real_cranium_orientation():
    if not CRANIUM.is_file():
        pytest.skip(f"{CRANIUM} not installed (Debian package invesalius-examples)")
    vol = read_image(CRANIUM)
    assert vol.modality == "ct"
    assert vol.shape == (256, 256, 108)
    np.testing.assert_allclose(vol.spacing_mm, (0.9570312, 0.9570312, 1.5), rtol=1e-6)
    assert -1100 <= vol.data.min() <= -1000 and 2500 <= vol.data.max() <= 3100
    ras = to_ras(vol)
    assert sorted(ras.shape) == [108, 256, 256]
    assert np.all(np.diag(ras.affine)[:3] > 0) and np.count_nonzero(ras.affine[:3, :3]) == 3  # axes run R, A, S

    head = _head_mask(ras.data)
    ijk = np.argwhere(head)
    head_centroid = ras.voxel_to_world(ijk.mean(axis=0))
    # Anterior: the air inside the head (nasal cavity, paranasal sinuses, pharynx) lies in front of the head's
    # centroid; with the A axis reversed it would be ~50 mm behind it.
    air = np.argwhere(head & (ras.data < -400))
    air_centroid = ras.voxel_to_world(air.mean(axis=0))
    assert air_centroid[1] - head_centroid[1] > 20.0, (air_centroid, head_centroid)
    # The nose tip sticks out further in front of the centroid than the occiput does behind it (~123 vs ~99 mm),
    # and it sits low in the scan (below the centroid).
    front = ras.voxel_to_world(ijk[np.argmax(ijk[:, 1])])
    back = ras.voxel_to_world(ijk[np.argmin(ijk[:, 1])])
    assert (front[1] - head_centroid[1]) - (head_centroid[1] - back[1]) > 10.0, (front, back, head_centroid)
    assert front[2] < head_centroid[2] - 15.0, (front, head_centroid)
    # Superior: the head narrows to the vertex at the top (+S) of the scan; the bottom slices (maxilla) are wide.
    area = head.sum(axis=(0, 1)).astype(float)
    assert area[-7:].mean() < 0.5 * area.max(), area
    assert area[:7].mean() > 0.75 * area.max(), area
