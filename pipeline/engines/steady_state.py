"""Steady-state amplitude and phase of a continuous wave by a single-frequency DFT accumulated over the last periods.

Memory is O(N): two running sums (real and imaginary) the size of the field, never the time series. With the time step
chosen so that a period holds an integer number of steps, the DFT over whole periods is exact for the driving
frequency and rejects its harmonics and any DC offset.

Example:
    >>> import numpy as np
    >>> f, ppp = 1e6, 20
    >>> acc = DFTAccumulator((2,), frequency_hz=f, dt=1 / (f * ppp))
    >>> for n in range(3 * ppp):
    ...     t = n / (f * ppp)
    ...     acc.add(np.array([2.0, 0.5]) * np.cos(2 * np.pi * f * t + 0.3), t)
    >>> amp, phase = acc.result()
    >>> np.round(amp, 6).tolist(), round(float(phase[0]), 6)
    ([2.0, 0.5], 0.3)
"""

from __future__ import annotations

import numpy as np


class DFTAccumulator:
    """Accumulates ``sum_n p(t_n) exp(-i w t_n)`` for fields ``p`` of a fixed shape (NumPy or CuPy arrays)."""

    def __init__(self, shape: tuple[int, ...], frequency_hz: float, dt: float, xp=np, dtype=np.float32) -> None:
        self.omega = 2.0 * np.pi * float(frequency_hz)
        self.dt = float(dt)
        self.xp = xp
        self.re = xp.zeros(shape, dtype=dtype)
        self.im = xp.zeros(shape, dtype=dtype)
        self.count = 0

    def add(self, p, t: float) -> None:
        """Add the field ``p`` sampled at time ``t`` (s)."""
        c, s = np.cos(self.omega * t), np.sin(self.omega * t)
        self.re += p * np.float32(c) if self.re.dtype == np.float32 else p * c
        self.im -= p * np.float32(s) if self.im.dtype == np.float32 else p * s
        self.count += 1

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Amplitude (same units as ``p``) and phase (rad, cosine convention) as NumPy arrays."""
        if self.count == 0:
            raise RuntimeError("no samples accumulated")
        z = (self.re + 1j * self.im) * (2.0 / self.count)
        amp, phase = self.xp.abs(z), self.xp.angle(z)
        if self.xp is not np:
            amp, phase = amp.get(), phase.get()
        return np.asarray(amp, np.float32), np.asarray(phase, np.float32)
