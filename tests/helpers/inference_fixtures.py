"""Fixtures shared by the surrogate and CLI tests (loaded by the root conftest's ``pytest_plugins``): one torch thread
for a module that asks for it (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``), a tiny checkpoint and
its predictor (module scope)."""

from __future__ import annotations

import pytest

from tests.helpers.inference import torch_threads, write_checkpoint
from tfus.surrogates.inference import Predictor


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for the module (tiny models: threads only add noise and contention)."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder holding a tiny DeepTFUS checkpoint (``best.pt``)."""
    return write_checkpoint(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def predictor(run_dir):
    return Predictor.from_checkpoint(run_dir)
