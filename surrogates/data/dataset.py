"""The training dataset: the complete samples of one split of a tfus store (from ``tfus generate`` or
``tfus data import-tfuscapes``), read lazily, one sample per item.

* **Split by head**: a split is a list of heads (the store's ``splits`` attribute), so no head is in two splits.
* **Lazy and worker safe**: the store is opened on first use in each process (the dataset pickles to its path);
  an item reads one head chunk (``hu``) and one field chunk (``pressure``); the small per-sample arrays are read once.
* **Inputs** come from :func:`tfus.surrogates.data.inputs.model_inputs`, the one input preparation shared with
  evaluation and ``tfus predict``.
* **Targets**: the peak-normalised log map (:meth:`Normalization.field`) and the normalised log peak
  (:meth:`Normalization.log_peak`), so a prediction goes back to pascals with :meth:`Normalization.to_pascal`.
* **Augmentation** (``augment=True``): a left-right mirror (voxel axis 0) of CT, field and pose together
  (:mod:`tfus.surrogates.data.augment`), drawn per ``(seed, epoch, sample)``: the same epoch gives the same flips
  in any worker layout and after a resume. Call :meth:`StoreFieldDataset.set_epoch` before each epoch. In a
  beam-frame store, one of the 8 symmetries of the box's square cross-section instead
  (:func:`~tfus.surrogates.data.augment.box_symmetry`; the bowl on the box axis is unchanged by them).
* **Prior** (``free_field=True``): in a beam-frame store the bowl's k-Wave water field in the box
  (:func:`~tfus.surrogates.data.prior.beam_water_amplitude`, one per store, shipped inside the checkpoint so
  ``tfus predict`` needs no simulation); in a whole-head store the Rayleigh free field at each pose.

Example:
    >>> from tfus.surrogates.normalization import Normalization
    >>> ds = StoreFieldDataset("dataset.zarr", "train", n_points=2048, normalization=Normalization())  # doctest: +SKIP
    >>> item = ds[0]; item["ct"].shape, item["points"].shape, float(item["target"].max())  # doctest: +SKIP
    (torch.Size([1, 64, 64, 64]), torch.Size([2048, 3]), 1.0)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import zarr
from torch.utils.data import Dataset

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import SPLIT_NAMES, open_store, read_split, read_transducer, split_samples, store_spec
from tfus.pipeline.transducers import Pose
from tfus.surrogates.data.augment import BOX_SYMMETRIES, box_symmetry, mirror_pose, mirror_volume
from tfus.surrogates.data.describe import fit_normalization
from tfus.surrogates.data.inputs import model_inputs
from tfus.surrogates.data.prior import BEAM_PRIORS, beam_water_amplitude, store_angular_amplitude
from tfus.surrogates.normalization import Normalization

__all__ = ["StoreFieldDataset"]


class StoreFieldDataset(Dataset):
    """Complete samples of one split of a store as model inputs and normalised targets.

    Args:
        store: the store folder.
        split: ``train``, ``val`` or ``test``.
        n_points: transducer surface points per sample.
        normalization: the constants (fit the log-peak ones on the training split:
            :func:`tfus.surrogates.data.describe.fit_normalization`).
        augment: random left-right mirror (see the module docstring).
        seed: seed of the augmentation draws.
        return_pressure: include the field in Pa (``pressure``) for metrics.
        free_field: append the free-field prior channel to ``ct`` (models with ``free_field_prior``).
        beam_prior: in a beam-frame store, which prior (``water`` or ``angular-spectrum``: the model's
            ``beam_prior``, :data:`~tfus.surrogates.data.prior.BEAM_PRIORS`).

    Items (torch tensors): ``ct`` (1, X, Y, Z) float32, ``points`` (N, 3) float32, ``target`` (1, X, Y, Z) float32,
    ``log_peak`` () float32 (of ``peak_pa / peak_ref``), ``peak_pa`` () float32, ``peak_ref`` () float32 (the
    angular-spectrum prior's peak, else 1), ``pressure`` (1, X, Y, Z) float32 Pa, ``affine`` (4, 4)
    float64, ``index`` () int64 (sample index in the store), ``mirrored`` () bool.

    Raises:
        TfusInputError: unknown split, a split without heads or without complete samples.
    """

    def __init__(self, store: str | Path, split: str, n_points: int, normalization: Normalization,
                 augment: bool = False, seed: int = 0, return_pressure: bool = True, free_field: bool = False,
                 beam_prior: str = "water") -> None:
        self.path = Path(store)
        self.split = str(split)
        self.n_points = int(n_points)
        self.normalization = normalization
        self.augment = bool(augment)
        self.seed = int(seed)
        self.return_pressure = bool(return_pressure)
        self.free_field = bool(free_field)
        self.epoch = 0
        self.beam_prior = str(beam_prior)
        if self.beam_prior not in BEAM_PRIORS:
            raise TfusInputError(f"unknown beam prior {beam_prior!r}; use one of {', '.join(BEAM_PRIORS)}")
        if self.split not in SPLIT_NAMES:
            raise TfusInputError(f"unknown split {split!r}; use one of {', '.join(SPLIT_NAMES)}")
        if self.n_points < 1:
            raise TfusInputError(f"n_points must be >= 1, got {n_points}")
        group = open_store(self.path)
        self.spec = store_spec(group)
        heads = read_split(group, self.split)
        if not heads:
            raise TfusInputError(f"split {self.split!r} of {self.path} has no heads; give the store a "
                                 f"{self.split} split (`tfus generate` splits: / `--splits`) or choose another split")
        self.indices = split_samples(group, self.split)
        if self.indices.size == 0:
            raise TfusInputError(f"split {self.split!r} of {self.path} has {len(heads)} heads but no complete "
                                 "samples; finish `tfus generate` (it resumes) or check `tfus info`")
        self.head_names = list(group.attrs.get("head_names") or [])
        self.heads = np.asarray(group["head_index"][:], np.int64)[self.indices]
        self.apex = np.asarray(group["apex"][:], float)[self.indices]
        self.target = np.asarray(group["target"][:], float)[self.indices]
        self.affines = np.asarray(group["head_affine"][:], float)
        self.transducer = read_transducer(group)  # at the simulated frequency
        self.beam = self.spec.frame == "beam"
        self.square_box = self.beam and self.spec.field_shape[0] == self.spec.field_shape[1]
        self.angular = self.beam and self.free_field and self.beam_prior == "angular-spectrum"
        self.water = beam_water_amplitude(group) if (self.beam and self.free_field and not self.angular) else None
        self._angular_cache: dict[int, np.ndarray] = {}
        self._group: zarr.Group | None = group
        self._pid = os.getpid()

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_group"] = None
        return state

    @property
    def group(self) -> zarr.Group:
        """The store, opened in this process (re-opened after a fork or unpickling)."""
        if self._group is None or self._pid != os.getpid():
            self._group = open_store(self.path)
            self._pid = os.getpid()
        return self._group

    def set_epoch(self, epoch: int) -> None:
        """Choose the augmentation draws of ``epoch`` (call before creating the epoch's DataLoader iterator)."""
        self.epoch = int(epoch)

    def mirrored(self, i: int) -> bool:
        """Whether item ``i`` is mirrored in the current epoch (always False without ``augment``)."""
        return self.symmetry(i) != 0

    def symmetry(self, i: int) -> int:
        """The augmentation of item ``i`` in the current epoch: 0 (none) or 1 (mirror) in a whole-head store, one of
        the :data:`BOX_SYMMETRIES` box symmetries in a beam-frame store (a non-square box: its flips only)."""
        if not self.augment:
            return 0
        rng = np.random.default_rng([self.seed, self.epoch, int(self.indices[i])])
        if self.beam:
            return int(rng.integers(BOX_SYMMETRIES if self.square_box else 4))
        return int(rng.random() < 0.5)

    def prior_amplitude(self) -> np.ndarray | None:
        """The water field (Pa) of a beam-frame store's prior (None: none, or a per-pose prior: the Rayleigh free
        field, or the angular spectrum through each sample's skull)."""
        return self.water

    def angular_prior(self, s: int) -> np.ndarray:
        """The angular-spectrum prior (Pa) of store sample ``s`` in its box, before augmentation (cached: the march
        costs ~0.1 s, an epoch reads every sample again)."""
        cached = self._angular_cache.get(s)
        if cached is None:
            cached = store_angular_amplitude(self.group, self.group["box_hu"][s], self.group["box_labels"][s])
            cached.setflags(write=False)
            self._angular_cache[s] = cached
        return cached

    def pose(self, i: int) -> Pose:
        """The stored (not augmented) pose of item ``i``."""
        return Pose(self.apex[i], self.target[i])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"item {i} out of range ({n} samples in split {self.split!r})")
        i = int(i) % n
        s, h = int(self.indices[i]), int(self.heads[i])
        if self.spec.frame == "beam":  # the sample's own box: the bowl on its axis, the skull under it
            hu = np.asarray(self.group["box_hu"][s], np.float32)
            affine = np.asarray(self.group["box_affine"][s], float)
        else:
            hu = np.asarray(self.group["hu"][h], np.float32)
            affine = self.affines[h]
        pose, k = self.pose(i), self.symmetry(i)
        if k and self.beam:  # the bowl lies on the box axis: the box symmetries leave the pose as it is
            hu = box_symmetry(hu, k)
        elif k:
            hu = mirror_volume(hu)
            pose = mirror_pose(pose, affine, hu.shape)
        return self._item(s, hu, affine, pose, k)

    def _transform(self, volume: np.ndarray, k: int) -> np.ndarray:
        """A target volume under augmentation ``k`` (:meth:`symmetry`), as its head was transformed."""
        if not k:
            return volume
        return box_symmetry(volume, k) if self.beam else mirror_volume(volume)

    def _item(self, s: int, hu: np.ndarray, affine: np.ndarray, pose: Pose, k: int) -> dict[str, torch.Tensor]:
        """The item of store sample ``s`` from its (augmented by ``k``, :meth:`symmetry`) head and pose. Subclasses
        with other targets override this; the split, lazy reading and augmentation stay in this class."""
        pressure = self._transform(np.asarray(self.group["pressure"][s], np.float32), k)
        prior = self._transform(self.angular_prior(s), k) if self.angular else self.water
        x = model_inputs(hu, affine, self.transducer, pose, self.normalization, self.n_points, self.free_field,
                         prior=prior)
        if not np.isfinite(pressure).all():
            raise TfusInputError(f"sample {s} of {self.path} is complete but its pressure is not finite (a missing "
                                 "or damaged chunk); re-generate that sample or the store")
        try:
            y, peak = self.normalization.field(pressure)
        except TfusInputError as err:
            raise TfusInputError(f"sample {s} of {self.path}: {err}") from None
        # with the angular-spectrum prior the scale head predicts the field's peak relative to the prior's
        peak_ref = float(np.max(prior)) if self.angular else 1.0
        item = {
            "ct": torch.from_numpy(np.ascontiguousarray(x.ct, np.float32)),
            "points": torch.from_numpy(np.ascontiguousarray(x.points, np.float32)),
            "target": torch.from_numpy(np.ascontiguousarray(y, np.float32)[None]),
            "log_peak": torch.tensor(float(self.normalization.log_peak(float(peak) / peak_ref)), dtype=torch.float32),
            "peak_pa": torch.tensor(float(peak), dtype=torch.float32),
            "peak_ref": torch.tensor(peak_ref, dtype=torch.float32),
            "affine": torch.from_numpy(np.array(affine, np.float64)),
            "index": torch.tensor(s, dtype=torch.int64),
            "mirrored": torch.tensor(bool(k)),
        }
        if self.return_pressure:
            item["pressure"] = torch.from_numpy(np.maximum(pressure, 0)[None])
        return item

    def fit_normalization(self, base: Normalization | None = None) -> Normalization:
        """The normalisation fitted on this dataset's peaks (call it on the training split); with the angular-spectrum
        prior, on the field peaks over the prior's (what the scale head predicts then)."""
        if not self.angular:
            return fit_normalization(self.path, self.split, base, indices=self.indices)
        pressure = self.group["pressure"]
        ratios = np.array([float(np.max(pressure[int(s)])) / float(np.max(self.angular_prior(int(s))))
                           for s in self.indices])
        return (base or Normalization()).fit_peaks(ratios[np.isfinite(ratios) & (ratios > 0)])

    def limit(self, n: int, seed: int = 0) -> None:
        """Keep ``n`` of the samples (learning curves): a seeded draw taken in turn from each head, so a small
        subset still spans the heads. No-op when ``n`` >= the sample count."""
        if n >= len(self):
            return
        rng = np.random.default_rng(seed)
        per_head = [rng.permutation(np.flatnonzero(self.heads == h)).tolist() for h in np.unique(self.heads)]
        order = [q.pop(0) for _ in range(max(map(len, per_head))) for q in per_head if q]
        keep = np.sort(np.asarray(order[:n], np.int64))
        self.indices, self.heads = self.indices[keep], self.heads[keep]
        self.apex, self.target = self.apex[keep], self.target[keep]

    def select_heads(self, names: Sequence[str], keep: bool = True) -> None:
        """Keep only (``keep``) or drop the samples of the heads ``names`` (validation heads taken out of a split).

        Raises:
            TfusInputError: a name that is not a head of this split, or no sample left.
        """
        present = {self.head_names[h] for h in np.unique(self.heads)}
        unknown = [n for n in names if n not in present]
        if unknown:
            raise TfusInputError(f"head {unknown[0]!r} is not in split {self.split!r} of {self.path} (its heads: "
                                 f"{', '.join(sorted(present))})")
        wanted = np.isin([self.head_names[h] for h in self.heads], list(names))
        mask = wanted if keep else ~wanted
        if not mask.any():
            raise TfusInputError(f"no samples of split {self.split!r} are left after taking out {', '.join(names)}; "
                                 "keep at least one training head")
        self.indices, self.heads = self.indices[mask], self.heads[mask]
        self.apex, self.target = self.apex[mask], self.target[mask]

    def data_entry(self) -> dict:
        """What a checkpoint's ``data`` entry records beyond :func:`~tfus.surrogates.data.describe.data_description`
        (nothing for amplitude maps)."""
        return {}

    def describe(self) -> dict:
        """Split, heads (names) and sample count, for logs."""
        heads = sorted(set(self.heads.tolist()))
        return {"split": self.split, "heads": [self.head_names[h] for h in heads], "n_samples": len(self)}
