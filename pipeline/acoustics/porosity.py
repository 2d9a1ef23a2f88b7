"""The ``porosity`` mapping: skull properties from CT-derived porosity (Aubry et al. 2003).

Source: Aubry, Tanter, Pernot, Thomas & Fink, "Experimental demonstration of noninvasive transskull adaptive focusing
based on prior computed tomography scans", J. Acoust. Soc. Am. 113(1):84-93, 2003 (doi:10.1121/1.1529663); the same
family of mapping is used by Marquet et al. 2009 (Phys. Med. Biol. 54:2597) and described by TFUScapes. Within bone:

* porosity ``phi = clip(1 - HU / HU_max, 0, 1)`` (1: water-filled pore, 0: dense cortical bone);
* ``rho = phi * rho_water + (1 - phi) * rho_bone``;
* ``c = c_water + (c_bone - c_water) * (1 - phi)``;
* ``alpha = alpha_min + (alpha_max - alpha_min) * phi ** beta`` (porous bone scatters more: absorption grows with phi).

Constants (module attributes, overridable per call):

* ``rho_water`` 1000 kg/m^3, ``c_water`` 1500 m/s (coupling water);
* ``rho_bone`` = :data:`BONE_DENSITY` = 2200 kg/m^3 and ``c_bone`` = :data:`BONE_SOUND_SPEED` = 3100 m/s: Aubry 2003,
  as adopted by k-Wave's ``skull2medium`` ("skull sound speed and density ranges according to Aubry 2003":
  1500-3100 m/s, 1000-2200 kg/m^3);
* ``HU_max`` = :data:`POROSITY_HU_MAX` = 2000 HU. Aubry 2003 normalise by the largest CT value of the skull, which
  makes properties depend on each scan's maximum; tfus fixes it at 2000 HU (dense cortical bone, and the top of the
  0-2000 HU range of the TFUScapes pseudo-CTs), so HU >= 2000 is solid bone;
* ``alpha_min`` = 0.2 dB/mm and ``alpha_max`` = 8 dB/mm, ``beta`` = 0.5 (Aubry 2003). The paper's values are read as
  absorption at 1 MHz with a linear frequency law (skull absorption is close to linear in f, Pinton et al., Med. Phys.
  39:299, 2012): :data:`ALPHA_MIN_DB_CM_MHZ` = 2 and :data:`ALPHA_MAX_DB_CM_MHZ` = 80 dB/(MHz cm), i.e. 1 and
  40 dB/cm at 500 kHz, stored with y = 2 as 4 and 160 dB/(MHz^2 cm) (same absorption at 500 kHz; see
  :mod:`tfus.pipeline.acoustics.properties`). This frequency reading is an assumption: override ``alpha_min`` /
  ``alpha_max`` if you calibrate them.

Outside bone, non-air tissue gets the ITRUSST brain values (1560 m/s, 1040 kg/m^3, 0.3 dB/cm at 500 kHz); air
(HU < -200) and background are coupling water; HU are clipped to [-1000, 3000]; bone is labels CORTICAL/TRABECULAR,
or HU >= 300 without labels (see :mod:`tfus.pipeline.acoustics.hu`).

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics.porosity import porosity_properties
    >>> props = porosity_properties(np.array([1000.0, 2500.0]), None)
    >>> props.density.tolist(), props.sound_speed.tolist()
    ([1600.0, 2200.0], [2300.0, 3100.0])
"""

from __future__ import annotations

import math

import numpy as np

from tfus.pipeline.acoustics.hu import assemble, prepare_hu
from tfus.pipeline.acoustics.itrusst import ITRUSST_FREQUENCY_HZ, ITRUSST_MEDIA
from tfus.pipeline.acoustics.properties import (
    DEFAULT_ALPHA_POWER,
    REFERENCE_FREQUENCY_HZ,
    WATER_DENSITY,
    WATER_SOUND_SPEED,
    AcousticProperties,
    convert_alpha_coeff,
)
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label

__all__ = [
    "ALPHA_MAX_DB_CM_MHZ",
    "ALPHA_MIN_DB_CM_MHZ",
    "BONE_DENSITY",
    "BONE_SOUND_SPEED",
    "POROSITY_BETA",
    "POROSITY_HU_MAX",
    "porosity",
    "porosity_properties",
]

#: HU of porosity 0 (solid bone).
POROSITY_HU_MAX = 2000.0
#: Density [kg/m^3] of solid bone (Aubry 2003).
BONE_DENSITY = 2200.0
#: Sound speed [m/s] of solid bone (Aubry 2003).
BONE_SOUND_SPEED = 3100.0
#: Absorption of solid bone (phi = 0) [dB/(MHz cm)], linear law: Aubry 2003's 0.2 dB/mm read at 1 MHz.
ALPHA_MIN_DB_CM_MHZ = 2.0
#: Absorption of fully porous bone (phi = 1) [dB/(MHz cm)], linear law: Aubry 2003's 8 dB/mm read at 1 MHz.
ALPHA_MAX_DB_CM_MHZ = 80.0
#: Exponent of phi in the absorption law (Aubry 2003).
POROSITY_BETA = 0.5


def porosity(hu: np.ndarray, hu_max: float = POROSITY_HU_MAX) -> np.ndarray:
    """Bone porosity ``clip(1 - HU / hu_max, 0, 1)`` (float64).

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.acoustics.porosity import porosity
        >>> porosity(np.array([-100.0, 500.0, 2000.0, 2500.0])).tolist()
        [1.0, 0.75, 0.0, 0.0]
    """
    if not (math.isfinite(hu_max) and hu_max > 0):
        raise TfusInputError(f"porosity mapping: hu_max must be a positive number of HU, got {hu_max!r}")
    return np.clip(1.0 - np.asarray(hu, dtype=np.float64) / hu_max, 0.0, 1.0)


def porosity_properties(hu: np.ndarray, labels: np.ndarray | None = None, *, hu_max: float = POROSITY_HU_MAX,
                        bone_density: float = BONE_DENSITY, bone_sound_speed: float = BONE_SOUND_SPEED,
                        alpha_min: float = ALPHA_MIN_DB_CM_MHZ, alpha_max: float = ALPHA_MAX_DB_CM_MHZ,
                        beta: float = POROSITY_BETA) -> AcousticProperties:
    """Map a CT to acoustic properties with the Aubry 2003 porosity model inside bone.

    Args:
        hu: CT in Hounsfield units (water 0), any shape.
        labels: optional tissue labels; when given they define the bone (CORTICAL, TRABECULAR) and the background.
        hu_max: HU of porosity 0.
        bone_density: kg/m^3 at porosity 0.
        bone_sound_speed: m/s at porosity 0.
        alpha_min: absorption at porosity 0 [dB/(MHz cm)], linear frequency law.
        alpha_max: absorption at porosity 1 [dB/(MHz cm)], linear frequency law.
        beta: exponent of the porosity in the absorption law.

    Returns:
        float32 :class:`AcousticProperties` with ``alpha_power`` 2 (absorption matched at 500 kHz) and ``mapping``
        "porosity".

    Raises:
        TfusInputError: invalid CT, labels or constants.
    """
    constants = {"bone_density": bone_density, "bone_sound_speed": bone_sound_speed, "alpha_min": alpha_min,
                 "alpha_max": alpha_max, "beta": beta}
    for name, value in constants.items():
        if not (math.isfinite(value) and value >= 0 and (value > 0 or name.startswith("alpha"))):
            raise TfusInputError(f"porosity mapping: {name} must be a finite positive number, got {value!r}")
    image = prepare_hu(hu, labels, mapping="porosity")
    phi = porosity(image.hu[image.bone], hu_max)  # bone voxels only: keeps memory low on full heads
    bone_alpha_linear = alpha_min + (alpha_max - alpha_min) * phi**beta  # dB/(MHz cm)

    tissue = ITRUSST_MEDIA[Label.BRAIN]
    tissue_alpha = tissue.alpha_db_cm / (ITRUSST_FREQUENCY_HZ / 1e6) ** DEFAULT_ALPHA_POWER
    shape = image.hu.shape
    density = np.full(shape, tissue.density, np.float32)
    sound_speed = np.full(shape, tissue.sound_speed, np.float32)
    alpha = np.full(shape, tissue_alpha, np.float32)
    density[image.bone] = phi * WATER_DENSITY + (1.0 - phi) * bone_density
    sound_speed[image.bone] = WATER_SOUND_SPEED + (bone_sound_speed - WATER_SOUND_SPEED) * (1.0 - phi)
    alpha[image.bone] = convert_alpha_coeff(bone_alpha_linear, 1.0, DEFAULT_ALPHA_POWER, REFERENCE_FREQUENCY_HZ)
    return assemble(image, sound_speed, density, alpha, "porosity")
