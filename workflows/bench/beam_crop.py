"""The cost of cropping to the beam frame, measured: for poses on real heads, the beam-box simulation against the
whole-head simulation of the same pose at the same spacing and frequency (``tfus bench beam-crop``).

For each pose both fields are compared inside the box (the whole-head field resampled into it): the intracranial
focal pressure (maximum inside the brain label), its position, and the relative L2 error over the box's brain voxels.
The simulation time of each is reported beside, so the speed the crop buys is measured in the same run.

Targets (issue 14): focal pressure within 5 %, focal position within 1 mm. If the default box misses them, the
bench takes a wider box (``--lateral-margin``, ``--beyond-focus``) and reports its cost.

Example:
    >>> from tfus.workflows.bench.beam_crop import BeamCropConfig
    >>> BeamCropConfig().poses_per_head
    5
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BeamCropConfig:
    """What the crop benchmark runs.

    Attributes:
        heads: bundled head names (``tfus.pipeline.resources.bundled_heads``).
        poses_per_head: sampled poses per head (aimed at the brain centre).
        transducer: bowl preset.
        frequency_hz: driving frequency (default: the bowl's).
        spacing_mm: grid spacing of both simulations.
        lateral_margin_mm / behind_mm / beyond_focus_mm: the beam box (:class:`tfus.pipeline.beam.BeamBox`).
        mapping: HU -> acoustic properties mapping.
        seed: pose sampling seed.
        pml_size: k-Wave PML thickness (grid points) of both simulations.
    """

    heads: tuple[str, ...] = ("cranium_ct", "colin27_t1")
    poses_per_head: int = 5
    transducer: str = "neurofus-ctx250"
    frequency_hz: float | None = None
    spacing_mm: float = 1.5
    lateral_margin_mm: float = 10.0
    behind_mm: float = 5.0
    beyond_focus_mm: float = 30.0
    mapping: str = "itrusst"
    seed: int = 0
    pml_size: int = 10


def _brain_peak(amplitude: np.ndarray, brain: np.ndarray) -> tuple[float, np.ndarray]:
    masked = np.where(brain, amplitude, 0.0)
    i = np.unravel_index(int(np.argmax(masked)), masked.shape)
    return float(masked[i]), np.array(i, float)


def compare_pose(head, bowl, pose, config: BeamCropConfig) -> dict:
    """Both simulations of one pose and their comparison inside the box."""
    from tfus.pipeline.beam import BeamBox, to_box
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.run import SimulationRequest, run_simulation
    from tfus.pipeline.head.labels import Label

    box = BeamBox(config.lateral_margin_mm, config.behind_mm, config.beyond_focus_mm)
    kwave = KWaveConfig(pml_size=config.pml_size)
    common = {"transducer": bowl, "pose": pose, "head": head, "spacing_mm": config.spacing_mm,
              "mapping": config.mapping, "kwave": kwave}
    t0 = time.perf_counter()
    whole = run_simulation(SimulationRequest(**common, frame="grid"))
    t1 = time.perf_counter()
    beam = run_simulation(SimulationRequest(**common, frame="beam", box=box))
    t2 = time.perf_counter()
    frame = beam.frame
    whole_in_box = to_box(whole.field.amplitude, whole.field.affine, frame)
    brain = beam.head.labels == Label.BRAIN
    # compare away from the box faces, where the resampled whole-head field interpolates with the outside
    inner = np.zeros(frame.shape, bool)
    inner[1:-1, 1:-1, 1:-1] = True
    brain &= inner
    if not brain.any():
        return {"skipped": "no brain voxel in the box"}
    p_beam, i_beam = _brain_peak(beam.field.amplitude, brain)
    p_whole, i_whole = _brain_peak(whole_in_box, brain)
    diff = beam.field.amplitude[brain] - whole_in_box[brain]
    return {
        "focal_pressure_error": p_beam / p_whole - 1.0,
        "focal_position_error_mm": float(np.linalg.norm(i_beam - i_whole) * frame.spacing_mm),
        "rel_l2_brain": float(np.linalg.norm(diff) / np.linalg.norm(whole_in_box[brain])),
        "whole_s": t1 - t0, "beam_s": t2 - t1,
        "whole_points": int(np.prod(whole.medium.shape)), "beam_points": int(np.prod(frame.shape)),
    }


def beam_crop_bench(config: BeamCropConfig = BeamCropConfig(), progress=None) -> dict:
    """Run :func:`compare_pose` over ``poses_per_head`` sampled poses on each head; per-pose rows and medians."""
    from dataclasses import replace

    from tfus.pipeline.head.build import HeadBuildConfig, build_head
    from tfus.pipeline.resources import bundled_heads
    from tfus.pipeline.transducers import load_transducer
    from tfus.pipeline.transducers.sampler import sample_poses
    from tfus.pipeline.version import versions

    say = progress or (lambda message: None)
    bowl = load_transducer(config.transducer)
    if config.frequency_hz is not None:
        bowl = replace(bowl, frequency_hz=float(config.frequency_hz))
    available = bundled_heads()
    rows = []
    for name in config.heads:
        if name not in available:
            say(f"{name}: not available (run `bash data/setup.sh`); skipped")
            continue
        head = build_head(available[name], HeadBuildConfig(spacing_mm=config.spacing_mm))
        poses = sample_poses(head, bowl, config.poses_per_head, seed=config.seed)
        for k, sp in enumerate(poses):
            row = {"head": name, "pose": k, **compare_pose(head, bowl, sp.pose, config)}
            rows.append(row)
            say(f"{name} pose {k}: " + ", ".join(f"{key} {value:.3g}" for key, value in row.items()
                                                  if isinstance(value, float)))
    done = [r for r in rows if "skipped" not in r]

    def median(key):
        return float(np.median([abs(r[key]) for r in done])) if done else float("nan")

    def worst(key):
        return float(np.max([abs(r[key]) for r in done])) if done else float("nan")

    return {
        "config": asdict(config), "versions": versions(), "transducer": bowl.to_dict(), "rows": rows,
        "median_focal_pressure_error": median("focal_pressure_error"),
        "max_focal_pressure_error": worst("focal_pressure_error"),
        "median_focal_position_error_mm": median("focal_position_error_mm"),
        "max_focal_position_error_mm": worst("focal_position_error_mm"),
        "median_rel_l2_brain": median("rel_l2_brain"),
        "speedup": (float(np.sum([r["whole_s"] for r in done]) / np.sum([r["beam_s"] for r in done]))
                    if done else float("nan")),
    }


def render(result: dict) -> str:
    """Plain-text table of a :func:`beam_crop_bench` result."""
    lines = [f"{'head':<12} {'pose':>4} {'dp_focal':>9} {'dx_mm':>6} {'relL2':>7} {'whole_s':>8} {'beam_s':>7}"]
    for r in result["rows"]:
        if "skipped" in r:
            lines.append(f"{r['head']:<12} {r['pose']:>4} skipped: {r['skipped']}")
            continue
        lines.append(f"{r['head']:<12} {r['pose']:>4} {100 * r['focal_pressure_error']:>8.1f}% "
                     f"{r['focal_position_error_mm']:>6.2f} {100 * r['rel_l2_brain']:>6.1f}% {r['whole_s']:>8.1f} "
                     f"{r['beam_s']:>7.1f}")
    lines.append(f"median |focal pressure error| {100 * result['median_focal_pressure_error']:.1f} % "
                 f"(max {100 * result['max_focal_pressure_error']:.1f} %, target <= 5 %); median focal position "
                 f"error {result['median_focal_position_error_mm']:.2f} mm (max "
                 f"{result['max_focal_position_error_mm']:.2f} mm, target <= 1 mm); beam frame "
                 f"{result['speedup']:.1f}x faster than the whole head")
    return "\n".join(lines)
