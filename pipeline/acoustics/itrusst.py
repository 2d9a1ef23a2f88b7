"""The ``itrusst`` mapping: one set of constants per tissue label, from the ITRUSST transcranial benchmark.

Source: Aubry et al., "Benchmark problems for transcranial ultrasound simulation: Intercomparison of compressional
wave models", J. Acoust. Soc. Am. 152(2):1003-1019, 2022 (doi:10.1121/10.0013426), media at 500 kHz:

========== ============= ================ =====================
label      c [m/s]       rho [kg/m^3]     absorption at 500 kHz
========== ============= ================ =====================
BACKGROUND 1500 (water)  1000             0 dB/cm
SCALP      1610 (skin)   1090             0.2 dB/cm
CORTICAL   2800          1850             4 dB/cm
TRABECULAR 2300          1700             8 dB/cm
BRAIN      1560          1040             0.3 dB/cm
========== ============= ================ =====================

The benchmark gives absorption only at 500 kHz; it is stored with exponent y = 2 as
``alpha_coeff = alpha_500kHz / 0.5**2`` [dB/(MHz^2 cm)] (y = 2: no k-Wave dispersion, so c is exact; see
:mod:`tfus.pipeline.acoustics.properties`). Labels are required; HU only mark air (HU < -200 -> coupling water, as in
every mapping; HU are clipped to [-1000, 3000]).

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics.itrusst import itrusst_properties
    >>> props = itrusst_properties(np.zeros(2), np.array([2, 4]))
    >>> props.sound_speed.tolist(), [round(float(a), 6) for a in props.absorption_db_cm(500e3)]
    ([2800.0, 1560.0], [4.0, 0.3])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tfus.pipeline.acoustics.hu import assemble, prepare_hu
from tfus.pipeline.acoustics.properties import (
    DEFAULT_ALPHA_POWER,
    WATER_ALPHA_DB_CM,
    WATER_DENSITY,
    WATER_SOUND_SPEED,
    AcousticProperties,
)
from tfus.pipeline.head.labels import Label

__all__ = ["ITRUSST_FREQUENCY_HZ", "ITRUSST_MEDIA", "Medium", "itrusst_properties"]

#: Frequency [Hz] at which the ITRUSST absorption values are specified.
ITRUSST_FREQUENCY_HZ = 500e3


class Medium(NamedTuple):
    """Homogeneous medium: sound speed [m/s], density [kg/m^3], absorption [dB/cm] at a stated frequency."""

    sound_speed: float
    density: float
    alpha_db_cm: float


#: ITRUSST benchmark media per label (absorption at :data:`ITRUSST_FREQUENCY_HZ`).
ITRUSST_MEDIA: dict[Label, Medium] = {
    Label.BACKGROUND: Medium(WATER_SOUND_SPEED, WATER_DENSITY, WATER_ALPHA_DB_CM),
    Label.SCALP: Medium(1610.0, 1090.0, 0.2),
    Label.CORTICAL: Medium(2800.0, 1850.0, 4.0),
    Label.TRABECULAR: Medium(2300.0, 1700.0, 8.0),
    Label.BRAIN: Medium(1560.0, 1040.0, 0.3),
}


def itrusst_properties(hu: np.ndarray, labels: np.ndarray | None) -> AcousticProperties:
    """Assign the ITRUSST benchmark constants per label.

    Args:
        hu: CT in Hounsfield units (only used to find air); pass zeros when there is no CT.
        labels: tissue labels (:class:`tfus.pipeline.head.labels.Label`), same shape; required.

    Returns:
        float32 :class:`AcousticProperties` with ``alpha_power`` 2 and ``mapping`` "itrusst".

    Raises:
        TfusInputError: labels missing, of another shape or with unknown values; invalid CT.
    """
    image = prepare_hu(hu, labels, mapping="itrusst", require_labels=True)
    f_mhz = ITRUSST_FREQUENCY_HZ / 1e6
    size = len(Label)
    table = np.zeros((3, size), np.float32)
    for label, medium in ITRUSST_MEDIA.items():
        table[:, int(label)] = (medium.sound_speed, medium.density, medium.alpha_db_cm / f_mhz**DEFAULT_ALPHA_POWER)
    sound_speed, density, alpha = (row[image.labels] for row in table)  # labels are 0..4, validated
    return assemble(image, sound_speed, density, alpha, "itrusst")
