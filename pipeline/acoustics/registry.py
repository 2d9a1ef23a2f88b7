"""Named HU -> acoustic property mappings and the one entry point that picks one by name.

* ``itrusst``: ITRUSST benchmark constants per label (Aubry et al. 2022); needs labels.
* ``kwave``: k-Wave's ``hounsfield2density`` / ``hounsfield2soundspeed``; labels optional (they define bone).
* ``porosity``: Aubry et al. 2003 porosity model in bone; labels optional (they define bone).

Every mapping returns float32 maps of the input shape with absorption exponent y = 2, clips HU to [-1000, 3000] and
turns air (HU < -200) and background into coupling water (see :mod:`tfus.pipeline.acoustics.hu`).

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics.registry import list_mappings, map_properties
    >>> list_mappings()
    ['itrusst', 'kwave', 'porosity']
    >>> map_properties(np.zeros(3), np.array([0, 1, 4]), "itrusst").sound_speed.tolist()
    [1500.0, 1610.0, 1560.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfus.pipeline.acoustics.itrusst import itrusst_properties
from tfus.pipeline.acoustics.kwave import kwave_properties
from tfus.pipeline.acoustics.porosity import porosity_properties
from tfus.pipeline.acoustics.properties import AcousticProperties
from tfus.pipeline.errors import TfusInputError

__all__ = ["MAPPINGS", "Mapping", "list_mappings", "map_properties"]

#: Signature of a mapping: ``(hu, labels or None) -> AcousticProperties``.
Mapping = Callable[[np.ndarray, "np.ndarray | None"], AcousticProperties]

#: Mapping name -> function.
MAPPINGS: dict[str, Mapping] = {
    "itrusst": itrusst_properties,
    "kwave": kwave_properties,
    "porosity": porosity_properties,
}


def list_mappings() -> list[str]:
    """Names accepted by :func:`map_properties`, sorted."""
    return sorted(MAPPINGS)


def map_properties(hu: np.ndarray, labels: np.ndarray | None, mapping: str = "itrusst") -> AcousticProperties:
    """Convert a CT (and optional tissue labels) to acoustic properties with a named mapping.

    Args:
        hu: CT in Hounsfield units (water 0, air -1000), any shape.
        labels: tissue labels (:class:`tfus.pipeline.head.labels.Label`) of the same shape, or None (not allowed for
            "itrusst").
        mapping: one of :func:`list_mappings` (case-insensitive).

    Returns:
        float32 :class:`AcousticProperties` of the input shape.

    Raises:
        TfusInputError: unknown mapping name, or invalid CT/labels for that mapping.

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.acoustics.registry import map_properties
        >>> map_properties(np.array([-1000.0, 2500.0]), None, "porosity").density.tolist()
        [1000.0, 2200.0]
    """
    name = mapping.strip().lower() if isinstance(mapping, str) else None
    if name not in MAPPINGS:
        raise TfusInputError(f"unknown acoustic mapping {mapping!r}; choose one of {', '.join(list_mappings())}")
    return MAPPINGS[name](hu, labels)
