"""The bowl's water field in its beam box is the same for every pose (the exact beam-frame prior) and is cached."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.beam import BeamBox, water_field
from tfus.pipeline.beam.water import water_field_key
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.engines.run import SimulationRequest, run_simulation
from tfus.pipeline.transducers import BowlTransducer, Pose

BOWL = BowlTransducer("small", 10.0, 10.0, 5.0e5, 1.0e5)
BOX = BeamBox(lateral_margin_mm=2.0, behind_mm=1.0, beyond_focus_mm=3.0)
KW = KWaveConfig(pml_size=8, domain_crossings=0.6)


@pytest.fixture()
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TFUS_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_same_field_for_an_oblique_pose_and_cached(cache):
    amp = water_field(BOWL, 0.75, BOX, KW)
    axis = np.array([2.0, -1.0, 2.0]) / 3.0
    pose = Pose([10.0, 5.0, -3.0], [10.0, 5.0, -3.0] + 20 * axis)
    oblique = run_simulation(SimulationRequest(transducer=BOWL, pose=pose, spacing_mm=0.75, frame="beam", box=BOX,
                                               kwave=KW)).field.amplitude
    assert amp.shape == oblique.shape
    # the same discretisation up to the round-off of rotating the source positions (float32 fields)
    assert np.abs(amp - oblique).max() <= 1e-4 * amp.max()
    files = list(cache.glob("beam-water-*.npy"))
    assert len(files) == 1
    files[0].write_bytes(np.load(files[0]).astype(np.float32).tobytes()[:10])  # corrupt: recomputed, not an error
    np.testing.assert_array_equal(water_field(BOWL, 0.75, BOX, KW), amp)


def test_key_follows_the_physics_not_the_name():
    renamed = BowlTransducer("other-name", 10.0, 10.0, 5.0e5, 1.0e5)
    assert water_field_key(BOWL, 0.75, BOX, KW) == water_field_key(renamed, 0.75, BOX, KW)
    faster = BowlTransducer("small", 10.0, 10.0, 6.0e5, 1.0e5)
    assert water_field_key(BOWL, 0.75, BOX, KW) != water_field_key(faster, 0.75, BOX, KW)
    assert water_field_key(BOWL, 0.75, BOX, KW) != water_field_key(BOWL, 0.5, BOX, KW)
