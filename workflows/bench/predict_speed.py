"""Surrogate prediction vs wave simulation: wall time of one pose on the same head grid and the same machine.

* **Simulation**: ``tfus simulate``'s engine, :func:`tfus.pipeline.engines.run.run_simulation` (k-Wave, default
  :class:`~tfus.pipeline.engines.kwave.config.KWaveConfig`, on ``sim_device``), one run, timed end to end (medium,
  padding for the bowl, solver, cut back to the head grid).
* **Prediction**: :meth:`tfus.surrogates.inference.Predictor.predict` (input preparation, network, back to Pa on the
  head grid) on ``device``, after ``warmup`` untimed calls; the median of ``repeats`` timed calls.

The surrogate is the checkpoint ``run`` (the head is resampled to its training spacing, and the simulation runs on
that same grid) or, without one, an *untrained* DeepTFUS of the ``base`` preset (the defaults; formerly named
``demo``) built for the head's grid: the time of a forward pass does not depend on the weights, and the table says
which was used. The head is a head-model folder or, by default, the synthetic phantom
(:func:`tfus.pipeline.head.phantom.ellipsoid_head`) at ``spacing_mm``; the pose is given or sampled over the cranium
aimed at the brain centre (seeded).

Example:
    >>> from tfus.workflows.bench.predict_speed import PredictBenchConfig
    >>> PredictBenchConfig().target_speedup
    1000.0
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from tfus.pipeline.errors import TfusInputError

SPEEDUP_TARGET = 1000.0  #: on a GPU
CPU_SPEEDUP_TARGET = 100.0  #: on 2 CPU cores (issue 14)


@dataclass(frozen=True)
class PredictBenchConfig:
    """What to time (see the module docstring)."""

    run: str | None = None
    head: str | None = None
    spacing_mm: float = 3.0
    transducer: str | None = None
    frequency_hz: float | None = None
    position: tuple[float, float, float] | None = None
    target: tuple[float, float, float] | None = None
    device: str = "cpu"
    sim_device: str = "cpu"
    repeats: int = 5
    warmup: int = 2
    seed: int = 0
    target_speedup: float = SPEEDUP_TARGET

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.warmup < 0:
            raise TfusInputError(f"--repeats {self.repeats} must be >= 1 and --warmup {self.warmup} >= 0")
        if (self.position is None) != (self.target is None):
            raise TfusInputError("give both --position and --target, or neither (a pose is then sampled)")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _untrained_predictor(head, bowl, device: str):
    import torch

    from tfus.surrogates.inference import Predictor
    from tfus.surrogates.normalization import Normalization
    from tfus.surrogates.registry import build_model_with_config

    torch.manual_seed(0)
    model, cfg = build_model_with_config("deeptfus", {"preset": "base"})
    attrs = {"name": bowl.name, "radius_of_curvature_mm": bowl.radius_of_curvature_mm,
             "aperture_mm": bowl.aperture_diameter_mm, "frequency_hz": bowl.frequency_hz,
             "source_amplitude_pa": bowl.source_amplitude_pa}
    data = {"grid_shape": list(head.shape), "spacing_mm": head.spacing_mm, "frequency_hz": bowl.frequency_hz,
            "transducer": attrs, "n_points": cfg["n_points"]}
    return Predictor(model, Normalization(), data, device=device, source="untrained base preset")


def run_predict_bench(cfg: PredictBenchConfig, say: Callable[[str], None] = print) -> dict:
    """Time one simulation and the surrogate's predictions of the same pose; return the rows and the ratio."""
    from tfus.pipeline.device import resolve_device
    from tfus.pipeline.engines.problem import head_on_grid
    from tfus.pipeline.engines.run import SimulationRequest, run_simulation
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.head.phantom import ellipsoid_head
    from tfus.pipeline.transducers import Pose, brain_centroid, load_transducer, sample_poses
    from tfus.surrogates.inference import Predictor
    from tfus.surrogates.metrics import sample_metrics

    resolve_device(cfg.device)
    predictor = Predictor.from_checkpoint(cfg.run, device=cfg.device) if cfg.run else None
    spacing = predictor.data.spacing_mm if predictor is not None else cfg.spacing_mm
    head = HeadModel.load(cfg.head) if cfg.head else ellipsoid_head(spacing_mm=spacing)
    head = head_on_grid(head, spacing)
    if cfg.transducer is not None:
        bowl = load_transducer(cfg.transducer)
    elif predictor is not None:
        bowl = predictor.trained_transducer()
    else:
        bowl = replace(load_transducer("neurofus-ctx250"), frequency_hz=225e3)  # the demo dataset's bowl
    if cfg.frequency_hz is not None:
        bowl = replace(bowl, frequency_hz=float(cfg.frequency_hz))
    if predictor is None:
        predictor = _untrained_predictor(head, bowl, cfg.device)
    predictor.check_transducer(bowl)
    if cfg.position is not None:
        pose = Pose(list(cfg.position), list(cfg.target))
    else:
        aim = brain_centroid(head.labels, head.affine)
        pose = sample_poses(head, bowl, 1, target=aim, seed=cfg.seed)[0].pose

    beam = bool(getattr(predictor, "beam", False))
    if beam:  # the simulation the model replaces: its training frame, box, spacing, mapping and k-Wave settings
        from tfus.surrogates.verify import training_simulation_request

        request = replace(training_simulation_request(predictor.data, bowl, pose, head), device=cfg.sim_device)
    else:
        request = SimulationRequest(transducer=bowl, pose=pose, head=head, device=cfg.sim_device)
    say(f"simulating one pose {'in its beam box' if beam else f'on {list(head.shape)}'} at {spacing:g} mm "
        f"(k-Wave, {cfg.sim_device}) ...")
    t0 = time.perf_counter()
    sim = run_simulation(request)
    t_sim = time.perf_counter() - t0

    say(f"predicting ({cfg.warmup} warm-up + {cfg.repeats} timed calls, {cfg.device}) ...")
    for _ in range(cfg.warmup):
        predictor.predict(head.hu, head.affine, bowl, pose, labels=head.labels)
    times, last = [], None
    for _ in range(cfg.repeats):
        last = predictor.predict_detailed(head.hu, head.affine, bowl, pose, labels=head.labels)
        times.append(last.seconds)
    t_pred = statistics.median(times)
    trained = cfg.run is not None
    target = cfg.target_speedup if cfg.device != "cpu" else min(cfg.target_speedup, CPU_SPEEDUP_TARGET)
    if not trained:
        accuracy = None
    elif beam:  # both fields in the box, before mapping back
        accuracy = sample_metrics(last.box_pressure, sim.field.amplitude, affine=np.asarray(sim.frame.affine))
    else:
        accuracy = sample_metrics(last.pressure, sim.field.amplitude, affine=head.affine)
    meta = sim.field.meta
    return {
        "head": cfg.head or f"synthetic phantom ({spacing:g} mm)", "grid": list(head.shape), "spacing_mm": spacing,
        "frame": "beam" if beam else "grid", "box": list(sim.frame.shape) if beam else None,
        "transducer": bowl.name, "frequency_hz": bowl.frequency_hz,
        "pose": {"apex": pose.apex.tolist(), "target": pose.target.tolist()},
        "model": predictor.name, "checkpoint": cfg.run, "trained": trained,
        "model_note": "trained checkpoint" if trained else "untrained base preset (timing does not depend on weights)",
        "parameters": sum(p.numel() for p in predictor.model.parameters()),
        "device": str(predictor.device), "sim_device": cfg.sim_device, "cores": _cores(),
        "simulation_seconds": t_sim, "simulation_steps": meta.get("steps"),
        "simulation_ms_per_step": meta.get("ms_per_step"),
        "predict_seconds_median": t_pred, "predict_seconds": times, "warmup": cfg.warmup,
        "windows": last.windows, "speedup": t_sim / t_pred,
        "speedup_target": target, "meets_target": bool(t_sim / t_pred >= target),
        "accuracy_vs_simulation": accuracy,
        "peak_pressure_simulated_pa": float(np.max(sim.field.amplitude)),
        "peak_pressure_predicted_pa": last.peak_pa,
    }


def render_predict(res: dict) -> list:
    """The results of :func:`run_predict_bench` as rich renderables: simulation vs prediction table and the ratio.

    Example:
        >>> for item in render_predict(res):  # doctest: +SKIP
        ...     Console().print(item)
    """
    from rich.table import Table

    table = Table("method", "device", "seconds", "note",
                  title=f"one pose on {res['head']}, grid {res['grid']} at {res['spacing_mm']:g} mm, "
                        f"{res['transducer']} at {res['frequency_hz'] / 1e3:g} kHz, {res['cores']} cores")
    sim_name = ("k-Wave in the beam box " + "x".join(map(str, res["box"])) if res.get("frame") == "beam"
                else "k-Wave simulation (tfus simulate engine)")
    table.add_row(sim_name, res["sim_device"], f"{res['simulation_seconds']:.2f}",
                  f"{res['simulation_steps']} steps, {res['simulation_ms_per_step']:.1f} ms/step")
    table.add_row(f"{res['model']} prediction (median of {len(res['predict_seconds'])})", res["device"],
                  f"{res['predict_seconds_median']:.4f}",
                  f"{res['model_note']}; {res['parameters'] / 1e6:.2f} M parameters, {res['windows']} window(s)")
    line = (f"prediction / simulation speed-up: {res['speedup']:.0f}x (target >= {res['speedup_target']:g}x: "
            f"{'met' if res['meets_target'] else 'NOT met'})")
    if res["accuracy_vs_simulation"]:
        acc = res["accuracy_vs_simulation"]
        line += (f"   accuracy vs this simulation: rel L2 {acc['rel_l2_percent']:.1f} %, focal error "
                 f"{acc['focal_error_mm']:.1f} mm, peak error {acc['peak_error_percent']:.1f} %")
    return [table, line]
