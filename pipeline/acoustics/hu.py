"""CT preprocessing shared by the HU -> acoustic property mappings: validation, clipping, coupling water, bone mask.

Rules applied by every mapping (documented once here):

* HU are clipped to [:data:`HU_CLIP_MIN`, :data:`HU_CLIP_MAX`] = [-1000, 3000]: below -1000 is noise or padding
  (scanners store -1024 outside the field of view), above 3000 are metal/streak outliers.
* **Coupling water.** Voxels with HU < :data:`AIR_HU_THRESHOLD` (-200, air: background, sinuses, ear canals) and voxels
  labelled ``Label.BACKGROUND`` get water values (1500 m/s, 1000 kg/m^3, no absorption). The simulated domain outside
  the head is the coupling water between transducer and scalp, and a water-filled air cavity keeps k-Wave stable (air's
  343 m/s and 1.2 kg/m^3 force a tiny time step and a ~3000x impedance jump). The price: internal air cavities, which
  reflect almost everything, are modelled as transparent; keep transducers away from the sinuses.
* Bone is ``labels in (CORTICAL, TRABECULAR)`` when labels are given, else HU >= :data:`BONE_HU_THRESHOLD` (300 HU, the
  CT bone threshold used by BabelBrain).

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics.hu import prepare_hu
    >>> image = prepare_hu(np.array([-1024.0, 40.0, 1500.0, 5000.0]), None)
    >>> image.hu.tolist(), image.coupling.tolist(), image.bone.tolist()
    ([-1000.0, 40.0, 1500.0, 3000.0], [True, False, False, False], [False, False, True, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfus.pipeline.acoustics.properties import (
    DEFAULT_ALPHA_POWER,
    REFERENCE_FREQUENCY_HZ,
    WATER_ALPHA_DB_CM,
    WATER_DENSITY,
    WATER_SOUND_SPEED,
    AcousticProperties,
)
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import BONE_LABELS, Label

__all__ = [
    "AIR_HU_THRESHOLD",
    "BONE_HU_THRESHOLD",
    "HU_CLIP_MAX",
    "HU_CLIP_MIN",
    "PreparedImage",
    "assemble",
    "prepare_hu",
]

#: Lower HU clip (air).
HU_CLIP_MIN = -1000.0
#: Upper HU clip (outliers: metal, streaks).
HU_CLIP_MAX = 3000.0
#: Below this HU a voxel is air and becomes coupling water.
AIR_HU_THRESHOLD = -200.0
#: At or above this HU a voxel is bone when no labels are given.
BONE_HU_THRESHOLD = 300.0

_VALID_LABELS = tuple(int(v) for v in Label)
_LABELS_ARE_0_TO_N = _VALID_LABELS == tuple(range(len(_VALID_LABELS)))


@dataclass(frozen=True, eq=False)
class PreparedImage:
    """A validated, clipped CT with its masks.

    Attributes:
        hu: clipped HU, float32.
        labels: the labels as int16, or None.
        coupling: True where the voxel becomes coupling water.
        bone: True where the voxel is bone (and not coupling water).
    """

    hu: np.ndarray
    labels: np.ndarray | None
    coupling: np.ndarray
    bone: np.ndarray


def _validated_labels(labels: np.ndarray, shape: tuple[int, ...], mapping: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != shape:
        raise TfusInputError(f"{mapping} mapping: labels shape {labels.shape} differs from the CT shape {shape}; "
                             "resample the labels onto the CT grid")
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise TfusInputError(f"{mapping} mapping: labels must be numeric, got dtype {labels.dtype}")
    if labels.size == 0:
        ok = True
    elif _LABELS_ARE_0_TO_N:  # a range (and integrality) check is enough and much faster than np.unique
        ok = bool(labels.min() >= 0 and labels.max() <= len(_VALID_LABELS) - 1) and (
            np.issubdtype(labels.dtype, np.integer) or bool(np.all(labels == np.round(labels))))
    else:
        ok = bool(np.isin(labels, _VALID_LABELS).all())
    if not ok:
        unknown = np.setdiff1d(np.unique(labels), _VALID_LABELS)
        raise TfusInputError(f"{mapping} mapping: unknown label values {unknown[:5].tolist()}; "
                             f"valid labels are {list(_VALID_LABELS)} (tfus.pipeline.head.labels.Label)")
    return labels.astype(np.int16)


def prepare_hu(hu: np.ndarray, labels: np.ndarray | None, *, mapping: str = "HU",
               require_labels: bool = False) -> PreparedImage:
    """Validate a CT (and labels), clip it and compute the coupling-water and bone masks.

    Args:
        hu: CT in Hounsfield units (water 0, air -1000), any shape.
        labels: tissue labels (:class:`tfus.pipeline.head.labels.Label` values) of the same shape, or None.
        mapping: mapping name used in error messages.
        require_labels: raise when ``labels`` is None.

    Returns:
        The :class:`PreparedImage`.

    Raises:
        TfusInputError: non-numeric or non-finite HU, missing/mis-shaped labels or unknown label values.
    """
    hu = np.asarray(hu)
    if hu.dtype == bool or not (np.issubdtype(hu.dtype, np.integer) or np.issubdtype(hu.dtype, np.floating)):
        raise TfusInputError(f"{mapping} mapping: hu must be a real numeric array in Hounsfield units, "
                             f"got dtype {hu.dtype}")
    hu = np.array(hu, dtype=np.float32)  # a private copy; float32 keeps 256^3 heads cheap (HU need no more)
    np.clip(hu, HU_CLIP_MIN, HU_CLIP_MAX, out=hu)
    if np.isnan(hu).any():
        raise TfusInputError(f"{mapping} mapping: hu contains NaN values; fill them (e.g. with -1000 for air) first")
    if labels is None:
        if require_labels:
            raise TfusInputError(f"{mapping} mapping needs tissue labels; pass labels (e.g. HeadModel.labels) "
                                 "or choose a CT-only mapping such as 'kwave' or 'porosity'")
        coupling = hu < AIR_HU_THRESHOLD
        bone = (hu >= BONE_HU_THRESHOLD) & ~coupling
        return PreparedImage(hu, None, coupling, bone)
    labels = _validated_labels(labels, hu.shape, mapping)
    coupling = (hu < AIR_HU_THRESHOLD) | (labels == int(Label.BACKGROUND))
    bone = np.isin(labels, [int(v) for v in BONE_LABELS]) & ~coupling
    return PreparedImage(hu, labels, coupling, bone)


def assemble(image: PreparedImage, sound_speed: np.ndarray, density: np.ndarray, alpha_coeff: np.ndarray,
             mapping: str, alpha_power: float = DEFAULT_ALPHA_POWER) -> AcousticProperties:
    """Overwrite the coupling voxels with water and package the maps as :class:`AcousticProperties`.

    Args:
        image: the prepared CT.
        sound_speed: m/s, shape of the CT.
        density: kg/m^3.
        alpha_coeff: dB/(MHz^alpha_power cm).
        mapping: mapping name stored on the result.
        alpha_power: exponent y of ``alpha_coeff``.

    Returns:
        float32 :class:`AcousticProperties`.
    """
    water_alpha = WATER_ALPHA_DB_CM / (REFERENCE_FREQUENCY_HZ / 1e6) ** alpha_power
    maps = []
    for values, water in ((sound_speed, WATER_SOUND_SPEED), (density, WATER_DENSITY), (alpha_coeff, water_alpha)):
        array = np.asarray(values, dtype=np.float32)
        if array.shape != image.hu.shape or array is values:  # own a full float32 array without extra copies
            array = np.array(np.broadcast_to(array, image.hu.shape), dtype=np.float32)
        np.copyto(array, np.float32(water), where=image.coupling)
        maps.append(array)
    return AcousticProperties(*maps, alpha_power, mapping)
