"""The end-to-end demo on the bundled heads.

Stages available in this release: head models from every bundled head (T1 pseudo-CT, and the real CT when
``data/setup.sh`` built it) -> transducer poses over each cranium -> a report (``report.md`` + PNGs, measurements,
timings, config and versions). Later stages (simulation, dataset, surrogate) plug in here as they land.

Example:
    >>> from tfus.workflows.demo import DemoConfig
    >>> DemoConfig().spacing_mm
    2.0
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tfus.pipeline.resources import bundled_heads


@dataclass(frozen=True)
class DemoConfig:
    """Demo settings: head-model spacing (mm), poses per head, transducer preset and seed."""

    spacing_mm: float = 2.0
    poses_per_head: int = 8
    transducer: str = "itrusst-sc1"
    seed: int = 0


def run_demo(workdir: Path, config: DemoConfig, progress=None) -> Path:
    """Run the demo into ``workdir`` and return the path of ``report.md``. ``progress`` is an optional callable
    ``progress(message)``."""
    from tfus.pipeline.figures import save_label_overlay
    from tfus.pipeline.head.build import HeadBuildConfig, build_head
    from tfus.pipeline.head.measures import measure_head
    from tfus.pipeline.io.atomic import atomic_write_text
    from tfus.pipeline.transducers import load_transducer, poses_to_csv, sample_poses
    from tfus.pipeline.version import versions

    say = progress or (lambda message: None)
    workdir.mkdir(parents=True, exist_ok=True)
    bowl = load_transducer(config.transducer)
    rows, timings = [], {}
    for name, image in bundled_heads().items():
        out = workdir / "heads" / name
        say(f"{name}: building the head model")
        t0 = time.perf_counter()
        head = build_head(image, HeadBuildConfig(spacing_mm=config.spacing_mm, seed=config.seed))
        summary = measure_head(head)
        head.meta["summary"] = summary
        head.save(out)
        t1 = time.perf_counter()
        say(f"{name}: sampling {config.poses_per_head} poses")
        poses = sample_poses(head, bowl, config.poses_per_head, seed=config.seed)
        poses_to_csv(out / "poses.csv", poses)
        t2 = time.perf_counter()
        import numpy as np

        pts = np.array([p.apex for p in poses] + [p.focus for p in poses])
        save_label_overlay(head, out / "head.png", title=f"{name}: {head.meta['method']}", points_world=pts)
        timings[name] = {"head_s": t1 - t0, "poses_s": t2 - t1}
        rows.append((name, head.meta["modality"], summary, len(poses)))

    lines = ["# tfus demo report", "", f"Transducer: `{bowl.name}` (R {bowl.radius_of_curvature_mm:g} mm, aperture "
             f"{bowl.aperture_diameter_mm:g} mm, {bowl.frequency_hz / 1e3:g} kHz). Head-model spacing "
             f"{config.spacing_mm:g} mm.", "",
             "| head | modality | skull volume (ml) | median cranial thickness (mm) | bone HU median | brain (ml) | "
             "poses | head model (s) | poses (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for name, modality, s, n in rows:
        lines.append(f"| {name} | {modality} | {s['skull_volume_ml']:.0f} | {s['skull_thickness_mm']:.1f} | "
                     f"{s['bone_hu'].get('median', float('nan')):.0f} | {s['brain_volume_ml']:.0f} | {n} | "
                     f"{timings[name]['head_s']:.1f} | {timings[name]['poses_s']:.1f} |")
    lines += ["", "Figures (labels overlaid; yellow dots: transducer apexes and geometric foci):", ""]
    lines += [f"![{name}](heads/{name}/head.png)" for name, *_ in rows]
    lines += ["", "Config and versions: `demo.json`.", ""]
    atomic_write_text(workdir / "demo.json", json.dumps({"config": asdict(config), "versions": versions(),
                                                         "timings_s": timings}, indent=2) + "\n")
    report = workdir / "report.md"
    atomic_write_text(report, "\n".join(lines))
    return report
