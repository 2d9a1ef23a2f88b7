"""Evaluate a trained surrogate on a split of a dataset store: every complete sample of the split's heads is predicted
with :class:`~tfus.surrogates.inference.Predictor` (the same path as ``tfus predict``) and compared with its
simulated field by :func:`tfus.surrogates.metrics.sample_metrics` (fields in Pa, the head's affine for world mm).

Reported per sample and aggregated (mean, median, count):

* ``rel_l2`` (%): ``100 ||p_hat - p|| / ||p||``; ``rel_l2_log`` (%): the same on the log-normalised maps;
* ``focal_error_mm``: distance between the two maxima;
* ``peak_error`` (%): ``100 |max p_hat - max p| / max p``;
* ``focal_error_brain_mm``, ``peak_error_brain`` (%): the same two inside the head's intracranial voxels (label
  BRAIN; NaN for a head without them), where the focus a study plans sits — the whole-field maximum can be a hot
  spot at the scalp or skull;
* ``focal_dice``, ``focal_iou``: overlap of the -6 dB focal regions; ``focal_volume_error`` (%);
* ``predict_seconds``: one prediction (input preparation, network, back to Pa).

The comparison goes through the predictor's evaluation hooks (:meth:`~tfus.surrogates.inference.Predictor.
reference_field`, ``sample_options``, ``extra_metrics``): a time-resolved model (``sep4d``) is compared on the
peak-pressure map ``max_t |p|`` of the stored snapshots, predicted at each sample's own snapshot times, and adds
``time_rel_l2`` (%, over all snapshots), ``peak_negative_error`` (%, hence the MI error) and ``mi_pred`` /
``mi_true``.

Heads the model was trained on that appear in the evaluated split are listed in ``train_heads_evaluated`` (a
leak: the numbers would flatter the model).

Example:
    >>> result = evaluate("runs/demo", "demo.zarr", split="test")         # doctest: +SKIP
    >>> result["rel_l2"]["median"], result["focal_error_mm"]["mean"]       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError

__all__ = ["METRICS", "evaluate", "evaluate_prior", "mean_transmission"]

#: JSON key -> (key of :func:`tfus.surrogates.metrics.sample_metrics`, unit)
METRICS = {
    "rel_l2": ("rel_l2_percent", "%"),
    "rel_l2_log": ("rel_l2_log_percent", "%"),
    "focal_error_mm": ("focal_error_mm", "mm"),
    "peak_error": ("peak_error_percent", "%"),
    "focal_error_brain_mm": ("focal_error_brain_mm", "mm"),
    "peak_error_brain": ("peak_error_brain_percent", "%"),
    "focal_dice": ("focal_dice", ""),
    "focal_iou": ("focal_iou", ""),
    "focal_volume_error": ("focal_volume_error_percent", "%"),
    "predict_seconds": ("predict_seconds", "s"),
}


#: units of the extra metrics of time-resolved models (:meth:`Predictor.extra_metrics`)
EXTRA_UNITS = {"time_rel_l2": "%", "peak_negative_error": "%", "mi_pred": "", "mi_true": ""}


def extra_names(records: list[dict]) -> list[str]:
    """Metric keys of the records beyond the per-sample bookkeeping (in first-seen order)."""
    skip = {"index", "head", "peak_pred_pa", "peak_true_pa", "peak_brain_pred_pa", "peak_brain_true_pa", "windows"}
    return list(dict.fromkeys(k for r in records for k in r if k not in skip))


def _split_heads(group, store: Path, split: str) -> list[int]:
    from tfus.pipeline.store import SPLIT_NAMES, read_split

    heads = read_split(group, split)
    if not heads:
        sizes = {k: len(read_split(group, k)) for k in SPLIT_NAMES}
        raise TfusInputError(f"split {split!r} of {store} has no heads (heads per split: {sizes}); evaluate another "
                             "split with --split")
    return heads


def evaluate(run: str | Path, store: str | Path, split: str = "test", device: str = "cpu",
             predictor=None, say: Callable[[str], None] | None = None) -> dict:
    """Metrics of the surrogate ``run`` (run folder or checkpoint) on the complete samples of ``split`` in ``store``.

    Args:
        run: training run folder (``best.pt``) or checkpoint file.
        store: dataset store folder.
        split: ``train``, ``val`` or ``test``.
        device: ``cpu`` or ``gpu``.
        predictor: an already loaded :class:`~tfus.surrogates.inference.Predictor` (then ``run`` only labels the
            result).
        say: progress callback (one line per sample).

    Returns:
        ``{"rel_l2": {"mean", "median", "n"}, "focal_error_mm": ..., "peak_error": ..., ..., "per_sample": [...],
        "units": ..., "run", "store", "split", "n_samples", "heads", "train_heads_evaluated", "model"}``.

    Raises:
        TfusInputError: unknown or empty split, no complete samples in it, an unreadable checkpoint or store, a store
            simulated with a transducer or frequency the model was not trained for.
    """
    from tfus.pipeline.device import resolve_device
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.store import SampleStore, open_store, read_transducer, split_samples, store_spec
    from tfus.pipeline.transducers import Pose
    from tfus.surrogates.inference import Predictor
    from tfus.surrogates.metrics import aggregate, sample_metrics

    resolve_device(device)
    store = Path(store)
    group = open_store(store)
    heads = _split_heads(group, store, split)
    if split_samples(group, split).size == 0:
        total = int(np.isin(np.asarray(group["head_index"][:]), heads).sum())
        raise TfusInputError(f"{store} has no complete samples in split {split!r} ({len(heads)} heads, "
                             f"{total} samples recorded for them); finish `tfus generate` or pick another split")
    spec = store_spec(group)
    names = list(group.attrs.get("head_names", []))
    transducer = read_transducer(group)
    predictor = predictor or Predictor.from_checkpoint(run, device=device)
    predictor.check_transducer(transducer)
    samples = SampleStore(store, split)
    records = []
    for i in range(len(samples)):
        item = samples[i]
        pred = predictor.predict_detailed(item["hu"], item["affine"], transducer, Pose(item["apex"], item["target"]),
                                          **predictor.sample_options(item))
        metrics = sample_metrics(pred.pressure, predictor.reference_field(item), affine=item["affine"],
                                 mask=np.asarray(item["labels"]) == Label.BRAIN)
        metrics["predict_seconds"] = pred.seconds
        extra = predictor.extra_metrics(pred, item)
        head = names[item["head_index"]] if item["head_index"] < len(names) else str(item["head_index"])
        records.append({"index": int(item["index"]), "head": head,
                        **{key: metrics[src] for key, (src, _) in METRICS.items()}, **extra,
                        "peak_pred_pa": metrics["peak_pred_pa"], "peak_true_pa": metrics["peak_true_pa"],
                        "peak_brain_pred_pa": metrics["peak_brain_pred_pa"],
                        "peak_brain_true_pa": metrics["peak_brain_true_pa"],
                        "windows": pred.windows})
        if say is not None:
            say(f"sample {item['index']} ({head}): rel L2 {metrics['rel_l2_percent']:.1f} %, focal error "
                f"{metrics['focal_error_mm']:.1f} mm, peak error {metrics['peak_error_percent']:.1f} %")
    summary = aggregate(records, names=list(METRICS) + [k for k in extra_names(records) if k not in METRICS])
    evaluated = sorted({r["head"] for r in records})
    trained = set(predictor.data.raw.get("train_heads") or [])
    units = {**{k: unit for k, (_, unit) in METRICS.items()}, **{k: EXTRA_UNITS.get(k, "") for k in summary
                                                                   if k not in METRICS}}
    return {**summary, "units": units, "run": str(run), "store": str(store),
            "split": split, "n_samples": len(records), "heads": evaluated,
            "train_heads_evaluated": sorted(trained & set(evaluated)), "device": str(predictor.device),
            "store_grid": {"grid_shape": list(spec.grid_shape), "spacing_mm": spec.spacing_mm,
                           "frequency_hz": spec.frequency_hz, "hu_mapping": spec.hu_mapping},
            "model": predictor.describe(), "per_sample": records}


def evaluate_prior(store: str | Path, split: str = "test", scale: float = 1.0,
                         prior: str = "water") -> dict:
    """The honest baseline of a beam-frame model, its physics prior alone, on ``split``: every sample's field
    "predicted" as the prior. ``prior="water"``: the bowl's water field in the box
    (:func:`~tfus.surrogates.data.prior.beam_water_amplitude`); ``"angular-spectrum"``: the bowl marched through the
    sample's own head (:func:`~tfus.surrogates.data.prior.beam_angular_amplitude`). Times ``scale`` (1: the prior
    itself; a mean skull transmission fitted on the training split gives the water prior its best single amplitude).
    Same metrics and summary keys as :func:`evaluate`, plus ``prior_seconds`` (median time of one prior).

    Example:
        >>> evaluate_prior("beam-ctx250.zarr")["focal_error_mm"]["median"]   # doctest: +SKIP
        3.0
    """
    import time

    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.store import SampleStore, open_store
    from tfus.surrogates.data.prior import BEAM_PRIORS, beam_water_amplitude, store_angular_amplitude
    from tfus.surrogates.metrics import aggregate, sample_metrics

    if prior not in BEAM_PRIORS:
        raise TfusInputError(f"unknown beam prior {prior!r}; use one of {', '.join(BEAM_PRIORS)}")
    group = open_store(store)
    water = beam_water_amplitude(group) * float(scale) if prior == "water" else None
    samples = SampleStore(store, split)
    names = list(group.attrs.get("head_names", []))
    records, seconds = [], []
    for i in range(len(samples)):
        item = samples[i]
        t0 = time.perf_counter()
        field = water if water is not None else \
            float(scale) * store_angular_amplitude(group, item["hu"], item["labels"])
        seconds.append(time.perf_counter() - t0)
        m = sample_metrics(field, np.asarray(item["pressure"]), affine=item["affine"],
                           mask=np.asarray(item["labels"]) == Label.BRAIN)
        records.append({"index": int(item["index"]), "head": names[item["head_index"]],
                        **{key: m[src] for key, (src, _) in METRICS.items() if src in m}})
    keys = [k for k in METRICS if k != "predict_seconds"]
    return {**aggregate(records, names=keys), "split": split, "n_samples": len(records), "scale": float(scale),
            "prior": prior, "prior_seconds": float(np.median(seconds)) if seconds else None, "per_sample": records}


def mean_transmission(store: str | Path, split: str = "train", prior: str = "water") -> float:
    """Median over ``split`` of each field's peak over its prior's peak: the prior's best single amplitude factor
    (``water``: the skull's mean transmission; ``angular-spectrum``: what the one-way march over- or underestimates)."""
    from tfus.pipeline.store import open_store, split_samples
    from tfus.surrogates.data.prior import BEAM_PRIORS, beam_water_amplitude, store_angular_amplitude

    if prior not in BEAM_PRIORS:
        raise TfusInputError(f"unknown beam prior {prior!r}; use one of {', '.join(BEAM_PRIORS)}")
    group = open_store(store)
    water_peak = float(beam_water_amplitude(group).max()) if prior == "water" else None
    ratios = []
    for s in split_samples(group, split):
        s = int(s)
        peak = water_peak if water_peak is not None else float(
            store_angular_amplitude(group, group["box_hu"][s], group["box_labels"][s]).max())
        ratios.append(float(np.max(group["pressure"][s])) / peak)
    if not ratios:
        raise TfusInputError(f"split {split!r} of {store} has no complete samples")
    return float(np.median(ratios))
