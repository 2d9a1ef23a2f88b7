"""FFT-friendly padding of the k-Wave grid: sizes with prime factors <= 7, and the same field on the domain."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.engines.kwave.engine import simulate_kwave
from tfus.pipeline.engines.kwave.problem import fft_friendly
from tfus.pipeline.transducers import BowlTransducer, Pose


def _smooth(k: int) -> bool:
    for p in (2, 3, 5, 7):
        while k % p == 0:
            k //= p
    return k == 1


def test_fft_friendly_is_the_next_7_smooth_size():
    for n in range(1, 1000):
        m = fft_friendly(n)
        assert m >= n and _smooth(m) and not any(_smooth(k) for k in range(n, m))


@pytest.mark.slow
def test_padding_keeps_the_field_on_the_domain():
    """Total grid 46 x 43 x 41 (43 and 41 prime) -> 48 x 45 x 42. The two runs differ only by where the far PML sits,
    so the fields differ by what the PML reflects: k-Wave's PML (alpha 2, 10 points) reflects below -40 dB, 1 % of
    the incident amplitude."""
    medium = MediumGrid.homogeneous((26, 23, 21), 0.5, alpha_coeff=0.5)
    bowl = BowlTransducer("small", 6.0, 6.0, 1.0e6, 1.0e5)
    fields = {}
    for pad in (False, True):
        field = simulate_kwave(medium, bowl, Pose([-5.0, 0, 0], [5.0, 0, 0]),
                               KWaveConfig(pml_size=10, domain_crossings=1.0, fft_padding=pad))
        fields[pad] = field
    assert fields[False].meta["grid_shape"] == [46, 43, 41]
    assert fields[True].meta["grid_shape"] == [48, 45, 42]
    assert fields[True].amplitude.shape == medium.shape
    peak = fields[False].amplitude.max()
    assert np.abs(fields[True].amplitude - fields[False].amplitude).max() <= 0.01 * peak
