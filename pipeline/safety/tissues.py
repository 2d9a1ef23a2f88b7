"""Thermal properties of the head tissues for the Pennes bioheat equation, per label of a head model.

Values are the IT'IS Foundation tissue-property database (v4.1, Hasgall et al., 2022, doi 10.13099/VIP21000-04-1), the
same table BabelBrain and PRESTUS use: density rho, specific heat c, thermal conductivity k and the blood perfusion
rate (ml of blood per minute per kg of tissue). Blood: 1050 kg/m^3, 3617 J/(kg K) (IT'IS "Blood"). Coupling water
(label 0, background: the water bath of the simulation) has no perfusion.

The perfusion term of Pennes' equation is ``w_b c_b (T - T_a)`` with ``w_b c_b`` in W/(m^3 K)::

    w_b c_b = rho_blood * c_blood * (perfusion_ml_min_kg * 1e-6 / 60) * rho_tissue

Example:
    >>> from tfus.pipeline.safety.tissues import THERMAL_TISSUES
    >>> brain = THERMAL_TISSUES[4]
    >>> brain.name, round(brain.perfusion_w_m3_k), round(brain.perfusion_length_m * 1e3, 2)
    ('brain', 37011, 3.71)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfus.pipeline.errors import TfusInputError

__all__ = ["BLOOD_DENSITY", "BLOOD_SPECIFIC_HEAT", "THERMAL_TISSUES", "ThermalTissue", "tissue_maps"]

#: Blood density [kg/m^3] and specific heat [J/(kg K)] (IT'IS v4.1 "Blood").
BLOOD_DENSITY = 1050.0
BLOOD_SPECIFIC_HEAT = 3617.0


@dataclass(frozen=True)
class ThermalTissue:
    """Thermal properties of one tissue.

    Attributes:
        name: tissue name.
        density: rho [kg/m^3].
        specific_heat: c [J/(kg K)].
        conductivity: k [W/(m K)].
        perfusion_ml_min_kg: blood perfusion [ml/(min kg)].
    """

    name: str
    density: float
    specific_heat: float
    conductivity: float
    perfusion_ml_min_kg: float

    @property
    def heat_capacity(self) -> float:
        """Volumetric heat capacity rho c [J/(m^3 K)]."""
        return self.density * self.specific_heat

    @property
    def perfusion_w_m3_k(self) -> float:
        """Perfusion coefficient w_b c_b [W/(m^3 K)] of Pennes' equation."""
        return BLOOD_DENSITY * BLOOD_SPECIFIC_HEAT * self.perfusion_ml_min_kg * 1e-6 / 60.0 * self.density

    @property
    def diffusivity(self) -> float:
        """Thermal diffusivity k / (rho c) [m^2/s]."""
        return self.conductivity / self.heat_capacity

    @property
    def perfusion_length_m(self) -> float:
        """sqrt(k / (w_b c_b)) [m]: how far heat spreads before perfusion carries it away (inf without perfusion)."""
        return math.sqrt(self.conductivity / self.perfusion_w_m3_k) if self.perfusion_ml_min_kg > 0 else math.inf


#: Thermal properties by head-model label (:class:`tfus.pipeline.head.labels.Label` values), IT'IS v4.1.
THERMAL_TISSUES: dict[int, ThermalTissue] = {
    0: ThermalTissue("water", 994.0, 4178.0, 0.60, 0.0),  # coupling water (IT'IS "Water")
    1: ThermalTissue("skin", 1109.0, 3391.0, 0.37, 106.0),  # scalp as skin (IT'IS "Skin")
    2: ThermalTissue("skull_cortical", 1908.0, 1313.0, 0.32, 10.0),  # IT'IS "Bone (Cortical)"
    3: ThermalTissue("skull_trabecular", 1178.0, 2274.0, 0.31, 30.0),  # IT'IS "Bone (Cancellous)"
    4: ThermalTissue("brain", 1046.0, 3630.0, 0.51, 559.0),  # IT'IS "Brain" (grey + white average)
}


def tissue_maps(labels: np.ndarray,
                tissues: dict[int, ThermalTissue] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxel maps (heat capacity rho c, conductivity k, perfusion w_b c_b) for a label volume, float64.

    Raises:
        TfusInputError: a label without thermal properties.

    Example:
        >>> import numpy as np
        >>> cap, k, perf = tissue_maps(np.array([0, 4]))
        >>> k.tolist(), float(perf[0])
        ([0.6, 0.51], 0.0)
    """
    tissues = THERMAL_TISSUES if tissues is None else tissues
    labels = np.asarray(labels)
    unknown = sorted(set(np.unique(labels).tolist()) - set(tissues))
    if unknown:
        raise TfusInputError(f"labels {unknown} have no thermal properties; use labels {sorted(tissues)} "
                             "(tfus.pipeline.head.labels.Label)")
    lut = np.zeros((3, max(tissues) + 1))
    for label, t in tissues.items():
        lut[:, label] = (t.heat_capacity, t.conductivity, t.perfusion_w_m3_k)
    idx = labels.astype(np.intp)
    return lut[0][idx], lut[1][idx], lut[2][idx]
