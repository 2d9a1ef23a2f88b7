"""Surrogate inference: a trained checkpoint -> the pressure field (Pa) of a transducer pose on a head model's grid,
in the head's world space (the contract of ``tfus simulate``). Used by ``tfus predict``, ``tfus evaluate`` and the
benchmarks.

:meth:`Predictor.predict` takes the head's HU volume and affine, a transducer and a pose (world mm) and:

1. refuses a transducer or frequency the model was not trained for (:class:`~tfus.surrogates.trained.TrainedData`);
2. resamples a head at another spacing to the trained one (:func:`tfus.pipeline.engines.problem.head_on_grid`);
3. pads a grid smaller than the trained window with air, or runs MONAI sliding-window inference on a larger one
   (:mod:`tfus.surrogates.windows`);
4. prepares inputs with :func:`tfus.surrogates.data.inputs.model_inputs` (the one input preparation, shared with
   training), runs the network in ``inference_mode`` and turns map + predicted log peak into pascals
   (:meth:`~tfus.surrogates.normalization.Normalization.to_pascal`);
5. crops / resamples back to the head grid and scales by the source amplitude (linear acoustics).

A beam-frame model (trained on a ``frame: beam`` store; its checkpoint records ``frame`` and ``box``) instead
resamples the head into the pose's beam box (:class:`tfus.pipeline.beam.BeamFrame`, SimpleITK), predicts there with
the water field shipped in its checkpoint as the prior, and maps the box field back onto the head grid (zero
outside the box): the same frame, spacing and mapping as its training simulations.

Example:
    >>> predictor = Predictor.from_checkpoint("runs/demo")            # doctest: +SKIP
    >>> pa = predictor.predict(head.hu, head.affine, bowl, pose)      # doctest: +SKIP
    >>> pa.shape == head.hu.shape, pa.dtype                           # doctest: +SKIP
    (True, dtype('float32'))
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from tfus.pipeline.device import resolve_device, torch_device
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.trained import TrainedData
from tfus.surrogates.windows import pad_to_shape, sliding_window_predict

if TYPE_CHECKING:
    from tfus.pipeline.beam import BeamFrame
    from tfus.pipeline.engines.field import SteadyStateField
    from tfus.pipeline.head.model import HeadModel

__all__ = ["FieldPrediction", "Prediction", "Predictor", "normalization_from_dict", "predict_field", "predictor_class"]

SPACING_TOL_REL = 1e-3  #: head spacings within this of the trained one are used as they are


def predictor_class(model_name: str) -> type[Predictor]:
    """The predictor class of a registered model, as its registry entry names it (:mod:`tfus.surrogates.registry`)."""
    from tfus.surrogates.registry import model_entry

    return model_entry(model_name).predictor_class()


def normalization_from_dict(values: Mapping) -> Normalization:
    """The :class:`Normalization` stored in a checkpoint (extra keys are ignored; bad values are one line)."""
    if not isinstance(values, Mapping):
        raise TfusInputError("the checkpoint's normalization entry is not a mapping; the file is damaged, re-train it")
    names = {f.name for f in fields(Normalization)}
    try:
        return Normalization(**{k: float(v) for k, v in values.items() if k in names})
    except (TypeError, ValueError) as err:
        raise TfusInputError(f"the checkpoint's normalization entry is invalid ({err}); re-train it") from None


@dataclass(frozen=True, eq=False)
class Prediction:
    """One prediction: ``pressure`` (Pa, float32, on the head grid, world space of ``affine``) and how it was made;
    a time-resolved model adds ``snapshots`` ``(T, *grid)`` (Pa) at ``snapshot_times_s`` and ``pressure`` is then
    their peak ``max_t |p|``; a beam-frame model adds its ``frame``, the ``box_pressure`` and the physics prior it was
    shown (``box_prior``, Pa in the box, at the same amplitude scale)."""

    pressure: np.ndarray
    affine: np.ndarray
    peak_pa: float
    seconds: float
    windows: int
    resampled: bool
    padded: bool
    amplitude_scale: float
    snapshots: np.ndarray | None = None
    snapshot_times_s: np.ndarray | None = None
    frame: BeamFrame | None = None
    box_pressure: np.ndarray | None = None
    box_prior: np.ndarray | None = None

    def info(self) -> dict:
        info = {"predict_seconds": self.seconds, "windows": self.windows, "sliding_window": self.windows > 1,
                "resampled": self.resampled, "padded": self.padded, "amplitude_scale": self.amplitude_scale}
        if self.frame is not None:
            info["frame"] = "beam"
            info["beam_frame"] = self.frame.to_dict()
        return info


class Predictor:
    """A surrogate network ready for inference (eval mode, on ``device``) with what it was trained on.

    Args:
        model: the network (DeepTFUS: ``model(ct, points) -> (field, log_peak)``).
        normalization: its normalisation constants.
        data: the checkpoint's ``data`` entry (or a :class:`TrainedData`).
        device: ``cpu`` or ``gpu``.
        overlap: sliding-window overlap (heads larger than the trained window).
        sw_batch_size: windows per forward pass.
        name: model name for records.
        source: where the weights came from (for records).
    """

    def __init__(self, model: torch.nn.Module, normalization: Normalization, data: Mapping | TrainedData,
                 device: str | torch.device = "cpu", overlap: float = 0.5, sw_batch_size: int = 1,
                 name: str = "deeptfus", source: str | None = None, prior: np.ndarray | None = None) -> None:
        self.device = torch_device(device)
        cfg = getattr(model, "config", None)
        self.data = data if isinstance(data, TrainedData) else \
            TrainedData.from_mapping(data, getattr(cfg, "n_points", None))
        if cfg is not None:
            if getattr(cfg, "spatial_dims", 3) != 3:
                raise TfusInputError(f"this {name} model is {cfg.spatial_dims}D; tfus predicts 3D head models")
            if not getattr(cfg, "predict_scale", True):
                raise TfusInputError(f"this {name} model has no scale head (predict_scale off), so it cannot return "
                                     "pascals; train it with predict_scale: true")
            if getattr(cfg, "out_channels", 1) != 1:
                raise TfusInputError(f"this {name} model predicts {cfg.out_channels} channels; tfus predict needs a "
                                     "single pressure-amplitude channel")
        self.model = model.to(self.device).eval()
        self.free_field = bool(getattr(cfg, "free_field_prior", False))
        self.beam = self.data.raw.get("frame") == "beam"
        self.prior = None if prior is None else np.asarray(prior, np.float32)
        self.beam_prior = str(getattr(cfg, "beam_prior", "water"))
        self.angular = self.beam and self.free_field and self.beam_prior == "angular-spectrum"
        if self.beam and self.free_field and not self.angular and (self.prior is None
                                                                    or self.prior.shape != self.data.grid_shape):
            raise TfusInputError(f"this beam-frame {name} model's checkpoint lacks the water field of its box (its "
                                 "prior); the file is damaged or from an older tfus, re-train it")
        self.normalization = normalization
        self.overlap = float(overlap)
        self.sw_batch_size = int(sw_batch_size)
        self.name = name
        self.source = source

    @classmethod
    def from_checkpoint(cls, path_or_run: str | Path, device: str = "cpu", **kwargs) -> Predictor:
        """Load ``RUN/best.pt`` (or a ``.pt`` file) with ``weights_only=True`` and rebuild the network."""
        from tfus.surrogates.checkpoint import load_checkpoint
        from tfus.surrogates.registry import model_from_checkpoint

        resolve_device(device)  # a missing GPU is the first thing to report, before reading anything
        ckpt = load_checkpoint(path_or_run, map_location="cpu")
        if not isinstance(ckpt["model_config"], Mapping):
            raise TfusInputError(f"{path_or_run}: the checkpoint's model_config is not a mapping; re-train it")
        model = model_from_checkpoint(ckpt)
        klass = predictor_class(str(ckpt["model"])) if cls is Predictor else cls
        prior = ckpt.get("prior")
        prior = prior.float().numpy() if isinstance(prior, torch.Tensor) else None
        return klass(model, normalization_from_dict(ckpt["normalization"]), ckpt["data"], device,
                     name=str(ckpt["model"]), source=str(path_or_run), prior=prior, **kwargs)

    # -- checks ----------------------------------------------------------------------------------------------------
    def check_transducer(self, transducer: BowlTransducer) -> None:
        """One-line error if the model was not trained for this transducer's geometry or frequency."""
        self.data.check_transducer(transducer)

    def trained_transducer(self) -> BowlTransducer:
        return self.data.transducer()

    # -- inference -------------------------------------------------------------------------------------------------
    def predict(self, hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                labels: np.ndarray | None = None) -> np.ndarray:
        """Pressure amplitude (Pa, float32) on the grid of ``hu`` / ``affine`` for ``transducer`` at ``pose``
        (``labels``: the head's tissue labels, see :meth:`predict_detailed`)."""
        return self.predict_detailed(hu, affine, transducer, pose, labels=labels).pressure

    def predict_detailed(self, hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                         snapshot_times: Sequence[float] | None = None,
                         labels: np.ndarray | None = None) -> Prediction:
        """:meth:`predict` with timing and how the grid was handled (``snapshot_times``: time-resolved models only,
        default the trained ones; ``labels``: the head's tissue labels, which a beam-frame model with the
        angular-spectrum prior needs)."""
        from tfus.pipeline.engines.problem import head_on_grid
        from tfus.pipeline.head.model import HeadModel
        from tfus.pipeline.io import resample_to

        t0 = time.perf_counter()
        self.check_transducer(transducer)
        hu = np.asarray(hu, np.float32)
        affine = np.asarray(affine, float)
        if hu.ndim != 3 or affine.shape != (4, 4):
            raise TfusInputError(f"predict needs a 3D HU volume and a 4x4 affine, got {hu.shape} and {affine.shape}")
        if not np.isfinite(hu).all():
            raise TfusInputError("the HU volume has non-finite values; fix the head model")
        if self.beam:
            return self._predict_beam(hu, affine, transducer, pose, t0, labels, snapshot_times)
        spacings = np.linalg.norm(affine[:3, :3], axis=0)
        if np.ptp(spacings) > SPACING_TOL_REL * spacings.mean():
            raise TfusInputError(f"the head grid is anisotropic ({np.round(spacings, 4).tolist()} mm); rebuild the "
                                 "head model with `tfus head build --spacing MM`")
        target = self.data.spacing_mm
        resampled = bool(abs(spacings.mean() - target) > SPACING_TOL_REL * target)
        work_hu, work_affine = hu, affine
        if resampled:
            head = head_on_grid(HeadModel(hu=hu, labels=np.zeros(hu.shape, np.uint8), affine=affine), target)
            work_hu, work_affine = head.hu, np.asarray(head.affine, float)
        roi = self.data.grid_shape
        padded_hu, padded_affine, crop = pad_to_shape(work_hu, work_affine, roi)
        pressure, windows, snaps, times = self._predict_padded(padded_hu, padded_affine, transducer, pose,
                                                               snapshot_times)
        pressure = pressure[crop]
        if resampled:
            pressure = resample_to(pressure, work_affine, hu.shape, affine, order=1, cval=0.0)
        scale = self.data.amplitude_scale(transducer)
        pressure = (np.maximum(pressure, 0.0) * scale).astype(np.float32)
        if snaps is not None:  # signed: cropped, resampled frame by frame and scaled like the peak map
            snaps = snaps[(slice(None), *crop)]
            if resampled:
                snaps = np.stack([resample_to(s, work_affine, hu.shape, affine, order=1, cval=0.0) for s in snaps])
            snaps = (snaps * scale).astype(np.float32)
        return Prediction(pressure=pressure, affine=affine, peak_pa=float(pressure.max()),
                          seconds=time.perf_counter() - t0, windows=windows, resampled=resampled,
                          padded=padded_hu.shape != work_hu.shape, amplitude_scale=scale, snapshots=snaps,
                          snapshot_times_s=times)

    def beam_frame(self, pose: Pose, transducer: BowlTransducer) -> BeamFrame:
        """The beam box of ``pose`` this (beam-frame) model predicts in: its trained spacing and box extents."""
        from tfus.pipeline.beam import BeamBox, BeamFrame

        try:
            box = BeamBox(**dict(self.data.raw.get("box") or {}))
        except (TypeError, TfusInputError) as err:
            raise TfusInputError(f"the checkpoint's beam box record is invalid ({err}); re-train the model") from None
        frame = BeamFrame.from_pose(pose, transducer, self.data.spacing_mm, box)
        if tuple(frame.shape) != tuple(self.data.grid_shape):
            raise TfusInputError(f"the beam box of {transducer.name} is {list(frame.shape)} voxels, the model was "
                                 f"trained on {list(self.data.grid_shape)}; use the transducer it was trained for")
        return frame

    def _predict_beam(self, hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                      t0: float, labels: np.ndarray | None = None,
                      snapshot_times: Sequence[float] | None = None) -> Prediction:
        """Head -> the pose's beam box -> the network -> back onto the head grid (zero outside the box)."""
        from tfus.pipeline.beam import AIR_HU, MAX_OUTSIDE_MM, check_box_in_image, from_box, to_box
        from tfus.surrogates.data.prior import beam_angular_amplitude

        frame = self.beam_frame(pose, transducer)
        check_box_in_image(frame, hu.shape, affine, MAX_OUTSIDE_MM)
        box_hu = to_box(hu, affine, frame, fill=AIR_HU).astype(np.float32)
        prior = self.prior
        if self.angular:
            if labels is None or np.shape(labels) != hu.shape:
                raise TfusInputError(f"this {self.name} model's prior (the angular spectrum through the skull) needs "
                                     "the head's tissue labels; predict on a head model (`tfus head build`)")
            box_labels = to_box(np.asarray(labels), affine, frame, nearest=True).astype(np.uint8)
            prior = beam_angular_amplitude(box_hu, box_labels, transducer, frame.spacing_mm,
                                           float(frame.apex_index[2]), self.data.hu_mapping)
        box_pressure, _, box_snaps, times = self._predict_padded(box_hu, np.asarray(frame.affine, float), transducer,
                                                                 pose, snapshot_times, prior=prior)
        if self.angular:  # the scale head predicts the peak relative to the prior's
            box_pressure = box_pressure * float(np.max(prior))
        scale = self.data.amplitude_scale(transducer)
        box_pressure = (np.maximum(box_pressure, 0.0) * scale).astype(np.float32)
        pressure = np.maximum(from_box(box_pressure, frame, hu.shape, affine), 0.0).astype(np.float32)
        snaps = None
        if box_snaps is not None:  # signed, frame by frame, scaled like the peak map
            snaps = np.stack([from_box(s, frame, hu.shape, affine) for s in box_snaps]).astype(np.float32) * scale
        box_prior = None if prior is None else (np.asarray(prior, np.float32) * scale).astype(np.float32)
        return Prediction(pressure=pressure, affine=affine, peak_pa=float(pressure.max()),
                          seconds=time.perf_counter() - t0, windows=1, resampled=True, padded=False,
                          amplitude_scale=scale, snapshots=snaps, snapshot_times_s=times, frame=frame,
                          box_pressure=box_pressure, box_prior=box_prior)

    def _predict_padded(self, hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                        snapshot_times: Sequence[float] | None, prior: np.ndarray | None = None
                        ) -> tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]:
        """``(pressure, windows, snapshots, times)`` on a grid padded to at least the trained window, or on a beam box
        (the hook a time-resolved predictor overrides; ``prior``: a beam-frame model's prior on that box)."""
        from tfus.surrogates.data.inputs import model_inputs

        if snapshot_times is not None:
            raise TfusInputError(f"this {self.name} model predicts amplitude maps, not snapshots; drop the snapshot "
                                 "times")
        inputs = model_inputs(hu, affine, transducer, pose, self.normalization, self.data.n_points,
                              self.free_field, prior=prior)
        pressure, windows = self._run(inputs.ct, inputs.points)
        return pressure, windows, None, None

    # -- evaluation hooks (what a sample of a store is compared with) ----------------------------------------------
    def reference_field(self, item: Mapping) -> np.ndarray:
        """The simulated map a prediction of store sample ``item`` (:class:`~tfus.pipeline.store.SampleStore`) is
        compared with: the amplitude (Pa)."""
        return np.asarray(item["pressure"])

    def sample_options(self, item: Mapping) -> dict:
        """Extra :meth:`predict_detailed` arguments to reproduce store sample ``item`` (amplitude maps: the labels,
        which the angular-spectrum prior needs)."""
        return {"labels": np.asarray(item["labels"])} if self.angular else {}

    def extra_metrics(self, pred: Prediction, item: Mapping) -> dict[str, float]:
        """Model-specific metrics of a prediction of ``item`` (JSON key -> value; none for amplitude maps)."""
        return {}

    def _window_pascal(self, ct: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """``(B, C, *S)`` CT and ``(B, N, 3)`` points -> ``(B, 1, *S)`` pressure in Pa."""
        out = self.model(ct, points)
        if out.log_peak is None:
            raise TfusInputError(f"this {self.name} model returned no log peak; it cannot give pascals")
        return self.normalization.to_pascal(out.field[:, 0].float(), out.log_peak.float(), spatial_dims=3)[:, None]

    def _run(self, ct: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, int]:
        roi = self.data.grid_shape
        with torch.inference_mode():
            ct_t = torch.from_numpy(np.ascontiguousarray(ct)).to(self.device)[None]
            pts = torch.from_numpy(np.ascontiguousarray(points)).to(self.device)
            if tuple(ct_t.shape[2:]) == tuple(roi):
                out, windows = self._window_pascal(ct_t, pts[None]), 1
            else:
                out, windows = sliding_window_predict(ct_t, pts, roi, self._window_pascal, overlap=self.overlap,
                                                      sw_batch_size=self.sw_batch_size)
            return out[0, 0].float().cpu().numpy(), windows

    def describe(self) -> dict:
        """JSON-ready description (model, source, device, trained data)."""
        cfg = getattr(self.model, "config", None)
        n_params = sum(p.numel() for p in self.model.parameters())
        return {"model": self.name, "checkpoint": self.source, "device": str(self.device), "parameters": n_params,
                "model_config": cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else None,
                "trained_on": self.data.describe()}


@dataclass(frozen=True, eq=False)
class FieldPrediction:
    """What :func:`predict_field` gives: the field (as ``tfus simulate`` returns one), its focal metrics, the JSON
    record of ``tfus predict`` and what a PNG of it draws.

    Attributes:
        field: the predicted steady-state field (amplitude in Pa, zero phase) on the head grid.
        prediction: the raw :class:`Prediction` (snapshots of a time-resolved model, timings).
        metrics: :func:`tfus.pipeline.fields.metrics.field_metrics` of the field.
        record: ``request``, ``metrics``, ``surrogate``, ``versions`` (and ``time_resolved``).
        head: the head model predicted on.
        transducer: the bowl (the trained one unless another was given).
        pose: the transducer pose.
        title: the PNG title.
        trained: what the model was trained on (``tfus predict --verify`` simulates the same way).
    """

    field: SteadyStateField
    prediction: Prediction
    metrics: dict
    record: dict
    head: HeadModel
    transducer: BowlTransducer
    pose: Pose
    title: str
    trained: TrainedData | None = None

    @property
    def time_resolved(self) -> dict | None:
        """The record's time-resolved summary (None for an amplitude model)."""
        return self.record.get("time_resolved")


def predict_field(run: str | Path | Predictor | None, head: str | Path, pose: Pose, *, transducer: str | None = None,
                  frequency_hz: float | None = None, device: str = "cpu") -> FieldPrediction:
    """Predict the field of ``transducer`` at ``pose`` through the head model ``head`` with a trained surrogate: the
    work of ``tfus predict`` (write it with :func:`tfus.pipeline.fields.output.write_field_outputs`).

    Args:
        run: a training run folder, a checkpoint file, a loaded :class:`Predictor`, or None: the model shipped
            for ``transducer`` (:mod:`tfus.surrogates.shipped`; then ``transducer`` is required).
        head: head-model folder (``tfus head build``).
        pose: the transducer pose (world mm).
        transducer: preset name or YAML file (default: the trained transducer).
        frequency_hz: overrides the transducer frequency (Hz, > 0).
        device: ``cpu`` or ``gpu`` (ignored when ``run`` is a predictor).

    Raises:
        TfusInputError: bad frequency, a transducer the model was not trained for, a pose inside the head, ...

    Example:
        >>> from tfus.pipeline.transducers import Pose
        >>> result = predict_field("runs/demo", "heads/mni", Pose([95, -16, 40], [0, -16, 40]))  # doctest: +SKIP
        >>> result.metrics["peak_pressure_pa"] > 0                                                 # doctest: +SKIP
        True
    """
    from dataclasses import replace

    from tfus.pipeline.acoustics import list_mappings
    from tfus.pipeline.engines.field import SteadyStateField
    from tfus.pipeline.engines.problem import check_pose_outside_head, medium_from_head
    from tfus.pipeline.fields.metrics import field_metrics
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.transducers import load_transducer
    from tfus.pipeline.version import versions

    if run is None:  # the shipped model for this transducer (tfus.surrogates.shipped)
        from tfus.surrogates.shipped import shipped_model_for

        if transducer is None:
            raise TfusInputError("without a training RUN, name the transducer (--transducer PRESET) so the shipped "
                                 "model trained for it is used")
        wanted = load_transducer(transducer)
        if frequency_hz is not None and frequency_hz > 0:
            wanted = replace(wanted, frequency_hz=float(frequency_hz))
        shipped = shipped_model_for(wanted)
        run = Predictor.from_checkpoint(shipped.checkpoint, device=device)
        run.source = f"shipped:{shipped.name}"
    predictor = run if isinstance(run, Predictor) else Predictor.from_checkpoint(run, device=device)
    bowl = load_transducer(transducer) if transducer is not None else predictor.trained_transducer()
    if frequency_hz is not None:
        if not frequency_hz > 0:
            raise TfusInputError(f"--frequency must be positive, got {frequency_hz} Hz")
        bowl = replace(bowl, frequency_hz=float(frequency_hz))
    predictor.check_transducer(bowl)
    model = HeadModel.load(head)
    check_pose_outside_head(model, bowl, pose)
    pred = predictor.predict_detailed(model.hu, model.affine, bowl, pose, labels=model.labels)
    mapping = predictor.data.hu_mapping if predictor.data.hu_mapping in list_mappings() else "itrusst"
    medium = medium_from_head(model, mapping)
    field = SteadyStateField(pred.pressure, np.zeros_like(pred.pressure), model.affine, bowl.frequency_hz,
                             {"surrogate": predictor.name, **pred.info()})
    metrics = field_metrics(field, medium, transducer=bowl, pose=pose, labels=model.labels)
    record = {"request": {"run": str(predictor.source), "head": str(head),
                          "device": str(predictor.device) if isinstance(run, Predictor) else device,
                          "frequency_hz": frequency_hz,
                          "pose": {"apex": pose.apex.tolist(), "target": pose.target.tolist()},
                          "transducer": bowl.to_dict()},
              "metrics": metrics, "surrogate": {**predictor.describe(), **pred.info(), "medium_mapping": mapping},
              "versions": versions()}
    if pred.snapshots is not None:
        from tfus.pipeline.fields import mechanical_index, peak_negative, peak_positive

        pnp = float(peak_negative(pred.snapshots).max())
        record["time_resolved"] = {"n_snapshots": int(pred.snapshots.shape[0]),
                                   "times_s": [float(t) for t in pred.snapshot_times_s],
                                   "peak_positive_pa": float(peak_positive(pred.snapshots).max()),
                                   "peak_negative_pa": pnp,
                                   "mechanical_index": float(mechanical_index(pnp, bowl.frequency_hz))}
    peak = float(pred.pressure.max())
    title = (f"{bowl.name}: {predictor.name} prediction, peak {peak / 1e3:.3g} kPa at "
             f"{bowl.frequency_hz / 1e3:.0f} kHz")
    return FieldPrediction(field=field, prediction=pred, metrics=metrics, record=record, head=model, transducer=bowl,
                           pose=pose, title=title, trained=predictor.data)
