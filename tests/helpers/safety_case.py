"""A tiny sonication case for the safety tests: a layered slab "head" (water, skin, cortical, trabecular, cortical,
brain along z at 1 mm), a focused field behind a beam crossing the skull, the bowl and pose that go with it, and the
files ``tfus simulate`` would leave (field NIfTI + JSON record, head folder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.transducers import BowlTransducer, Pose

SHAPE = (36, 36, 40)
BOWL = BowlTransducer("slab-bowl", 30.0, 30.0, 5e5, 6e4)
POSE = Pose([0.5, 0.5, -40.0], [0.5, 0.5, 16.0])  # target = the focus voxel (18, 18, 26)


def slab_affine(spacing: float = 1.0) -> np.ndarray:
    a = np.diag([spacing, spacing, spacing, 1.0])
    a[:3, 3] = (-17.5 * spacing, -17.5 * spacing, -10.0)
    return a


def slab_head(shape=SHAPE) -> HeadModel:
    """Layers along z (1 mm): water, skin 3, cortical 2, trabecular 2, cortical 1, brain beyond 12 mm."""
    labels = np.zeros(shape, np.uint8)
    for label, (a, b) in zip((1, 2, 3, 2, 4), ((4, 7), (7, 9), (9, 11), (11, 12), (12, shape[2]))):
        labels[..., a:b] = label
    hu = np.choose(labels, [-1000.0, 40.0, 1600.0, 700.0, 30.0]).astype(np.float32)
    return HeadModel(hu=hu, labels=labels, affine=slab_affine())


def slab_field(head: HeadModel) -> SteadyStateField:
    """A 600 kPa focus (sigma 2 mm across, 5 mm along z) at voxel (18, 18, 26) behind a beam of 250 kPa crossing
    skin and skull (radius 4 mm), as a 60 kPa source would make."""
    i, j, k = np.indices(head.shape)
    r2 = (i - 18) ** 2 + (j - 18) ** 2
    focus = 6e5 * np.exp(-r2 / (2 * 2.0**2) - (k - 26) ** 2 / (2 * 5.0**2))
    beam = 2.5e5 * np.exp(-r2 / (2 * 4.0**2)) * (k < 26)
    return SteadyStateField(np.maximum(focus, beam), np.zeros(head.shape), head.affine, BOWL.frequency_hz)


def write_case(folder: Path, record: bool = True) -> tuple[Path, Path]:
    """Write the head folder and the field (with its JSON record, as `tfus simulate` does); returns their paths."""
    from tfus.pipeline.fields.output import write_field

    folder.mkdir(parents=True, exist_ok=True)
    head = slab_head()
    head.save(folder / "head")
    field = slab_field(head)
    write_field(folder / "field.nii.gz", field.amplitude, field.affine)
    if record:
        (folder / "field.json").write_text(json.dumps({"request": {
            "transducer": BOWL.to_dict(), "mapping": "itrusst",
            "pose": {"apex": POSE.apex.tolist(), "target": POSE.target.tolist()}}}), encoding="utf-8")
    return folder / "field.nii.gz", folder / "head"
