"""Helpers of the inference / evaluation tests (surrogates and CLI): a tiny DeepTFUS checkpoint written with
``save_checkpoint`` (no training run needed), tiny head models and tiny stores whose fields come from a predictor.

The tiny world: a 16^3 grid at 2 mm centred on the origin, a spherical "head" (scalp, skull, brain) of radius 12 mm
and a 20 mm bowl at 500 kHz whose apex sits outside the grid (so it clears the head, as ``tfus simulate`` requires).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.transducers import Pose
from tfus.surrogates.checkpoint import save_checkpoint
from tfus.surrogates.inference import Predictor
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.registry import build_model_with_config

GRID = (16, 16, 16)
SPACING = 2.0
TRANSDUCER = {"name": "tiny-bowl", "radius_of_curvature_mm": 20.0, "aperture_mm": 20.0, "frequency_hz": 5e5,
              "source_amplitude_pa": 6e4}
POSES = [Pose([0.0, 0.0, -30.0], [0.0, 0.0, 0.0]), Pose([-30.0, 2.0, 0.0], [0.0, 2.0, 0.0]),
         Pose([4.0, 30.0, 4.0], [4.0, 0.0, 4.0])]


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run tiny models on ``n`` threads (on a loaded 2-core machine more threads only spin), restoring the count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def centred_affine(shape, spacing: float = SPACING, shift=(0.0, 0.0, 0.0)) -> np.ndarray:
    affine = np.diag([spacing] * 3 + [1.0])
    affine[:3, 3] = -(np.asarray(shape) - 1) * spacing / 2 + np.asarray(shift, float)
    return affine


def make_head(shape=GRID, spacing: float = SPACING, shift=(0.0, 0.0, 0.0), seed: int = 0) -> HeadModel:
    """A sphere of radius 12 mm: scalp (r > 10), skull (8-10 mm, 1200-1800 HU), brain (r < 8); air outside. The
    world centre of the sphere is ``shift``."""
    affine = centred_affine(shape, spacing, shift)
    ijk = np.indices(shape).reshape(3, -1).T
    r = np.linalg.norm(ijk @ affine[:3, :3].T + affine[:3, 3] - np.asarray(shift, float), axis=1).reshape(shape)
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint8)
    labels[r < 12] = 1
    labels[r < 10] = 2
    labels[r < 8] = 4
    hu = np.full(shape, -1000.0, np.float32)
    hu[labels == 1] = 40.0
    hu[labels == 2] = rng.uniform(1200, 1800, int((labels == 2).sum()))
    hu[labels == 4] = 30.0
    return HeadModel(hu=hu, labels=labels, affine=affine, meta={"method": "test sphere"})


def tiny_parts(grid=GRID, spacing: float = SPACING, transducer: dict | None = None, frequency_hz: float = 5e5,
               seed: int = 0) -> dict:
    """A freshly built tiny DeepTFUS and the rest of a checkpoint payload (contract keys)."""
    torch.manual_seed(seed)
    model, cfg = build_model_with_config("deeptfus", {"preset": "tiny"})
    norm = Normalization().fit_peaks([2e5, 4e5, 8e5])
    data = {"store": "/nowhere/train.zarr", "grid_shape": list(grid), "spacing_mm": spacing,
            "frequency_hz": frequency_hz, "transducer": dict(transducer or TRANSDUCER), "hu_mapping": "itrusst",
            "n_points": 128,
            "train_heads": ["head0"], "val_heads": [], "test_heads": ["head1", "head2"], "n_train_samples": 1}
    return {"model": "deeptfus", "model_config": cfg, "normalization": norm.to_dict(), "data": data,
            "state_dict": model.state_dict(), "_module": model, "_norm": norm}


def write_checkpoint(run_dir: Path, **kwargs) -> Path:
    """``RUN/best.pt`` of a tiny untrained model; returns the run folder."""
    parts = tiny_parts(**kwargs)
    save_checkpoint(Path(run_dir) / "best.pt", {k: v for k, v in parts.items() if not k.startswith("_")})
    return Path(run_dir)


def make_store(path: Path, predictor: Predictor, n_heads: int = 3, shifts=None, roll: dict | None = None,
               pending: tuple[int, ...] = (), failed: tuple[int, ...] = ()) -> Path:
    """A store on the tiny grid: head 0 train, the others test; one sample per head and pose in :data:`POSES`,
    each field the predictor's own prediction (``roll={sample: voxels}`` shifts a field along x). Samples in
    ``pending`` are left unwritten, those in ``failed`` marked failed."""
    from tfus.pipeline.store import (
        SampleRecord,
        StoreSpec,
        bowl_from_record,
        create_store,
        mark_samples,
        write_head,
        write_sample_fields,
    )

    spec = StoreSpec(grid_shape=GRID, spacing_mm=SPACING, frequency_hz=5e5, transducer=TRANSDUCER, with_phase=False)
    n = n_heads * len(POSES)
    group = create_store(path, spec, head_names=[f"head{h}" for h in range(n_heads)], n_samples=n,
                         splits={"train": [0], "test": list(range(1, n_heads))}, creation_config={"test": True})
    bowl = bowl_from_record(TRANSDUCER, 5e5)
    records = []
    for h in range(n_heads):
        shift = (shifts or {}).get(h, (0.0, 0.0, 0.0))
        head = make_head(shift=shift, seed=h)
        write_head(group, h, head.hu, head.labels, head.affine)
        for k, pose in enumerate(POSES):
            i = h * len(POSES) + k
            if i in pending:
                continue
            moved = Pose(pose.apex + np.asarray(shift), pose.target + np.asarray(shift))
            field = predictor.predict(head.hu, head.affine, bowl, moved)
            if roll and i in roll:
                field = np.roll(field, roll[i], axis=0)
            write_sample_fields(path, i, field)
            records.append(SampleRecord(i, h, tuple(moved.apex), tuple(moved.target), tuple(moved.target), "kwave",
                                        float(field.max()), 1.0, "failed" if i in failed else "complete"))
    mark_samples(group, records)
    return Path(path)
