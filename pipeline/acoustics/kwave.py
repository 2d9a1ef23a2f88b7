"""The ``kwave`` mapping: k-Wave's own CT relations for density and sound speed, constant absorption per tissue.

Source: k-Wave (Treeby & Cox) as shipped in k-wave-python 0.6.2, ``kwave.utils.conversion``:

* density [kg/m^3] = ``hounsfield2density(HU + 1000)`` — a four-segment piecewise-linear fit to the
  Schneider et al. (Phys. Med. Biol. 41:111, 1996) tissue data. The function expects CT numbers with water at 1000
  (HU + 1000); e.g. ``rho = 0.9083 * (HU + 1000) + 103.6`` for soft tissue (930 <= HU + 1000 <= 1098), so water
  (HU 0) maps to 1011.9 kg/m^3, ~1 % above 1000: the fit's own error, kept as is.
* sound speed [m/s] = ``hounsfield2soundspeed(HU + 1000)`` = ``(rho + 349) / 0.893`` (Mast, ARLO 1(2):37, 2000; a
  soft-tissue relation that k-Wave applies to every voxel, giving e.g. 3749 m/s at the 3000 HU clip).
* absorption, exponent y = 2 (:data:`tfus.pipeline.acoustics.properties.DEFAULT_ALPHA_POWER`):

  - bone: :data:`SKULL_ALPHA_COEFF` = 13.3 dB/(MHz^2 cm), uniform — k-Wave's ``skull2medium`` default ("whole skull
    attenuation at 1 MHz", Pinton et al., Med. Phys. 39:299, 2012) with its exponent 2: 3.3 dB/cm at 500 kHz;
  - other tissue: :data:`SOFT_TISSUE_ALPHA_COEFF` = 0.59 dB/(MHz^1.2 cm) (brain, IT'IS database v4.0, as in
    ``skull2medium``) re-expressed at y = 2 with the absorption at 500 kHz kept (0.257 dB/cm), i.e.
    1.027 dB/(MHz^2 cm) — what ``skull2medium`` does with ``fitPowerLawParamsMulti`` at its reference frequency.

  y = 2 because k-Wave cannot use y = 1 with dispersion, and at y = 2 it adds no dispersion at all (see
  :mod:`tfus.pipeline.acoustics.properties`).

Bone is labels CORTICAL/TRABECULAR, or HU >= 300 without labels; air (HU < -200) and background become coupling water;
HU are clipped to [-1000, 3000] (see :mod:`tfus.pipeline.acoustics.hu`).

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics.kwave import kwave_properties
    >>> props = kwave_properties(np.array([-1000.0, 0.0, 1000.0]), None)
    >>> [round(float(v), 1) for v in props.density]
    [1000.0, 1011.9, 1673.9]
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.acoustics.hu import assemble, prepare_hu
from tfus.pipeline.acoustics.properties import (
    DEFAULT_ALPHA_POWER,
    REFERENCE_FREQUENCY_HZ,
    AcousticProperties,
    convert_alpha_coeff,
)
from tfus.pipeline.kwave_compat import import_kwave_submodule

__all__ = ["SKULL_ALPHA_COEFF", "SOFT_TISSUE_ALPHA_COEFF", "SOFT_TISSUE_ALPHA_POWER", "kwave_properties"]

#: Uniform skull absorption prefactor [dB/(MHz^2 cm)] (k-Wave skull2medium default, Pinton 2012).
SKULL_ALPHA_COEFF = 13.3
#: Soft tissue (brain) absorption [dB/(MHz^1.2 cm)], IT'IS v4.0 via k-Wave skull2medium; converted to y = 2.
SOFT_TISSUE_ALPHA_COEFF = 0.59
SOFT_TISSUE_ALPHA_POWER = 1.2


def kwave_properties(hu: np.ndarray, labels: np.ndarray | None = None) -> AcousticProperties:
    """Map a CT to acoustic properties with k-Wave's ``hounsfield2density`` / ``hounsfield2soundspeed``.

    Args:
        hu: CT in Hounsfield units (water 0), any shape.
        labels: optional tissue labels; when given they define the bone (CORTICAL, TRABECULAR) and the background.

    Returns:
        float32 :class:`AcousticProperties` with ``alpha_power`` 2 and ``mapping`` "kwave".

    Raises:
        TfusInputError: invalid CT or labels.

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.acoustics.kwave import kwave_properties
        >>> round(float(kwave_properties(np.array([1000.0]), None).alpha_coeff[0]), 1)
        13.3
    """
    image = prepare_hu(hu, labels, mapping="kwave")
    conversion = import_kwave_submodule("utils.conversion")
    ct_numbers = (image.hu + 1000.0).reshape(1, -1)  # k-Wave's functions want 2-D/3-D arrays of HU + 1000
    if ct_numbers.size:
        density = conversion.hounsfield2density(ct_numbers).reshape(image.hu.shape)
        sound_speed = conversion.hounsfield2soundspeed(ct_numbers).reshape(image.hu.shape)
    else:
        density = sound_speed = np.zeros(image.hu.shape)
    soft = float(convert_alpha_coeff(SOFT_TISSUE_ALPHA_COEFF, SOFT_TISSUE_ALPHA_POWER, DEFAULT_ALPHA_POWER,
                                     REFERENCE_FREQUENCY_HZ))
    alpha = np.where(image.bone, SKULL_ALPHA_COEFF, soft)
    return assemble(image, sound_speed, density, alpha, "kwave")
