"""The end-to-end demo (``tfus demo``): bundled heads -> head models -> transducer poses -> a small k-Wave dataset on a
LocalCluster -> DeepTFUS trained briefly -> evaluation on the held-out head(s) -> a prediction for a new pose, checked
against a simulation -> ``report.md`` with PNGs, metrics, timings, config and versions, and ``plan.html``: the
planning report of the new pose's simulated field (ITRUSST flags, temperature, slice viewer; ``tfus report``).

Every stage reuses the real commands' code (``tfus generate``, ``tfus train``, ``tfus evaluate``, ``tfus predict``,
``tfus simulate``); rerunning with the same ``--workdir`` resumes the dataset and the training run.

Example:
    >>> from tfus.workflows.demo import DemoConfig
    >>> DemoConfig().dataset
    'demo'
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tfus.pipeline.resources import bundled_heads  # noqa: F401 - re-exported for callers of the old demo


def demo_model() -> dict:
    """The DeepTFUS config overrides the demo trains: the ``demo`` preset of
    :data:`~tfus.surrogates.networks.nets.deeptfus_config.PRESETS` (a fresh copy; the benchmarks start from it too).

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
        dataset: dataset preset or YAML (``data/datasets/demo.yaml``).
        workers: local Dask workers for the simulations (default: one per core).
        epochs: training epochs.
        batch_size: training batch size.
        model: DeepTFUS config overrides.
        seed: seed of training and of the new pose.
        device: ``cpu`` or ``gpu`` for training and prediction.
        protocol: sonication protocol of the planning report (``plan.html``; a 0.5 s preset keeps it cheap).
    """

    dataset: str = "demo"
    workers: int | None = None
    epochs: int = 10
    batch_size: int = 2
    model: dict = field(default_factory=demo_model)
    seed: int = 0
    device: str = "cpu"
    protocol: str = "legon2018-1khz"


def run_demo(workdir: Path, config: DemoConfig = DemoConfig(), progress: Callable[[str], None] | None = None,
             sample_bar=None) -> Path:
    """Run the demo into ``workdir`` and return the path of ``report.md``.

    Args:
        workdir: output folder (dataset store, training run, fields, figures, report).
        config: demo settings.
        progress: receives one-line stage messages.
        sample_bar: optional progress-bar factory for the simulations (see ``tfus generate``).
    """
    from tfus.pipeline.io.atomic import atomic_write_text
    from tfus.pipeline.version import versions
    from tfus.workflows.generate import load_config

    say = progress or (lambda message: None)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    cfg = load_config(config.dataset)
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.with_cli(cluster="local", workers=config.workers)})
    cfg.check_inputs()
    store, run_dir = workdir / "dataset.zarr", workdir / "run"

    t0 = time.perf_counter()
    summary = _dataset(cfg, store, say, sample_bar)
    timings["dataset (heads, poses, k-Wave simulations)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    heads = _head_figures(store, workdir / "figures")
    timings["head figures"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"training DeepTFUS for {config.epochs} epochs on the training heads")
    _train(store, run_dir, config, say)
    timings["training"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("evaluating on the held-out head(s)")
    from tfus.surrogates.evaluation import evaluate

    evaluation = evaluate(run_dir, store, split="test", device=_device(config.device))
    timings["evaluation (test split)"] = time.perf_counter() - t0

    say("a new pose on a held-out head: simulation vs prediction")
    new_pose = _new_pose(cfg, store, run_dir, workdir, config)
    timings["new pose: k-Wave simulation"] = new_pose["simulate_seconds"]
    timings["new pose: prediction"] = new_pose["predict_seconds"]
    timings["new pose: planning report (safety, thermal, HTML)"] = new_pose["plan_seconds"]

    record = {"config": asdict(config), "dataset_config": cfg.public(), "versions": versions(),
              "timings_s": timings, "generate": summary, "evaluation": _aggregate_only(evaluation),
              "new_pose": {k: v for k, v in new_pose.items() if k != "metrics_table"}}
    atomic_write_text(workdir / "demo.json", json.dumps(record, indent=2, default=_json) + "\n")
    report = workdir / "report.md"
    atomic_write_text(report, _report(config, cfg, heads, summary, evaluation, new_pose, timings))
    return report


def _device(device: str) -> str:
    from tfus.pipeline.device import parse_device

    return parse_device(device, allow_auto=False).value


def _dataset(cfg, store: Path, say, sample_bar) -> dict:
    from tfus.workflows.generate.run import generate

    say(f"dataset: {len(cfg.heads)} heads x {cfg.poses.per_head} poses on a {list(cfg.grid.shape)} grid at "
        f"{cfg.grid.spacing_mm:g} mm (k-Wave, {cfg.cluster.workers or 'all'} local workers)")
    summary = generate(cfg, store, say=say, progress_factory=sample_bar)
    if summary.failed:
        from tfus.pipeline.errors import TfusInputError

        raise TfusInputError(f"{summary.failed} demo simulations failed ({summary.errors[0]}); rerun `tfus demo` "
                             "with the same --workdir to retry them")
    return summary.as_dict()


def _head_figures(store: Path, folder: Path) -> list[dict]:
    """One label-overlay PNG per head of the store (transducer apexes and foci marked) and its measurements."""
    from tfus.pipeline.figures import save_label_overlay
    from tfus.pipeline.head.measures import measure_head
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.store import open_store

    group = open_store(store)
    names = list(group.attrs["head_names"])
    splits = {i: name for name, ids in group.attrs["splits"].items() for i in ids}
    head_index = np.asarray(group["head_index"][:])
    apex, focus = np.asarray(group["apex"][:]), np.asarray(group["focus"][:])
    rows = []
    for i, name in enumerate(names):
        head = HeadModel(hu=np.asarray(group["hu"][i]), labels=np.asarray(group["labels"][i]),
                         affine=np.asarray(group["head_affine"][i]))
        mine = head_index == i
        pts = np.concatenate([apex[mine], focus[mine]])
        png = folder / f"head_{name}.png"
        save_label_overlay(head, png, title=f"{name} ({splits.get(i, '?')})", points_world=pts)
        rows.append({"name": name, "split": splits.get(i, "?"), "png": png, "samples": int(mine.sum()),
                     **measure_head(head)})
    return rows


def _train(store: Path, run_dir: Path, config: DemoConfig, say) -> None:
    from tfus.surrogates.training.config import TrainConfig
    from tfus.surrogates.training.run import train

    train_cfg = TrainConfig(epochs=config.epochs, batch_size=config.batch_size, lr=2e-3, seed=config.seed,
                            num_workers=0, model_name="deeptfus", model=dict(config.model), augment=True,
                            val_split=None)
    train(store, run_dir, train_cfg, device=_device(config.device), progress=True, say=say)


def _new_pose(cfg, store: Path, run_dir: Path, workdir: Path, config: DemoConfig) -> dict:
    """A pose not in the dataset, on the first held-out head: simulate it (k-Wave, same settings as the dataset) and
    predict it; metrics, NIfTIs and a comparison figure."""
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.run import SimulationRequest, run_simulation
    from tfus.pipeline.fields.output import write_field
    from tfus.pipeline.figures import save_field_comparison
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.store import open_store
    from tfus.pipeline.transducers import load_transducer, sample_poses
    from tfus.surrogates.inference import Predictor
    from tfus.surrogates.metrics import sample_metrics
    from tfus.workflows.report import PlanInputs, write_plan_report

    group = open_store(store)
    test = list(group.attrs["splits"]["test"]) or list(group.attrs["splits"]["train"])
    h = int(test[0])
    name = group.attrs["head_names"][h]
    head = HeadModel(hu=np.asarray(group["hu"][h]), labels=np.asarray(group["labels"][h]),
                     affine=np.asarray(group["head_affine"][h]))
    bowl = load_transducer(cfg.transducer)
    frequency = cfg.simulation.frequency_hz or bowl.frequency_hz
    target = head.voxel_to_world(np.argwhere(head.labels == Label.BRAIN).mean(0))
    opts = cfg.poses.model_dump(exclude={"per_head", "aim"})
    known = np.asarray(group["apex"][:])[np.asarray(group["head_index"][:]) == h]
    candidates = sample_poses(head, bowl, cfg.poses.per_head + 3, target=target, seed=config.seed + 1000, **opts)
    pose = max(candidates, key=lambda p: np.min(np.linalg.norm(known - p.apex, axis=1))).pose  # farthest from data

    t0 = time.perf_counter()
    sim = run_simulation(SimulationRequest(transducer=bowl, pose=pose, head=head, frequency_hz=frequency,
                                           mapping=cfg.simulation.mapping, coupling=cfg.simulation.coupling,
                                           kwave=KWaveConfig(**cfg.simulation.kwave)))
    simulate_seconds = time.perf_counter() - t0
    predictor = Predictor.from_checkpoint(run_dir, device=_device(config.device))
    predictor.predict(head.hu, head.affine, _at(bowl, frequency), pose)  # warm-up
    t0 = time.perf_counter()
    predicted = predictor.predict(head.hu, head.affine, _at(bowl, frequency), pose)
    predict_seconds = time.perf_counter() - t0
    simulated = np.asarray(sim.field.amplitude, np.float32)
    metrics = sample_metrics(predicted, simulated, affine=head.affine,  # as `tfus evaluate`
                             mask=head.labels == Label.BRAIN)
    out = workdir / "fields"
    write_field(out / "new_pose_simulated.nii.gz", simulated, head.affine)
    write_field(out / "new_pose_predicted.nii.gz", predicted, head.affine)
    png = workdir / "figures" / "new_pose_comparison.png"
    save_field_comparison(png, head.hu, head.affine, simulated, predicted,
                          title=f"{name}: new pose, k-Wave vs DeepTFUS (kPa)")
    t0 = time.perf_counter()
    inputs = PlanInputs(field=sim.field, head=head, transducer=sim.transducer, pose=pose, medium=sim.medium,
                        sources={"field": "k-Wave simulation of the new pose (fields/new_pose_simulated.nii.gz)",
                                 "head": f"{name} (from {store.name})"},
                        timings_s={"field: k-Wave simulation": simulate_seconds})
    plan = write_plan_report(workdir / "plan.html", inputs, config.protocol,
                             title=f"tfus demo, {name}, new pose")
    return {"head": name, "apex_mm": pose.apex.tolist(), "target_mm": pose.target.tolist(),
            "simulate_seconds": simulate_seconds, "predict_seconds": predict_seconds,
            "speedup": simulate_seconds / max(predict_seconds, 1e-9), "metrics": _plain(metrics), "png": png,
            "plan": workdir / "plan.html", "plan_headline": plan.headline(), "plan_seconds": time.perf_counter() - t0}


def _at(bowl, frequency_hz: float):
    from dataclasses import replace

    return replace(bowl, frequency_hz=float(frequency_hz))


def _plain(metrics: dict) -> dict:
    return {k: float(v) for k, v in metrics.items() if np.isscalar(v) or np.ndim(v) == 0}


def _aggregate_only(evaluation: dict) -> dict:
    return {k: v for k, v in evaluation.items() if k != "per_sample"}


def _json(obj):
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _report(config: DemoConfig, cfg, heads: list[dict], summary: dict, evaluation: dict, new_pose: dict,
            timings: dict) -> str:
    rel = lambda p: Path(p).relative_to(Path(p).parents[1]).as_posix()  # noqa: E731 - figures/NAME.png
    lines = ["# tfus demo report", "",
             f"Dataset `{cfg.name}`: {len(cfg.heads)} heads x {cfg.poses.per_head} poses, grid "
             f"{list(cfg.grid.shape)} at {cfg.grid.spacing_mm:g} mm, transducer `{cfg.transducer}` at "
             f"{(cfg.simulation.frequency_hz or 0) / 1e3:g} kHz, k-Wave ({summary['computed']} simulated now, "
             f"{summary['already_complete']} reused). DeepTFUS ({config.model}) trained {config.epochs} epochs on "
             "the training heads, evaluated on the held-out head(s).", "",
             "## Heads", "",
             "| head | split | samples | skull volume (ml) | median cranial thickness (mm) | brain (ml) |",
             "|---|---|---|---|---|---|"]
    for h in heads:
        lines.append(f"| {h['name']} | {h['split']} | {h['samples']} | {h['skull_volume_ml']:.0f} | "
                     f"{h['skull_thickness_mm']:.1f} | {h['brain_volume_ml']:.0f} |")
    lines += [""] + [f"![{h['name']}]({rel(h['png'])})" for h in heads]
    lines += ["", "## Held-out evaluation (test split)", "", "| metric | mean | median |", "|---|---|---|"]
    for key, label in (("rel_l2", "relative L2 (%)"), ("focal_error_mm", "focal position error (mm)"),
                       ("peak_error", "peak pressure error (%)"),
                       ("focal_error_brain_mm", "intracranial focal position error (mm)"),
                       ("peak_error_brain", "intracranial peak pressure error (%)"), ("focal_dice", "-6 dB focal Dice"),
                       ("focal_volume_error", "focal volume error (%)")):
        if key in evaluation:
            v = evaluation[key]
            lines.append(f"| {label} | {v['mean']:.2f} | {v['median']:.2f} |")
    m = new_pose["metrics"]
    lines += ["", f"## A new pose on {new_pose['head']} (not in the dataset)", "",
              f"Apex {np.round(new_pose['apex_mm'], 1).tolist()} mm, target "
              f"{np.round(new_pose['target_mm'], 1).tolist()} mm (world RAS). k-Wave "
              f"{new_pose['simulate_seconds']:.1f} s vs prediction {new_pose['predict_seconds']:.2f} s "
              f"({new_pose['speedup']:.0f}x). Metrics (as the evaluation): "
              + ", ".join(f"{k} {v:.2f}" for k, v in m.items()), "",
              f"![comparison]({rel(new_pose['png'])})", "",
              "Fields: `fields/new_pose_simulated.nii.gz`, `fields/new_pose_predicted.nii.gz` (Pa, head-model "
              "space).", "",
              f"Planning report of the simulated field under `{config.protocol}` ([plan.html](plan.html), opens "
              f"offline in a browser): {new_pose['plan_headline']}.", "",
              "## Timings", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    lines += ["", "Config, versions and seeds: `demo.json`; training log: `run/log.csv`; dataset: `dataset.zarr` "
              "(`tfus info dataset.zarr`).", ""]
    return "\n".join(lines)
