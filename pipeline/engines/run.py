"""One simulation from user-level inputs: a head model folder (or water), a transducer, a pose in world mm, an
engine. Used by ``tfus simulate`` and by dataset generation workers.

Example:
    >>> from tfus.pipeline.transducers import Pose
    >>> req = SimulationRequest(transducer="itrusst-sc1", pose=Pose([0, 0, 0], [0, 0, 64.0]), spacing_mm=1.0)
    >>> req.engine, req.mapping
    ('kwave', 'itrusst')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tfus.pipeline.beam.frame import BeamBox, BeamFrame
from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.transducers import BowlTransducer, Pose, load_transducer

ENGINES = ("kwave", "fem")
FRAMES = ("grid", "beam")


@dataclass(frozen=True)
class SimulationRequest:
    """What to simulate. ``head`` is a head-model folder or a :class:`HeadModel` (None: water); ``spacing_mm``
    resamples the head (or sizes the water box; default: the head's own spacing, 1 mm in water); ``frequency_hz``
    overrides the transducer's."""

    transducer: str | BowlTransducer
    pose: Pose
    head: str | Path | HeadModel | None = None
    spacing_mm: float | None = None
    engine: str = "kwave"
    device: str = "cpu"
    frequency_hz: float | None = None
    mapping: str = "itrusst"
    coupling: str = "water"
    kwave: KWaveConfig | None = None  # k-Wave settings (default KWaveConfig(); ``device`` above wins; ``binary``
    # runs a user-supplied k-Wave C++ binary instead of the native solver)
    frame: str = "grid"  # "grid": the head's own grid; "beam": a box aligned with the bowl axis (tfus.pipeline.beam)
    box: BeamBox = BeamBox()  # the beam box's extents (frame "beam")

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise TfusInputError(f"unknown engine {self.engine!r}; use one of {', '.join(ENGINES)}")
        if self.frame not in FRAMES:
            raise TfusInputError(f"unknown frame {self.frame!r}; use one of {', '.join(FRAMES)}")
        if self.frequency_hz is not None and not self.frequency_hz > 0:
            raise TfusInputError(f"frequency must be positive, got {self.frequency_hz} Hz")
        if self.spacing_mm is not None and not 0.05 <= self.spacing_mm <= 4.0:
            raise TfusInputError(f"spacing {self.spacing_mm} mm out of range; use 0.05 to 4 mm")
        if self.engine != "kwave" and self.kwave is not None and self.kwave.binary is not None:
            raise TfusInputError("a k-Wave binary runs only with the kwave engine; drop it or use --engine kwave")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """The field and the medium it ran in (on the head grid, the water box, or the beam box); ``head`` is the head
    model on that grid; ``frame`` the beam frame of a ``frame="beam"`` run (None otherwise)."""

    field: SteadyStateField
    medium: MediumGrid
    head: HeadModel | None
    transducer: BowlTransducer
    frame: BeamFrame | None = None
    grid_head: HeadModel | None = None  # frame "beam" with a head: the head on its own grid (where users look)

    def on_head_grid(self) -> tuple[SteadyStateField, HeadModel | None]:
        """The field and head on the head's own grid: a beam-box field mapped back (zero outside the box); other
        runs as they are."""
        if self.frame is None or self.grid_head is None:
            return self.field, self.head
        from tfus.pipeline.beam import field_from_box

        return field_from_box(self.field, self.frame, self.grid_head.shape, self.grid_head.affine), self.grid_head


def run_simulation(request: SimulationRequest,
                   progress: Callable[[int, int], None] | None = None) -> SimulationResult:
    """Build the medium, check the preconditions, run the engine."""
    from tfus.pipeline.engines.problem import (
        WATER,
        check_pose_outside_head,
        head_on_grid,
        medium_from_head,
        pad_for_bowl,
        water_medium,
    )

    bowl = request.transducer if isinstance(request.transducer, BowlTransducer) else \
        load_transducer(request.transducer)
    if request.frequency_hz is not None:
        bowl = replace(bowl, frequency_hz=float(request.frequency_hz))
    head = None
    crop = None
    frame = None
    loaded = None
    grid_head = None
    if request.head is not None:
        loaded = request.head if isinstance(request.head, HeadModel) else HeadModel.load(request.head)
    if request.frame == "beam":
        from tfus.pipeline.beam import BeamFrame, head_in_box

        spacing = request.spacing_mm or (loaded.spacing_mm if loaded is not None else 1.0)
        frame = BeamFrame.from_pose(request.pose, bowl, spacing, request.box)
        if loaded is not None:
            grid_head = head_on_grid(loaded, request.spacing_mm)
            check_pose_outside_head(grid_head, bowl, request.pose)
            head = head_in_box(loaded, frame)
            medium = medium_from_head(head, request.mapping, request.coupling)
        else:
            water = MediumGrid.homogeneous(frame.shape, spacing, *WATER, alpha_power=2.0)
            medium = replace(water, affine=np.asarray(frame.affine, float))
    elif loaded is not None:
        head = head_on_grid(loaded, request.spacing_mm)
        check_pose_outside_head(head, bowl, request.pose)
        padded, crop = pad_for_bowl(head, bowl, request.pose)
        medium = medium_from_head(padded, request.mapping, request.coupling)
    else:
        medium = water_medium(bowl, request.pose, request.spacing_mm or 1.0)
    if request.engine == "kwave":
        from tfus.pipeline.engines.kwave.engine import simulate_kwave

        kwave = replace(request.kwave or KWaveConfig(), device=request.device)
        field = simulate_kwave(medium, bowl, request.pose, kwave, progress=progress)
    else:
        if request.device != "cpu":
            raise TfusInputError("the FE engine runs on the CPU; use --device cpu")
        from tfus.pipeline.engines.fem import FemConfig, simulate_fem_time
        from tfus.pipeline.engines.sources import BowlSource

        field = simulate_fem_time(medium, BowlSource(bowl, request.pose), FemConfig(frequency_hz=bowl.frequency_hz),
                                  progress=progress)
    if crop is not None and any(c != slice(None) for c in crop):  # back onto the head model's own grid
        meta = dict(field.meta)
        if "snapshots" in meta:
            meta["snapshots"] = meta["snapshots"][(slice(None), *crop)]
        for name in ("p_max", "p_min"):  # tone-burst peak maps live on the padded grid too
            if name in meta:
                meta[name] = meta[name][crop]
        field = SteadyStateField(field.amplitude[crop], field.phase[crop], np.asarray(head.affine, float),
                                 field.frequency_hz, meta)
        medium = medium_from_head(head, request.mapping, request.coupling)
    return SimulationResult(field=field, medium=medium, head=head, transducer=bowl, frame=frame,
                            grid_head=grid_head)
