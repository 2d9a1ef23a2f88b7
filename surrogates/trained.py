"""What a surrogate was trained on, read from its checkpoint's ``data`` entry, and the checks that a request fits it:
the grid (shape, spacing), the transducer (radius of curvature, aperture, frequency) and the source amplitude.

A surrogate learns the field of one bowl at one frequency, so a pose of another transducer or frequency is refused
(one line naming both values). Geometry may differ by ``max(0.5 mm, 1 %)`` (a fitted bowl, e.g. TFUScapes', is
never exactly a preset), frequency by 1 %. The source amplitude is not learned: wave propagation is linear in it,
so :meth:`TrainedData.amplitude_scale` rescales the prediction exactly as ``tfus simulate`` would change.

Example:
    >>> data = TrainedData.from_mapping({"grid_shape": [16, 16, 16], "spacing_mm": 2.0, "frequency_hz": 5e5,
    ...     "transducer": {"name": "b", "radius_of_curvature_mm": 30.0, "aperture_mm": 30.0, "frequency_hz": 5e5,
    ...                    "source_amplitude_pa": 6e4}, "n_points": 64})
    >>> data.transducer().aperture_diameter_mm, data.grid_shape
    (30.0, (16, 16, 16))
    >>> from tfus.pipeline.transducers import BowlTransducer
    >>> try:
    ...     data.check_transducer(BowlTransducer("x", 40.0, 30.0, 5e5, 6e4))
    ... except TfusInputError as err:
    ...     print(str(err)[:70])
    transducer x has a radius of curvature of 40 mm, the model was trained
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import bowl_from_record
from tfus.pipeline.transducers import BowlTransducer

__all__ = ["FREQUENCY_TOL_REL", "GEOMETRY_TOL_MM", "GEOMETRY_TOL_REL", "TrainedData", "close"]

GEOMETRY_TOL_MM = 0.5  #: radius / aperture may differ by max(this, GEOMETRY_TOL_REL * value)
GEOMETRY_TOL_REL = 0.01
FREQUENCY_TOL_REL = 0.01  #: relative frequency tolerance


def close(a: float, b: float, rel: float, absolute: float = 0.0) -> bool:
    """``|a - b| <= max(absolute, rel |b|)``: the one tolerance test of trained vs requested values."""
    return abs(a - b) <= max(absolute, rel * abs(b))


@dataclass(frozen=True)
class TrainedData:
    """The parsed ``data`` entry of a checkpoint (see ``notes``/the surrogate contract).

    Attributes:
        grid_shape: voxels of the training fields (the model's window).
        spacing_mm: their isotropic spacing.
        frequency_hz: the simulated frequency.
        transducer_attrs: the store's transducer record.
        hu_mapping: HU -> acoustic mapping of the training simulations.
        n_points: transducer surface points per sample.
        raw: the whole entry (store, heads, sample counts).
    """

    grid_shape: tuple[int, int, int]
    spacing_mm: float
    frequency_hz: float
    transducer_attrs: dict
    hu_mapping: str = "itrusst"
    n_points: int = 2048
    raw: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], default_n_points: int | None = None) -> TrainedData:
        """Validate a checkpoint's ``data`` entry; one-line :class:`TfusInputError` for anything missing."""
        if not isinstance(data, Mapping):
            raise TfusInputError("the checkpoint's data entry is not a mapping; the file is damaged, re-train it")
        missing = [k for k in ("grid_shape", "spacing_mm", "transducer") if k not in data]
        if missing:
            raise TfusInputError(f"the checkpoint's data entry lacks {', '.join(missing)} (what the model was trained "
                                 "on); re-train it with `tfus train`")
        try:
            shape = tuple(int(s) for s in data["grid_shape"])
            spacing = float(data["spacing_mm"])
            trans = dict(data["transducer"])
            freq = float(data.get("frequency_hz") or trans["frequency_hz"])
            n_points = int(data.get("n_points") or default_n_points or 2048)
        except (KeyError, TypeError, ValueError) as err:
            raise TfusInputError(f"the checkpoint's data entry is malformed ({type(err).__name__}: {err}); re-train "
                                 "it with `tfus train`") from None
        if len(shape) != 3 or min(shape) < 1 or not (math.isfinite(spacing) and spacing > 0) or n_points < 1:
            raise TfusInputError(f"the checkpoint's data entry has grid {list(shape)} at {spacing} mm and {n_points} "
                                 "points; expected a 3D grid, a positive spacing and points; re-train it")
        return cls(shape, spacing, freq, trans, str(data.get("hu_mapping", "itrusst")), n_points, dict(data))

    def transducer(self) -> BowlTransducer:
        """The trained transducer at the trained frequency."""
        return bowl_from_record(self.transducer_attrs, self.frequency_hz)

    @property
    def trained_amplitude_pa(self) -> float | None:
        value = self.transducer_attrs.get("source_amplitude_pa")
        return float(value) if value else None

    def amplitude_scale(self, transducer: BowlTransducer) -> float:
        """Factor from the trained source amplitude to ``transducer``'s (1 when the trained one is unknown)."""
        trained = self.trained_amplitude_pa
        return 1.0 if trained is None else float(transducer.source_amplitude_pa) / trained

    def check_transducer(self, transducer: BowlTransducer) -> None:
        """Refuse a transducer whose geometry or frequency the model was not trained for (names both values)."""
        ref = self.transducer()
        for what, mine, theirs in (("radius of curvature", transducer.radius_of_curvature_mm,
                                    ref.radius_of_curvature_mm),
                                   ("aperture", transducer.aperture_diameter_mm, ref.aperture_diameter_mm)):
            if not close(mine, theirs, GEOMETRY_TOL_REL, GEOMETRY_TOL_MM):
                raise TfusInputError(f"transducer {transducer.name} has a {what} of {mine:g} mm, the model was trained "
                                     f"with {theirs:g} mm ({ref.name}); use that transducer or a model trained for "
                                     "this one")
        if not close(transducer.frequency_hz, self.frequency_hz, FREQUENCY_TOL_REL):
            raise TfusInputError(f"transducer {transducer.name} runs at {transducer.frequency_hz / 1e3:g} kHz, the "
                                 f"model was trained at {self.frequency_hz / 1e3:g} kHz; pass --frequency "
                                 f"{self.frequency_hz:g} or use a model trained at that frequency")

    def describe(self) -> dict:
        """JSON-ready summary (for records and tables)."""
        keep = ("store", "train_heads", "val_heads", "test_heads", "n_train_samples")
        return {"grid_shape": list(self.grid_shape), "spacing_mm": self.spacing_mm, "frequency_hz": self.frequency_hz,
                "transducer": self.transducer_attrs, "hu_mapping": self.hu_mapping, "n_points": self.n_points,
                **{k: self.raw[k] for k in keep if k in self.raw}}
