"""The store a config describes: its spec, head splits, and whether an existing store belongs to the config.

Example:
    >>> from tfus.workflows.generate.plan import head_splits
    >>> head_splits(["a", "b", "c", "d", "e"], val=0.2, test=0.2, seed=0)["train"]
    [0, 2, 3]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.workflows.generate.config import GenerateConfig


def head_splits(names: list[str], *, val: float, test: float, seed: int,
                explicit: dict[str, tuple[str, ...]] | None = None) -> dict[str, list[int]]:
    """Head indices per split: explicit names, or seeded fractions (at least one head in a split whose fraction is
    positive, when there are heads to spare; train keeps at least one)."""
    if explicit is not None:
        index = {n: i for i, n in enumerate(names)}
        return {k: sorted(index[n] for n in explicit.get(k, ())) for k in ("train", "val", "test")}
    n = len(names)
    order = np.random.default_rng(seed).permutation(n).tolist()

    def count(frac: float) -> int:
        return 0 if frac <= 0 else max(1, int(round(frac * n)))

    n_test = min(count(test), max(n - 1, 0))
    n_val = min(count(val), max(n - 1 - n_test, 0))
    test_idx, val_idx = order[:n_test], order[n_test:n_test + n_val]
    return {"train": sorted(order[n_test + n_val:]), "val": sorted(val_idx), "test": sorted(test_idx)}


@dataclass(frozen=True)
class PlannedHead:
    """One head of the store: a real head (``copy`` 0) or augmented copy ``copy`` of real head ``source``."""

    name: str
    source: int  # index into cfg.heads
    copy: int = 0
    seed: int = 0  # seed of the augmentation (copies only)
    augmentation: object | None = None  # SkullAugmentation (copies only)

    def record(self) -> dict:
        """What the store records of an augmented copy (reproducible from it alone)."""
        return {"name": self.name, "source": self.source, "copy": self.copy, "seed": self.seed,
                "augmentation": self.augmentation.as_dict()}


def real_splits(cfg: GenerateConfig) -> dict[str, list[int]]:
    """Split of the config's real heads (indices into ``cfg.heads``)."""
    return head_splits([h.name for h in cfg.heads], val=cfg.splits.val, test=cfg.splits.test, seed=cfg.seed,
                       explicit=cfg.splits.names)


def augment_seed(seed: int, source: int, copy: int) -> int:
    """Seed of augmented copy ``copy`` of head ``source`` in a dataset with ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(source), int(copy)]).generate_state(1)[0])


def planned_heads(cfg: GenerateConfig) -> list[PlannedHead]:
    """The store's heads in store order: the real heads, then ``augment.copies`` copies of each training head."""
    from tfus.workflows.generate.config import augmented_name

    heads = [PlannedHead(name=h.name, source=i) for i, h in enumerate(cfg.heads)]
    if cfg.augment is None:
        return heads
    for i in real_splits(cfg)["train"]:
        for k in range(1, cfg.augment.copies + 1):
            seed = augment_seed(cfg.seed, i, k)
            heads.append(PlannedHead(name=augmented_name(cfg.heads[i].name, k), source=i, copy=k, seed=seed,
                                     augmentation=cfg.augment.draw(seed)))
    return heads


def planned_splits(cfg: GenerateConfig) -> dict[str, list[int]]:
    """Store head indices per split: the real heads' split, every augmented copy in train."""
    splits = real_splits(cfg)
    copies = [j for j, h in enumerate(planned_heads(cfg)) if h.copy > 0]
    return {**splits, "train": sorted(splits["train"] + copies)}


def store_spec_for(cfg: GenerateConfig, transducer) -> object:
    """The :class:`~tfus.pipeline.store.StoreSpec` of the dataset ``cfg`` describes."""
    from tfus.pipeline.store import StoreSpec

    frequency = float(cfg.simulation.frequency_hz or transducer.frequency_hz)
    beam = {}
    if cfg.frame == "beam":
        from tfus.pipeline.beam import CANONICAL_POSE, BeamFrame

        box = cfg.box.beam_box()
        frame = BeamFrame.from_pose(CANONICAL_POSE, transducer, float(cfg.grid.spacing_mm), box)
        beam = {"frame": "beam", "box_shape": frame.shape, "box": cfg.box.model_dump(mode="json")}
    return StoreSpec(grid_shape=tuple(cfg.grid.shape), spacing_mm=float(cfg.grid.spacing_mm), frequency_hz=frequency,
                     engines=(cfg.simulation.engine,), transducer=transducer_attrs(transducer),
                     hu_mapping=cfg.simulation.mapping, n_snapshots=cfg.simulation.snapshots,
                     with_phase=cfg.simulation.with_phase, **beam)


def transducer_attrs(transducer) -> dict:
    return {"name": transducer.name, "radius_of_curvature_mm": float(transducer.radius_of_curvature_mm),
            "aperture_mm": float(transducer.aperture_diameter_mm), "frequency_hz": float(transducer.frequency_hz),
            "source_amplitude_pa": float(transducer.source_amplitude_pa)}


def check_existing(path: Path, cfg: GenerateConfig, spec) -> None:
    """An existing store must have been made from this dataset definition (same grid, physics, heads, poses);
    otherwise a one-line error says what differs."""
    from tfus.pipeline.store import open_store, store_spec

    group = open_store(path, mode="r")
    found = store_spec(group)
    reason = spec.compatible_with(found)
    if reason:
        raise TfusInputError(f"{path} was made with another dataset definition ({reason}); use a new --store or "
                             "--overwrite")
    names = list(group.attrs.get("head_names", []))
    wanted = [h.name for h in planned_heads(cfg)]
    if names != wanted:
        raise TfusInputError(f"{path} holds heads {names}, the config lists {wanted}; use a new --store or "
                             "--overwrite")
    n = int(group["status"].shape[0])
    if n != cfg.n_samples:
        raise TfusInputError(f"{path} holds {n} samples, the config makes {cfg.n_samples}; use a new --store or "
                             "--overwrite")
    old = (group.attrs.get("creation_config") or {})
    for key in ("seed", "poses", "simulation", "augment"):
        if key in old and old[key] != cfg.public()[key]:
            raise TfusInputError(f"{path} was made with other {key!r} settings; use a new --store or --overwrite")
