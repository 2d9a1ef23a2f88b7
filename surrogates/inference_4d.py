"""Inference of the time-resolved surrogate (``sep4d``): the :class:`~tfus.surrogates.inference.Predictor` path
(transducer checks, resampling to the trained spacing, air padding to the trained window, crop and resample back,
source-amplitude scaling) with the snapshots as the network's output.

:meth:`Sep4dPredictor.predict_detailed` returns a :class:`~tfus.surrogates.inference.Prediction` whose ``snapshots``
are ``(T, *head grid)`` in Pa at ``snapshot_times_s`` (default: the training split's median times, recorded in the
checkpoint) and whose ``pressure`` is the peak-pressure map ``max_t |p|``. A head larger than the trained window
is predicted by sliding windows of that size over all input channels at once (the inputs are fields on the whole
grid, so a window's inputs are just their cut; :func:`~tfus.surrogates.windows.sliding_window_fields`), each window
in pascals with its own predicted peak, Gaussian-blended; the time axis is never cut.

Evaluation hooks: a store sample's reference is the peak-pressure map of its snapshots; a prediction of it uses the
sample's own snapshot times; extra metrics are the time-resolved relative L2 and the peak-negative-pressure (hence
MI) error.

Example:
    >>> predictor = Predictor.from_checkpoint("runs/sep4d")              # doctest: +SKIP
    >>> pred = predictor.predict_detailed(head.hu, head.affine, bowl, pose)   # doctest: +SKIP
    >>> pred.snapshots.shape[1:] == head.hu.shape                        # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.inference import Prediction, Predictor

__all__ = ["Sep4dPredictor"]


class Sep4dPredictor(Predictor):
    """:class:`Predictor` of a ``sep4d`` checkpoint (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from tfus.surrogates.data.wave_inputs import C_WATER_M_S, WaveSource

        entry = self.data.raw.get("snapshots")
        if not isinstance(entry, Mapping) or not entry.get("times_s") or not isinstance(entry.get("source"), Mapping):
            raise TfusInputError(f"{self.source or 'the checkpoint'}: its data entry lacks the snapshot record of a "
                                 "time-resolved model; re-train it with this tfus")
        try:
            self.times = np.asarray(entry["times_s"], float)
            self.wave_source = WaveSource(**{k: entry["source"][k] for k in ("frequency_hz", "burst_cycles",
                                                                            "ramp_periods")})
            self.c_water = float(entry.get("c_water_m_s", C_WATER_M_S))
        except (KeyError, TypeError, ValueError) as err:
            raise TfusInputError(f"the checkpoint's snapshot record is malformed ({err}); re-train it") from None

    def _predict_padded(self, hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                        snapshot_times: Sequence[float] | None, prior: np.ndarray | None = None
                        ) -> tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]:
        from tfus.pipeline.fields import peak_abs
        from tfus.surrogates.data.wave_inputs import snapshot_inputs, to_model_axes
        from tfus.surrogates.normalization import snapshots_pascal
        from tfus.surrogates.windows import sliding_window_fields

        times = self.times if snapshot_times is None else np.asarray(snapshot_times, float)
        x = snapshot_inputs(hu, affine, transducer, pose, self.normalization, times, self.wave_source,
                            self.data.n_points, self.c_water)
        n_static = x.ct.shape[0] + x.geometry.shape[0]
        wave_shape = x.wave.shape[:2]

        def window_pascal(window: torch.Tensor) -> torch.Tensor:
            """``(B, static + wave channels x T, *roi)`` -> ``(B, T, *roi)`` snapshots in Pa (model axes)."""
            wave = window[:, n_static:].reshape(window.shape[0], *wave_shape, *window.shape[2:])
            out = self.model(window[:, :1], window[:, 1:n_static], wave)
            if out.log_peak is None:
                raise TfusInputError(f"this {self.name} model returned no log peak; it cannot give pascals")
            return snapshots_pascal(out.field, out.log_peak, self.normalization)

        packed = np.concatenate([x.ct, x.geometry, x.wave.reshape(-1, *x.wave.shape[2:])])
        roi = tuple(int(n) for n in reversed(self.data.grid_shape))  # store (x, y, z) -> model (z, y, x)
        with torch.inference_mode():
            inputs = torch.from_numpy(packed).to(self.device)[None]
            if tuple(inputs.shape[2:]) == roi:
                out, windows = window_pascal(inputs), 1
            else:
                out, windows = sliding_window_fields(inputs, roi, window_pascal, overlap=self.overlap,
                                                     sw_batch_size=self.sw_batch_size)
            snaps = to_model_axes(out[0].float()).cpu().numpy()
        return peak_abs(snaps), windows, snaps, times

    def reference_field(self, item: Mapping) -> np.ndarray:
        from tfus.pipeline.fields import peak_abs

        if "snapshots" not in item:
            raise TfusInputError("the store holds no snapshots; evaluate a time-resolved model on a store generated "
                                 "with simulation.kwave.snapshots")
        return peak_abs(np.asarray(item["snapshots"], np.float64))

    def sample_options(self, item: Mapping) -> dict:
        if "snapshot_times" not in item:
            raise TfusInputError("the store holds snapshots but not their times; re-generate it with this tfus")
        return {"snapshot_times": np.asarray(item["snapshot_times"], float)}

    def extra_metrics(self, pred: Prediction, item: Mapping) -> dict[str, float]:
        from tfus.pipeline.fields import mechanical_index, peak_negative
        from tfus.surrogates.metrics import time_rel_l2_percent

        true = np.asarray(item["snapshots"], np.float64)
        pnp_pred, pnp_true = float(peak_negative(pred.snapshots).max()), float(peak_negative(true).max())
        f = self.wave_source.frequency_hz
        return {"time_rel_l2": time_rel_l2_percent(pred.snapshots, true),
                "peak_negative_error": 100 * abs(pnp_pred - pnp_true) / pnp_true,
                "mi_pred": float(mechanical_index(pnp_pred, f)), "mi_true": float(mechanical_index(pnp_true, f))}
