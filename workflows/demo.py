"""The end-to-end demo (``tfus demo``): the model that ships with tfus, used and checked on a head it has not trained
on, then the training path exercised on a tiny store.

Stages, each a small function through the same code as the real commands:

1. the shipped model for the transducer (:mod:`tfus.surrogates.shipped`; a transducer no shipped model covers is a
   one-line error naming what is missing);
2. a held-out head (``tfus head build``): colin27 when it was built at setup, else the bundled ITK T1, checked
   against the model's training heads;
3. poses on it (``tfus transducers sample``, aimed at the brain centroid, beam boxes inside the image);
4. each pose predicted with the shipped model (``tfus predict``: beam box -> network -> head grid);
5. the first pose verified against k-Wave (``tfus predict --verify``: the same box, spacing and settings as the
   model's training simulations), beside the bowl's water field alone (the model's prior);
6. the training path: a tiny beam store (``tfus generate beam-tiny``) and a short ``tfus train`` + ``tfus evaluate``
   on it (not the shipped model);
7. ``report.md`` with figures (prediction, simulation, error map), metrics and timings, and ``demo.json``.

Rerunning with the same ``--workdir`` resumes: the head, the verification simulation, the training store and the
training run are reused.

Example:
    >>> from tfus.workflows.demo import DemoConfig
    >>> DemoConfig().transducer, DemoConfig().dataset
    ('neurofus-ctx250', 'beam-tiny')
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.resources import bundled_heads

#: the held-out head, in order of preference (bundled names): the first one present that the model did not train on
HELD_OUT_HEADS = ("colin27_t1", "itk_t1")
#: pose sampling: aimed at the brain centroid, close to the training poses (which follow the scalp normal)
POSE_OPTIONS = {"max_standoff_mm": 15.0, "max_angle_deg": 30.0}


def demo_model() -> dict:
    """The DeepTFUS ``demo`` preset of :data:`~tfus.surrogates.networks.nets.deeptfus_config.PRESETS` (a fresh copy):
    the whole-head model the benchmarks start from.

    Example:
        >>> demo_model()["width"], demo_model()["free_field_prior"]
        (8, True)
    """
    from tfus.surrogates.networks.nets.deeptfus_config import PRESETS

    return dict(PRESETS["demo"])


@dataclass(frozen=True)
class DemoConfig:
    """Demo settings.

    Attributes:
        transducer: preset name or YAML; the model shipped for it is used.
        head: held-out head: a bundled head name or an image path (default: :data:`HELD_OUT_HEADS`).
        poses: poses predicted with the shipped model (the first one is verified against k-Wave).
        dataset: dataset preset or YAML of the training path (a tiny beam-frame store).
        workers: local Dask workers for its simulations (default: one per core).
        epochs: training epochs of the training path.
        batch_size: its batch size.
        model: DeepTFUS config overrides of the training path.
        seed: seed of the poses and of training.
        device: ``cpu`` or ``gpu`` for prediction and training.
        protocol: sonication protocol of the planning report of pose 1's prediction (``plan.html``, ``tfus
            report``; a 0.5 s preset keeps its thermal run cheap).
    """

    transducer: str = "neurofus-ctx250"
    head: str | None = None
    poses: int = 4
    dataset: str = "beam-tiny"
    workers: int | None = None
    epochs: int = 15
    batch_size: int = 2
    model: dict = field(default_factory=lambda: {"preset": "beam-has"})
    seed: int = 0
    device: str = "cpu"
    protocol: str = "legon2018-1khz"


@dataclass(frozen=True)
class HeldOut:
    """The demo's head: its name, image, model folder, whether the shipped model trained on it, whether an earlier
    run's head model was reused, and its measurements (:func:`~tfus.pipeline.head.measures.measure_head`)."""

    name: str
    image: Path
    folder: Path
    head: object  # HeadModel
    trained_on: bool
    reused: bool

    @property
    def summary(self) -> dict:
        return dict(self.head.meta.get("summary") or {})


def run_demo(workdir: Path, config: DemoConfig = DemoConfig(), progress: Callable[[str], None] | None = None,
             sample_bar=None, step_bar=None) -> Path:
    """Run the demo into ``workdir`` and return the path of ``report.md``.

    Args:
        workdir: output folder (head, fields, figures, training store and run, report).
        config: demo settings.
        progress: receives one-line stage messages.
        sample_bar: optional progress-bar factory for the training store's simulations (see ``tfus generate``).
        step_bar: optional ``step_bar(label)`` context manager yielding a ``(done, total)`` step callback (the
            verification simulation).

    Raises:
        TfusInputError: no shipped model for the transducer, no held-out head, a failed simulation (one line).
    """
    from tfus.pipeline.version import versions
    from tfus.workflows.demo_report import render_report

    say = progress or (lambda message: None)
    timings: dict[str, float] = {}
    shipped, predictor, bowl = _shipped_model(config, say)  # before anything is written
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    with _timed(timings, "held-out head model"):
        held = _held_out_head(config, predictor, workdir / "head", say)
    with _timed(timings, "poses"):
        poses = _sample_poses(held, bowl, predictor, config, say)
        head_png = _head_figure(held, poses, workdir / "figures")
    with _timed(timings, "predictions (shipped model)"):
        predictions = _predict_poses(predictor, held, config.transducer, poses, workdir, say)
    with _timed(timings, "verification (k-Wave)"):
        verified = _verify(predictions[0], predictor, shipped, held, workdir, say, step_bar)
    with _timed(timings, "planning report of pose 1 (safety, thermal, HTML)"):
        plan = _plan(predictions[0], held, config, workdir, say)
    with _timed(timings, "training path (store, training, evaluation)"):
        training = _training_path(config, workdir, say, sample_bar)

    record = {"config": asdict(config), "versions": versions(), "timings_s": timings,
              "shipped_model": _model_record(shipped, predictor),
              "head": {"name": held.name, "image": str(held.image), "trained_on": held.trained_on,
                       "reused": held.reused, "shape": list(held.head.shape), **held.summary},
              "predictions": [{k: v for k, v in p.items() if k != "result"} for p in predictions],
              "verification": {k: v for k, v in verified.items() if k != "field"}, "plan": plan,
              "training": training}
    from tfus.pipeline.io.jsonio import write_json

    write_json(workdir / "demo.json", record)
    report = workdir / "report.md"
    from tfus.pipeline.io.atomic import atomic_write_text

    atomic_write_text(report, render_report(record, head_png, workdir))
    say(f"report: {report}")
    return report


@contextmanager
def _timed(timings: dict, name: str):
    """``with _timed(timings, "stage"):`` adds the stage's wall time (s) to ``timings``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - t0


def _device(device: str) -> str:
    from tfus.pipeline.device import parse_device

    return parse_device(device, allow_auto=False).value


# -- 1. the shipped model -----------------------------------------------------------------------------------------
def _shipped_model(config: DemoConfig, say):
    """``(ShippedModel, Predictor, bowl)`` for the transducer; one line naming what is missing otherwise."""
    from tfus.pipeline.transducers import load_transducer
    from tfus.surrogates.inference import Predictor
    from tfus.surrogates.shipped import models_dir, shipped_model_for, shipped_models

    bowl = load_transducer(config.transducer)
    models = shipped_models()
    if not any(m.covers(bowl) for m in models):
        have = ", ".join(m.label() for m in models) or "none"
        raise TfusInputError(f"tfus demo needs the model shipped for {bowl.name} at {bowl.frequency_hz / 1e3:g} kHz "
                             f"and {models_dir()} holds none for it (shipped: {have}); reinstall tfus, or set "
                             "TFUS_MODELS_DIR to a folder holding it")
    shipped = shipped_model_for(bowl)  # checks the weights' checksum
    predictor = Predictor.from_checkpoint(shipped.checkpoint, device=_device(config.device))
    predictor.source = f"shipped:{shipped.name}"
    data = predictor.data
    say(f"shipped model {shipped.label()}: {data.raw.get('frame', 'grid')} frame, {list(data.grid_shape)} voxels "
        f"at {data.spacing_mm:g} mm, trained on {', '.join(_train_heads(predictor)) or 'unrecorded heads'}")
    return shipped, predictor, bowl


def _train_heads(predictor) -> list[str]:
    return [str(h) for h in (predictor.data.raw.get("train_heads") or [])]


def _model_record(shipped, predictor) -> dict:
    data = predictor.data
    return {"name": shipped.name, "transducer": shipped.transducer, "sha256": shipped.sha256,
            "frame": data.raw.get("frame"),
            "grid_shape": list(data.grid_shape), "spacing_mm": data.spacing_mm, "frequency_hz": data.frequency_hz,
            "train_heads": _train_heads(predictor), "test_heads": list(data.raw.get("test_heads") or []),
            "n_train_samples": data.raw.get("n_train_samples"), "summary": shipped.summary}


# -- 2. the held-out head -----------------------------------------------------------------------------------------
def same_head(a: str, b: str) -> bool:
    """Whether two head names mean the same head: store names drop the image's modality tag (``colin27`` is the
    bundled ``colin27_t1``).

    Example:
        >>> same_head("colin27_t1", "colin27"), same_head("cranium_ct", "cranium_ct"), same_head("itk_t1", "mni152")
        (True, True, False)
    """
    def core(name: str) -> str:
        name = name.lower()
        for tag in ("_t1", "_ct"):
            name = name.removesuffix(tag)
        return name

    return core(a) == core(b)


def choose_head(requested: str | None, train_heads: list[str]) -> tuple[str, Path]:
    """``(name, image)`` of the demo's head: ``requested`` (a bundled name or an image path), else the first of
    :data:`HELD_OUT_HEADS` (then any bundled head) the model did not train on.

    Example:
        >>> choose_head(None, ["mni152", "pycortex_s1", "cranium_ct"])[0]   # doctest: +SKIP
        'colin27_t1'
    """
    heads = bundled_heads()
    if requested is not None:
        if requested in heads:
            return requested, heads[requested]
        path = Path(requested).expanduser()
        if not path.exists():
            raise TfusInputError(f"--head {requested}: neither a bundled head ({', '.join(heads)}) nor an image file")
        return path.name.removesuffix(".gz").removesuffix(".nii"), path
    order = [n for n in HELD_OUT_HEADS if n in heads] + [n for n in heads if n not in HELD_OUT_HEADS]
    for name in order:
        if not any(same_head(name, t) for t in train_heads):
            return name, heads[name]
    raise TfusInputError(f"the shipped model trained on every available head ({', '.join(heads)}); pass --head IMAGE "
                         "with another head")


def _held_out_head(config: DemoConfig, predictor, folder: Path, say) -> HeldOut:
    """Build (or reuse) the head model at the model's spacing in ``folder``."""
    from tfus.pipeline.head.build import HeadBuildConfig, build_head
    from tfus.pipeline.head.model import HeadModel

    train_heads = _train_heads(predictor)
    name, image = choose_head(config.head, train_heads)
    trained_on = any(same_head(name, t) for t in train_heads)
    spacing = predictor.data.spacing_mm
    head, reused = None, False
    if (folder / "head.json").is_file():
        old = HeadModel.load(folder)
        if old.meta.get("source") == str(image) and abs(old.spacing_mm - spacing) < 1e-6:
            head, reused = old, True
    if head is None:
        say(f"building the head model of {name} at {spacing:g} mm ({image.name})")
        from tfus.pipeline.head.measures import measure_head

        head = build_head(image, HeadBuildConfig(spacing_mm=spacing, seed=config.seed))
        head.meta["summary"] = measure_head(head)
        head.save(folder)
    note = "the shipped model TRAINED on it: not a held-out check" if trained_on else "not trained on"
    say(f"head {name}: {list(head.shape)} voxels ({'reused' if reused else 'built'}; {note})")
    return HeldOut(name=name, image=Path(image), folder=folder, head=head, trained_on=trained_on, reused=reused)


# -- 3. poses -----------------------------------------------------------------------------------------------------
def _sample_poses(held: HeldOut, bowl, predictor, config: DemoConfig, say) -> list:
    """``config.poses`` poses aimed at the brain centroid whose beam boxes lie in the head image."""
    from tfus.pipeline.beam import MAX_OUTSIDE_MM, box_outside_image_mm
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.transducers import sample_poses

    head = held.head
    brain = np.argwhere(head.labels == Label.BRAIN)
    if brain.size == 0:
        raise TfusInputError(f"head {held.name}: no brain voxels to aim at; check the image")
    target = head.voxel_to_world(brain.mean(0))
    try:  # two spare poses, in case a beam box leaves the image
        candidates = sample_poses(head, bowl, config.poses + 2, target=target, seed=config.seed, **POSE_OPTIONS)
    except TfusInputError:
        candidates = sample_poses(head, bowl, config.poses, target=target, seed=config.seed, **POSE_OPTIONS)
    poses = [c.pose for c in candidates]
    if predictor.beam:
        poses = [p for p in poses
                 if box_outside_image_mm(predictor.beam_frame(p, bowl), head.shape, head.affine) <= MAX_OUTSIDE_MM]
    if not poses:
        raise TfusInputError(f"no pose on {held.name} keeps the beam box inside the head image; pass another --head")
    poses = poses[:config.poses]
    say(f"{len(poses)} poses on {held.name}, aimed at the brain centroid {np.round(target, 1).tolist()} mm")
    return poses


def _head_figure(held: HeldOut, poses: list, folder: Path) -> Path:
    from tfus.pipeline.figures import save_label_overlay

    png = folder / f"head_{held.name}.png"
    points = np.array([p.apex for p in poses] + [p.target for p in poses], float)
    save_label_overlay(held.head, png, title=f"{held.name}: poses (apexes, target)", points_world=points)
    return png


# -- 4. predictions -----------------------------------------------------------------------------------------------
def _predict_poses(predictor, held: HeldOut, transducer: str, poses: list, workdir: Path, say) -> list[dict]:
    """Each pose predicted (``tfus predict``), written as ``fields/poseN_predicted.nii.gz`` (+ JSON) and
    ``figures/poseN_predicted.png``."""
    from tfus.pipeline.fields.output import write_field_outputs
    from tfus.surrogates.inference import predict_field

    rows = []
    predict_field(predictor, held.folder, poses[0], transducer=transducer)  # warm-up: the timings below exclude it
    for i, pose in enumerate(poses, start=1):
        result = predict_field(predictor, held.folder, pose, transducer=transducer)
        m = result.metrics
        png = workdir / "figures" / f"pose{i}_predicted.png"
        write_field_outputs(workdir / "fields" / f"pose{i}_predicted.nii.gz", result.field, result.record, png=png,
                            head=result.head, transducer=result.transducer, pose=pose, focus_mm=m.get("focus_mm"),
                            title=f"pose {i}: {result.title}")
        seconds = result.prediction.seconds
        say(f"pose {i}: peak {m['peak_pressure_pa'] / 1e3:.0f} kPa at {np.round(m['focus_mm'], 1).tolist()} mm "
            f"({m.get('focus_region')}), predicted in {seconds:.2f} s")
        rows.append({"pose": i, "apex_mm": pose.apex.tolist(), "target_mm": pose.target.tolist(),
                     "peak_pressure_pa": m["peak_pressure_pa"], "focus_mm": m["focus_mm"],
                     "global_peak_pressure_pa": m.get("global_peak_pressure_pa"),
                     "focus_region": m.get("focus_region"), "focal_volume_mm3": m.get("focal_volume_mm3"),
                     "predict_s": seconds, "png": png, "result": result})
    return rows


# -- planning report (issue 15) -------------------------------------------------------------------------------------
def _plan(prediction: dict, held: HeldOut, config: DemoConfig, workdir: Path, say) -> dict:
    """``plan.html``: the ITRUSST safety flags, temperature rise and slice viewer of pose 1's predicted field under
    ``config.protocol`` (``tfus report``)."""
    from tfus.workflows.report import PlanInputs, write_plan_report

    result = prediction["result"]
    inputs = PlanInputs(field=result.field, head=result.head, transducer=result.transducer, pose=result.pose,
                        mapping=result.record["surrogate"]["medium_mapping"],
                        sources={"field": "shipped-model prediction of pose 1 (fields/pose1_predicted.nii.gz)",
                                 "head": f"{held.name} ({held.image})"},
                        timings_s={"field: prediction": result.prediction.seconds})
    report = write_plan_report(workdir / "plan.html", inputs, config.protocol,
                               title=f"tfus demo, {held.name}, pose 1 (predicted)")
    say(f"planning report: {workdir / 'plan.html'}: {report.headline()}")
    return {"html": "plan.html", "protocol": config.protocol, "headline": report.headline()}


# -- 5. verification against k-Wave -------------------------------------------------------------------------------
def _verify(prediction: dict, predictor, shipped, held: HeldOut, workdir: Path, say, step_bar) -> dict:
    """Simulate the pose of ``prediction`` as the model's training data (``tfus predict --verify``), or reuse that
    simulation from an earlier run of the same model, head and pose; write the simulation and an error map, both
    cut through k-Wave's intracranial focus."""
    from tfus.pipeline.fields.metrics import field_metrics
    from tfus.pipeline.fields.output import write_field_outputs
    from tfus.pipeline.io.jsonio import write_json
    from tfus.surrogates.verify import verify_prediction

    result = prediction["result"]
    i, pose, bowl = prediction["pose"], result.pose, result.transducer
    sim_path, cache = workdir / "fields" / f"pose{i}_simulated.nii.gz", workdir / "fields" / "verify.json"
    sim_png = workdir / "figures" / f"pose{i}_simulated.png"
    key = json.loads(json.dumps({"model_sha256": shipped.sha256, "head": str(held.image),
                                 "spacing_mm": predictor.data.spacing_mm, "transducer": bowl.to_dict(),
                                 "apex_mm": [round(float(v), 6) for v in pose.apex],
                                 "target_mm": [round(float(v), 6) for v in pose.target]}))
    old = _read_json(cache)
    reused = old is not None and old.get("key") == key and sim_path.is_file() and sim_png.is_file()
    if reused:
        sim, prior = _read_field(sim_path, bowl.frequency_hz), old.get("prior")
        seconds = result.prediction.seconds  # this run's prediction; the simulation is the earlier run's
        record = {**old["record"], "predict_s": seconds, "speedup": old["record"]["simulate_s"] / seconds}
        say(f"pose {i}: k-Wave verification reused from the last run ({record['simulate_s']:.0f} s then)")
    else:
        say(f"pose {i}: k-Wave simulation of the same beam box, spacing and settings as the training data")
        with (step_bar("k-Wave (verification)") if step_bar is not None else nullcontext(None)) as bar:
            checked = verify_prediction(result, bar)
        sim, record, prior = checked.field, checked.record, _prior_metrics(predictor, result, checked)
    focus = field_metrics(sim, transducer=bowl, pose=pose, labels=result.head.labels)  # the intracranial focus
    if not reused:
        write_field_outputs(sim_path, sim, {"verify": record, "request": result.record["request"], "metrics": focus},
                            png=sim_png, head=result.head, transducer=bowl, pose=pose, focus_mm=focus["focus_mm"],
                            title=f"pose {i}: k-Wave, focal peak {focus['peak_pressure_pa'] / 1e3:.3g} kPa at "
                                  f"{bowl.frequency_hz / 1e3:.0f} kHz")
        write_json(cache, {"key": key, "record": record, "prior": prior})  # last: its presence means all is written
    error_png = _error_map(result, sim, focus["focus_mm"], workdir / "figures" / f"pose{i}_error.png", i)
    say(f"pose {i} vs k-Wave: rel. L2 {record['rel_l2']:.1%}, focal error {record['focal_error_mm']:.1f} mm, peak "
        f"error {record['peak_error']:+.1%}; {record['simulate_s']:.1f} s simulated vs {record['predict_s']:.2f} s "
        "predicted")
    return {"pose": i, "record": record, "prior": prior, "reused": reused, "sim_peak_pa": float(sim.amplitude.max()),
            "sim_focus_mm": focus["focus_mm"], "sim_focus_pa": focus["peak_pressure_pa"], "sim_png": sim_png,
            "error_png": error_png, "pred_png": prediction["png"], "sim_nifti": sim_path, "field": sim}


def _read_field(path: Path, frequency_hz: float):
    """A written amplitude NIfTI as a steady-state field (zero phase)."""
    import nibabel as nib

    from tfus.pipeline.engines.field import SteadyStateField

    image = nib.load(str(path))
    amp = np.asarray(image.dataobj, np.float32)
    return SteadyStateField(amp, np.zeros_like(amp), np.asarray(image.affine, float), frequency_hz)


def _error_map(result, sim, focus_mm, png: Path, i: int) -> Path:
    """``|prediction - k-Wave|`` on the head grid, through ``focus_mm``."""
    from tfus.pipeline.engines.field import SteadyStateField
    from tfus.pipeline.fields.output import save_field_png

    error = np.abs(result.field.amplitude - sim.amplitude).astype(np.float32)
    top, peak = float(error.max()), max(float(sim.amplitude.max()), 1e-12)
    save_field_png(png, SteadyStateField(error, np.zeros_like(error), sim.affine, sim.frequency_hz),
                   head=result.head, transducer=result.transducer, pose=result.pose, focus_mm=focus_mm,
                   title=f"pose {i}: |prediction - k-Wave|, max {top / 1e3:.3g} kPa ({100 * top / peak:.0f} % of "
                         "the simulated peak)")
    return png


def _prior_metrics(predictor, result, checked) -> dict | None:
    """The same comparison for the model's physics prior alone (the bowl's water field in the box, or its march through
    this pose's skull by the angular spectrum)."""
    from tfus.surrogates.metrics import sample_metrics

    frame, prior = result.prediction.frame, result.prediction.box_prior
    if prior is None or checked.box_amplitude is None or frame is None:
        return None
    m = sample_metrics(prior, checked.box_amplitude, affine=np.asarray(frame.affine, float))
    return {"rel_l2": m["rel_l2_percent"] / 100, "focal_error_mm": m["focal_error_mm"],
            "peak_error": m["peak_pred_pa"] / m["peak_true_pa"] - 1.0, "focal_dice": m["focal_dice"],
            "kind": predictor.beam_prior}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- 6. the training path -----------------------------------------------------------------------------------------
def _training_path(config: DemoConfig, workdir: Path, say, sample_bar) -> dict:
    """A tiny beam store (``tfus generate``), a short ``tfus train`` on it and ``tfus evaluate`` on its held-out
    head, beside its physics prior alone: the training path, not the shipped model."""
    from tfus.surrogates.evaluation import evaluate, evaluate_prior
    from tfus.workflows.generate import load_config

    cfg = load_config(config.dataset)
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.with_cli(cluster="local", workers=config.workers)})
    cfg.check_inputs()
    store, run_dir = workdir / "train.zarr", workdir / "train-run"
    t0 = time.perf_counter()
    summary = _dataset(cfg, store, say, sample_bar)
    dataset_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    say(f"training path: {config.model} for {config.epochs} epochs on the training head(s) of {cfg.name}")
    trained = _train(store, run_dir, config, say)
    train_s = time.perf_counter() - t0
    say("training path: evaluating on the store's held-out head(s)")
    evaluation = evaluate(run_dir, store, split="test", device=_device(config.device))
    beam_prior = str(((evaluation.get("model") or {}).get("model_config") or {}).get("beam_prior") or "water")
    water = evaluate_prior(store, split="test", prior=beam_prior)
    keep = ("rel_l2", "focal_error_mm", "peak_error", "focal_dice")
    return {"dataset": cfg.name, "store": store, "run": run_dir, "generate": summary,
            "grid": {"spacing_mm": cfg.grid.spacing_mm, "frequency_hz": cfg.simulation.frequency_hz,
                     "transducer": cfg.transducer, "heads": [h.name for h in cfg.heads]},
            "train": trained, "model": dict(config.model),
            "n_train_samples": evaluation.get("model", {}).get("trained_on", {}).get("n_train_samples"),
            "test_heads": evaluation.get("heads"), "n_test_samples": evaluation.get("n_samples"),
            "evaluation": {k: evaluation[k] for k in keep if k in evaluation},
            "prior": {k: water[k] for k in keep if k in water}, "prior_kind": beam_prior,
            "dataset_s": dataset_s, "train_s": train_s}


def _dataset(cfg, store: Path, say, sample_bar) -> dict:
    from tfus.workflows.generate.run import generate

    say(f"training path: dataset {cfg.name}, {len(cfg.heads)} heads x {cfg.poses.per_head} poses at "
        f"{cfg.grid.spacing_mm:g} mm (k-Wave, {cfg.cluster.workers or 'all'} local workers)")
    summary = generate(cfg, store, say=say, progress_factory=sample_bar)
    if summary.failed:
        raise TfusInputError(f"{summary.failed} simulations of the training store failed ({summary.errors[0]}); "
                             "rerun `tfus demo` with the same --workdir to retry them")
    return summary.as_dict()


def _train(store: Path, run_dir: Path, config: DemoConfig, say) -> dict:
    """Train (or resume) the training path's run: epochs in total, those this call ran, the final training loss."""
    from tfus.surrogates.training.config import TrainConfig
    from tfus.surrogates.training.run import train

    train_cfg = TrainConfig(epochs=config.epochs, batch_size=config.batch_size, lr=2e-3, seed=config.seed,
                            num_workers=0, model_name="deeptfus", model=dict(config.model), augment=True,
                            val_split=None, loss={"scale_weight": 0.02})
    result = train(store, run_dir, train_cfg, device=_device(config.device), progress=True, say=say)
    last = result.history[-1] if result.history else {}
    return {"epochs": result.epoch, "resumed_from": result.resumed_from, "best_epoch": result.best_epoch,
            "train_loss": last.get("train_loss"), "steps": result.step}
