"""Acoustic property maps and the power-law absorption arithmetic shared by every mapping.

Absorption follows the power law used by k-Wave: ``alpha(f) = alpha_coeff * f_MHz ** y`` in dB/cm, with
``alpha_coeff`` in dB/(MHz^y cm). Every tfus mapping returns **y = 2** (:data:`DEFAULT_ALPHA_POWER`):

* k-Wave cannot use y = 1 with its dispersion term (the term has a ``tan(pi*y/2)`` factor), and values close to 1 are
  numerically ill-behaved;
* with y = 2 that factor is ``tan(pi) = 0``: k-Wave adds no dispersion, so the sound speed of the map is the phase speed
  at every frequency (benchmark values such as ITRUSST's are reproduced exactly), and the absorption operator is cheap;
* tfus simulates continuous waves at one frequency, where only ``alpha(f0)`` matters. Literature values given with
  another exponent are re-expressed at y = 2 so that the absorption at :data:`REFERENCE_FREQUENCY_HZ` (500 kHz, the
  ITRUSST benchmark and TFUScapes frequency) is unchanged — the same choice as k-Wave's ``skull2medium``, which always
  uses a reference exponent of 2. Use :meth:`AcousticProperties.with_alpha_power` to move to another exponent at the
  frequency you simulate; note that pulsed (broadband) simulations see y = 2 absorb harmonics more strongly.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics.properties import AcousticProperties
    >>> props = AcousticProperties(np.full(3, 1500.0), np.full(3, 1000.0), np.full(3, 0.8), 2.0, "demo")
    >>> round(float(props.absorption_db_cm(500e3)[0]), 6)
    0.2
    >>> round(float(props.with_alpha_power(1.5, 500e3).absorption_db_cm(500e3)[0]), 6)
    0.2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from tfus.pipeline.errors import TfusInputError

__all__ = [
    "DEFAULT_ALPHA_POWER",
    "REFERENCE_FREQUENCY_HZ",
    "WATER_ALPHA_DB_CM",
    "WATER_DENSITY",
    "WATER_SOUND_SPEED",
    "AcousticProperties",
    "convert_alpha_coeff",
]

#: Power-law exponent y of every built-in mapping (see the module docstring for why 2).
DEFAULT_ALPHA_POWER = 2.0
#: Frequency [Hz] at which literature absorption values are matched when re-expressed at another exponent.
REFERENCE_FREQUENCY_HZ = 500e3
#: Coupling water: sound speed [m/s], density [kg/m^3], absorption [dB/cm] (ITRUSST benchmark water, lossless).
WATER_SOUND_SPEED = 1500.0
WATER_DENSITY = 1000.0
WATER_ALPHA_DB_CM = 0.0


def _check_positive(value: float, what: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise TfusInputError(f"{what} must be a positive finite number, got {value!r}")
    return value


def convert_alpha_coeff(alpha_coeff: np.ndarray | float, from_power: float, to_power: float,
                        frequency_hz: float) -> np.ndarray:
    """Re-express a power-law prefactor with another exponent, keeping the absorption at ``frequency_hz``.

    ``alpha_coeff * f**from_power == result * f**to_power`` with ``f`` in MHz.

    Args:
        alpha_coeff: prefactor [dB/(MHz^from_power cm)].
        from_power: its exponent y.
        to_power: the new exponent.
        frequency_hz: frequency [Hz] where both laws agree.

    Returns:
        The new prefactor [dB/(MHz^to_power cm)] as float64.

    Example:
        >>> from tfus.pipeline.acoustics.properties import convert_alpha_coeff
        >>> float(convert_alpha_coeff(13.3, 1.0, 2.0, 500e3))  # 6.65 dB/cm at 500 kHz either way
        26.6
    """
    f_mhz = _check_positive(frequency_hz, "frequency_hz") / 1e6
    from_power = _check_positive(from_power, "alpha power")
    to_power = _check_positive(to_power, "alpha power")
    return np.asarray(alpha_coeff, dtype=np.float64) * f_mhz ** (from_power - to_power)


@dataclass(frozen=True, eq=False)
class AcousticProperties:
    """Voxel-wise acoustic properties of a medium; all arrays float32 with the shape of the input image.

    Attributes:
        sound_speed: m/s.
        density: kg/m^3.
        alpha_coeff: power-law absorption prefactor, dB/(MHz^y cm).
        alpha_power: the exponent y (one scalar for the whole medium, as k-Wave requires).
        mapping: name of the mapping that produced the maps (see :func:`tfus.pipeline.acoustics.list_mappings`).

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.acoustics.properties import AcousticProperties
        >>> props = AcousticProperties(np.ones((2, 2)), np.ones((2, 2)), np.zeros((2, 2)), 2.0, "demo")
        >>> props.sound_speed.dtype, props.shape
        (dtype('float32'), (2, 2))
    """

    sound_speed: np.ndarray  # m/s
    density: np.ndarray  # kg/m^3
    alpha_coeff: np.ndarray  # dB/(MHz^y cm)
    alpha_power: float  # y
    mapping: str

    def __post_init__(self) -> None:
        arrays = {name: np.asarray(getattr(self, name), dtype=np.float32)
                  for name in ("sound_speed", "density", "alpha_coeff")}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1:
            raise TfusInputError(f"sound_speed, density and alpha_coeff must share one shape, got {sorted(shapes)}")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)
        object.__setattr__(self, "alpha_power", _check_positive(self.alpha_power, "alpha_power"))
        object.__setattr__(self, "mapping", str(self.mapping))

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the property maps."""
        return self.sound_speed.shape

    def absorption_db_cm(self, frequency_hz: float) -> np.ndarray:
        """Absorption at one frequency.

        Args:
            frequency_hz: frequency [Hz].

        Returns:
            float32 array [dB/cm]: ``alpha_coeff * (frequency_hz / 1e6) ** alpha_power``.
        """
        f_mhz = _check_positive(frequency_hz, "frequency_hz") / 1e6
        return (self.alpha_coeff.astype(np.float64) * f_mhz**self.alpha_power).astype(np.float32)

    def with_alpha_power(self, y: float, frequency_hz: float) -> AcousticProperties:
        """The same medium with exponent ``y``, keeping the absorption at ``frequency_hz`` (dB/cm) unchanged.

        Engines need this: k-Wave, for instance, rejects y = 1 when dispersion is modelled.

        Args:
            y: new power-law exponent (> 0).
            frequency_hz: frequency [Hz] at which the absorption is preserved (the simulation frequency).

        Returns:
            A new :class:`AcousticProperties`; sound speed and density are shared with this one.
        """
        alpha = convert_alpha_coeff(self.alpha_coeff, self.alpha_power, y, frequency_hz)
        return replace(self, alpha_coeff=alpha.astype(np.float32), alpha_power=float(y))
