"""Shared fixtures: small synthetic heads written as image files, and the bundled/built real heads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfus.pipeline.head.phantom import ellipsoid_head
from tfus.pipeline.io.nifti import write_nifti
from tfus.pipeline.resources import built_data_dir, data_path

pytest.register_assert_rewrite("tests.helpers")  # helpers assert too: show the values when they fail
pytest_plugins = ["tests.helpers.inference_fixtures", "tests.helpers.beam_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Caches tfus writes (e.g. the free-field prior's tables) go to a per-session folder, not the user's home."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TFUS_CACHE_DIR", str(tmp_path_factory.mktemp("tfus-cache")))
    yield
    mp.undo()

CRANIUM_INV3 = Path("/usr/share/doc/invesalius-examples/examples/Cranium.inv3")


@pytest.fixture(scope="session")
def phantom_2mm():
    return ellipsoid_head(spacing_mm=2.0)


@pytest.fixture(scope="session")
def phantom_ct_file(tmp_path_factory, phantom_2mm) -> Path:
    """The phantom's HU volume as a CT NIfTI (2 mm, RAS)."""
    path = tmp_path_factory.mktemp("ct") / "phantom_ct.nii.gz"
    write_nifti(path, phantom_2mm.hu.astype(np.int16), phantom_2mm.affine)
    return path


@pytest.fixture(scope="session")
def mni_t1() -> Path:
    return data_path("heads", "mni152_t1_2mm.nii.gz")


@pytest.fixture(scope="session")
def itk_t1() -> Path:
    return data_path("heads", "itk_t1.nii.gz")


@pytest.fixture(scope="session")
def real_ct() -> Path:
    """The real head CT: built by data/setup.sh, else read straight from the Debian package."""
    built = built_data_dir() / "cranium_ct.nii.gz"
    if built.is_file():
        return built
    if CRANIUM_INV3.is_file():
        return CRANIUM_INV3
    pytest.skip("real head CT not available: run `bash data/setup.sh` (needs apt package invesalius-examples)")
