"""Helpers of the store tests: the tiny grid, deterministic fields and sample records."""

from __future__ import annotations

import numpy as np

from tfus.pipeline.store import SampleRecord

GRID = (6, 7, 8)


def field(seed: int, shape=GRID) -> np.ndarray:
    return np.random.default_rng(seed).uniform(1.0, 2.0, shape).astype(np.float32)


def record(i: int, head: int = 0, engine: str = "kwave", status: str = "complete") -> SampleRecord:
    return SampleRecord(index=i, head_index=head, apex=(i, 0.0, 0.0), target=(i, 0.0, 20.0), focus=(i, 0.5, 19.0),
                        engine=engine, peak_pressure_pa=1e5 + i, sim_seconds=1.5 * i, status=status)
