"""The time-resolved training dataset: :class:`StoreFieldDataset` (same split by head, lazy worker-safe reading and
mirror augmentation) with the store's pressure **snapshots** as targets instead of the amplitude map.

* **Targets**: the snapshots divided by the sample's peak ``|p|`` over all snapshots (in [-1, 1], sign kept) and the
  normalised log of that peak (:meth:`Normalization.log_peak`, fitted on the training split's snapshot peaks by
  :meth:`StoreSnapshotDataset.fit_normalization`), so ``field * peak`` is in pascals again.
* **Inputs**: :func:`tfus.surrogates.data.wave_inputs.snapshot_inputs` at the sample's own snapshot times (the
  store's ``snapshot_times``: the spacing differs between samples because the run length depends on the medium).
* **Axes**: model order, ``(T, Z, Y, X)`` (:func:`~tfus.surrogates.data.wave_inputs.to_model_axes`).
* **Slabs** (``slab=k``, Tetris stage 1): each item is ``k`` consecutive z slices at a random depth, drawn per
  ``(seed, epoch, sample)`` like the mirror; the normalisation stays the whole sample's, so a slab's targets are
  the same numbers as in the 4D stage.

Items (torch tensors): ``ct`` (1, Z, Y, X), ``geometry`` (2, Z, Y, X), ``wave`` (3, T, Z, Y, X), ``target``
(1, T, Z, Y, X), ``log_peak`` (), ``peak_pa`` (), ``times`` (T,) float64 s, ``affine`` (4, 4) float64 (store axes),
``index`` (), ``mirrored`` (), ``z0`` () first z slice (0 without slabs), ``target_energy`` () and
``target_grad_energy`` (4,): mean ``target^2`` and mean squared forward differences along T, Z, Y, X of the whole
sample (the loss's reference, so a slab is weighed as in 4D).

Example:
    >>> from tfus.surrogates.normalization import Normalization
    >>> ds = StoreSnapshotDataset("demo-4d.zarr", "train", 2048, Normalization())   # doctest: +SKIP
    >>> ds.normalization = ds.fit_normalization(); item = ds[0]                       # doctest: +SKIP
    >>> item["target"].shape, float(item["target"].abs().max())                      # doctest: +SKIP
    (torch.Size([1, 16, 40, 52, 40]), 1.0)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import Pose
from tfus.surrogates.data.dataset import StoreFieldDataset
from tfus.surrogates.data.wave_inputs import C_WATER_M_S, WaveSource, snapshot_inputs, to_model_axes
from tfus.surrogates.normalization import Normalization

__all__ = ["StoreSnapshotDataset"]


class StoreSnapshotDataset(StoreFieldDataset):
    """Complete samples of one split as time-resolved inputs and peak-normalised snapshot targets.

    Args:
        store: the store folder (made with ``simulation.kwave.snapshots`` > 0).
        split: ``train``, ``val`` or ``test``.
        n_points: bowl points rasterised into the surface channel.
        normalization: the constants (fit with :meth:`fit_normalization` on the training split).
        augment: random left-right mirror.
        seed: seed of the augmentation and slab draws.
        return_pressure: unused (the Pa snapshots are ``target * peak_pa``); kept for the common signature.
        slab: z slices per item (None: the whole volume).

    Raises:
        TfusInputError: a store without snapshots or snapshot times, a slab thicker than the grid.
    """

    def __init__(self, store: str | Path, split: str, n_points: int, normalization: Normalization,
                 augment: bool = False, seed: int = 0, return_pressure: bool = True, slab: int | None = None) -> None:
        super().__init__(store, split, n_points, normalization, augment=augment, seed=seed,
                         return_pressure=return_pressure)
        group = self.group
        if self.spec.n_snapshots == 0 or "snapshots" not in group:
            raise TfusInputError(f"{self.path} stores no snapshots; a time-resolved model needs a store generated "
                                 "with simulation.kwave.snapshots (e.g. `tfus generate demo-4d`)")
        if "snapshot_times" not in group:
            raise TfusInputError(f"{self.path} stores snapshots but not their times (made before tfus recorded "
                                 "them); re-generate it with this tfus")
        self.times = np.asarray(group["snapshot_times"][:], float)
        bad = [int(s) for s in self.indices if not np.all(np.isfinite(self.times[s]))]
        if bad:
            raise TfusInputError(f"sample {bad[0]} of {self.path} is complete but has no snapshot times; re-generate "
                                 "that sample")
        self.source = WaveSource.from_store_attrs(dict(group.attrs), self.spec.frequency_hz)
        nz = self.spec.grid_shape[2]
        if slab is not None and not 1 <= int(slab) <= nz:
            raise TfusInputError(f"slab {slab} must be between 1 and the grid's {nz} z slices")
        self.slab = None if slab is None else int(slab)

    def slab_start(self, s: int) -> int:
        """First z slice of store sample ``s``'s slab in the current epoch (0 without slabs)."""
        if self.slab is None:
            return 0
        rng = np.random.default_rng([self.seed, self.epoch, int(s), 1])
        return int(rng.integers(0, self.spec.grid_shape[2] - self.slab + 1))

    def snapshot_peaks(self) -> np.ndarray:
        """Peak ``|p|`` (Pa) over the snapshots of every sample of the split."""
        return np.array([float(np.nanmax(np.abs(np.asarray(self.group["snapshots"][int(s)], np.float32))))
                         for s in self.indices])

    def fit_normalization(self, base: Normalization | None = None) -> Normalization:
        """The normalisation with the log-peak constants fitted on this split's snapshot peaks."""
        peaks = self.snapshot_peaks()
        peaks = peaks[np.isfinite(peaks) & (peaks > 0)]
        if peaks.size == 0:
            raise TfusInputError(f"split {self.split!r} of {self.path} has no sample with non-zero snapshots; nothing "
                                 "to fit the normalisation on")
        return (base or Normalization()).fit_peaks(peaks)

    def data_entry(self) -> dict:
        """The checkpoint's record of the snapshots: count, the split's median times, the drive, the axis order."""
        times = np.median(self.times[self.indices], axis=0)
        return {"snapshots": {"n_snapshots": int(self.spec.n_snapshots), "times_s": [float(t) for t in times],
                              "source": self.source.to_dict(), "c_water_m_s": C_WATER_M_S,
                              "model_axes": "t,z,y,x", "store_axes": "t,x,y,z"}}

    def _item(self, s: int, hu: np.ndarray, affine: np.ndarray, pose: Pose, k: int) -> dict[str, torch.Tensor]:
        snaps = np.asarray(self.group["snapshots"][s], np.float32)
        if not np.isfinite(snaps).all():
            raise TfusInputError(f"sample {s} of {self.path} is complete but its snapshots are not finite (a missing "
                                 "or damaged chunk); re-generate that sample or the store")
        snaps = self._transform(snaps, k)
        peak = float(np.abs(snaps).max())
        if not peak > 0:
            raise TfusInputError(f"sample {s} of {self.path}: the snapshots are all zero; drop the sample")
        x = snapshot_inputs(hu, affine, self.transducer, pose, self.normalization, self.times[s], self.source,
                            self.n_points)
        target = to_model_axes(snaps / peak)[None]
        energy = float(np.mean(target.astype(np.float64) ** 2))  # of the whole sample: the loss's reference
        grad_energy = [float(np.mean(np.diff(target, axis=a).astype(np.float64) ** 2)) if target.shape[a] > 1
                       else 0.0 for a in range(1, target.ndim)]
        z0 = self.slab_start(s)
        arrays = {"ct": x.ct, "geometry": x.geometry, "wave": x.wave, "target": target}
        if self.slab is not None:  # z is the third-from-last axis in model order
            arrays = {k: v[..., z0: z0 + self.slab, :, :] for k, v in arrays.items()}
        item = {k: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k, v in arrays.items()}
        item.update({
            "log_peak": torch.tensor(float(self.normalization.log_peak(peak)), dtype=torch.float32),
            "peak_pa": torch.tensor(peak, dtype=torch.float32),
            "times": torch.from_numpy(np.array(self.times[s], np.float64)),
            "affine": torch.from_numpy(np.array(affine, np.float64)),
            "index": torch.tensor(s, dtype=torch.int64),
            "mirrored": torch.tensor(bool(k)),
            "z0": torch.tensor(z0, dtype=torch.int64),
            "target_energy": torch.tensor(energy, dtype=torch.float32),
            "target_grad_energy": torch.tensor(grad_energy, dtype=torch.float32),
        })
        return item
