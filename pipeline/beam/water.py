"""The bowl's field in water in its beam box: one k-Wave run per transducer, box and engine settings, cached on disk.

In the beam frame the bowl always sits at the same grid position pointing along ``+k``, so its water field in box
coordinates is the same for every pose: computed once, it is the exact physics prior of the beam-frame surrogates
(the same discretisation as their training fields), not an approximation of it.

Example:
    >>> # water_field(load_transducer("neurofus-ctx250"), 1.5)  # ~1 min once per machine, then milliseconds
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np

from tfus.pipeline.beam.frame import BeamBox
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.transducers import BowlTransducer, Pose

#: the canonical pose of the cached run (any pose gives the same box field)
CANONICAL_POSE = Pose([0.0, 0.0, 0.0], [0.0, 0.0, 1.0])


def water_field_key(transducer: BowlTransducer, spacing_mm: float, box: BeamBox, kwave: KWaveConfig) -> str:
    """A short hash of everything the water field depends on."""
    physics = {k: v for k, v in transducer.to_dict().items() if k not in ("name", "description", "source")}
    record = {"transducer": physics, "spacing_mm": float(spacing_mm), "box": asdict(box),
              "kwave": {k: v for k, v in kwave.__dict__.items() if k not in ("device", "binary", "snapshots")}}
    return hashlib.sha1(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:16]


def water_field(transducer: BowlTransducer, spacing_mm: float, box: BeamBox = BeamBox(),
                kwave: KWaveConfig | None = None, *, cache: bool = True) -> np.ndarray:
    """Steady-state amplitude (Pa) of ``transducer`` in water on its beam box, float32 ``frame.shape``.

    Args:
        transducer: the bowl (its ``frequency_hz`` is the driving frequency).
        spacing_mm: the box's grid spacing.
        box: the box extents.
        kwave: engine settings (default ``KWaveConfig()``; the device does not change the field).
        cache: read/write ``<cache_dir>/beam-water-<hash>.npy`` (:func:`tfus.pipeline.resources.cache_dir`).
    """
    from tfus.pipeline.engines.run import SimulationRequest, run_simulation
    from tfus.pipeline.resources import cached_array

    kwave = kwave or KWaveConfig()

    def simulate() -> np.ndarray:
        res = run_simulation(SimulationRequest(transducer=transducer, pose=CANONICAL_POSE, spacing_mm=spacing_mm,
                                               frame="beam", box=box, kwave=kwave))
        return np.asarray(res.field.amplitude, np.float32)

    if not cache:
        return simulate()
    name = f"beam-water-{water_field_key(transducer, spacing_mm, box, kwave)}"
    return cached_array(name, simulate, ndim=3).astype(np.float32)
