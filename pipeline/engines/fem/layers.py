"""Absorbing layers added outside the medium grid: a damping sponge (time domain) and a PML (frequency domain).

Both use a quadratic profile in the depth ``d`` into the layer (thickness ``L``), summed over the absorbing axes:

* sponge: ``sigma(x) = sigma_max sum_a (d_a / L)^2`` adds ``(1/(rho c^2)) sigma p_t`` to the wave equation; a slow
  wave crossing the layer and back is damped by ``exp(-sigma_max L / (3 c))``, which sets ``sigma_max`` from the design
  reflection. (Not reflectionless: its impedance gradient and the finite sigma / omega reflect too; the first-order
  absorbing boundary behind it takes what is left.)
* PML (complex coordinate stretching, ``exp(+i w t)``): ``s_a(x_a) = 1 - i sigma_a(x_a) / w`` with ``sigma_a =
  sigma_max (d_a / L)^2``; the continuous layer reflects ``exp(-2 sigma_max L / (3 c))`` at normal incidence.

``c`` is one reference speed (the largest in the medium) so that each stretch depends on its own coordinate only.

Example:
    >>> import numpy as np
    >>> lay = Layers(lower=np.array([2.0]), upper=np.array([8.0]), width=np.array([2.0]), axes=(0,))
    >>> lay.depth(np.array([[0.0, 1.0, 5.0, 9.0]])).tolist()
    [[1.0, 0.5, 0.0, 0.5]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfus.pipeline.engines.fem.mesh import GridMesh


@dataclass(frozen=True, eq=False)
class Layers:
    """Inner box ``[lower, upper]`` (metres, per axis), layer ``width`` per axis and the absorbing ``axes``."""

    lower: np.ndarray
    upper: np.ndarray
    width: np.ndarray
    axes: tuple[int, ...]

    @classmethod
    def of(cls, gm: GridMesh, axes) -> Layers:
        pad = np.array(gm.pad, float)
        upper = (np.array(gm.shape) - 1 - pad) * gm.spacing_m
        return cls(pad * gm.spacing_m, upper, pad * gm.spacing_m, tuple(a for a in axes if gm.pad[a] > 0))

    def depth(self, x: np.ndarray) -> np.ndarray:
        """Relative depth ``d_a / L`` in [0, 1] per axis (0 outside the layer and on non-absorbing axes); ``x`` has
        the axis first."""
        out = np.zeros(x.shape, float)
        for a in self.axes:
            d = np.maximum(np.maximum(self.lower[a] - x[a], x[a] - self.upper[a]), 0.0)
            out[a] = d / self.width[a]
        return out

    def sponge(self, x: np.ndarray, sound_speed: float, reflection: float) -> np.ndarray:
        """Damping rate sigma (1/s) at points ``x`` (axis first)."""
        if not self.axes:
            return np.zeros(x.shape[1:])
        sig = np.zeros(x.shape[1:])
        depth = self.depth(x)
        for a in self.axes:
            sig += 3.0 * sound_speed * np.log(1.0 / reflection) / self.width[a] * depth[a] ** 2
        return sig

    def stretch(self, omega: float, sound_speed: float, reflection: float):
        """The function ``x -> s`` (complex, shape of ``x``) of the PML coordinate stretch."""
        sig_max = np.zeros(len(self.width))
        for a in self.axes:
            sig_max[a] = 1.5 * sound_speed * np.log(1.0 / reflection) / self.width[a]

        def s(x: np.ndarray) -> np.ndarray:
            depth = self.depth(x)
            shape = (-1,) + (1,) * (x.ndim - 1)
            return 1.0 - 1j * sig_max.reshape(shape) / omega * depth**2

        return s


def layer_cells(width_wavelengths: float, wavelength_m: float, spacing_m: float) -> int:
    """Cells for a layer of ``width_wavelengths`` wavelengths (0 -> no layer, else at least 2 cells)."""
    if width_wavelengths <= 0:
        return 0
    return max(2, int(np.ceil(width_wavelengths * wavelength_m / spacing_m - 1e-9)))
