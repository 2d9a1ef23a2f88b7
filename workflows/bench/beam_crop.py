"""The cost of cropping to the beam frame, measured: for poses on real heads, the beam-box simulation against the
whole-head simulation of the same pose at the same spacing and frequency (``tfus bench beam-crop``).

For each pose the whole head is simulated once and each beam box given (the default box, wider ones) is compared
with it inside that box (the whole-head field resampled into the box, one voxel in from its faces):

- focal pressure: the maximum over the box's brain voxels (the intracranial focus), as a relative error;
- focal position: the distance between the two argmax voxels (the primary metric; on a coarse grid it moves in whole
  voxels), and as a diagnostic the distance between the centroids of the -6 dB focal regions (the connected set of
  brain voxels at >= half the peak that holds the peak), which moves continuously;
- rel. L2 over the box's brain voxels and over the whole box;
- the same focal pressure and position with the whole-head peak taken on its own grid (brain voxels inside the box),
  not resampled: the linear resampling into the rotated box lowers a peak that falls between voxels; and both peaks
  refined to sub-voxel by a parabola along each axis (:func:`refined_peak`), each on its own grid;
- the resampling floor: rel. L2 of the beam field mapped onto the head grid and back against itself (what linear
  resampling alone costs at this spacing);
- with several boxes, each also against the widest one (``crop_*``): the boxes share one lattice (the apex on a grid
  point, the same axes), so this difference is the crop alone, without the change of grid that separates either
  from the whole-head run;
- the simulation time (wall and process CPU, the steadier of the two on a shared machine) and grid points of each.

Whole-head fields can be cached on disk (``whole_cache``), so wider boxes can be compared later without simulating
the whole head again.

Targets (issue 14): focal pressure within 5 %, focal position within 1 mm.

Example:
    >>> from tfus.workflows.bench.beam_crop import BeamCropConfig
    >>> BeamCropConfig().poses_per_head, BeamCropConfig().boxes[0].beyond_focus_mm
    (5, 30.0)
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tfus.pipeline.beam import BeamBox
from tfus.pipeline.errors import TfusInputError


@dataclass(frozen=True)
class BeamCropConfig:
    """What the crop benchmark runs.

    Attributes:
        heads: bundled head names (``tfus.pipeline.resources.bundled_heads``).
        poses_per_head: sampled poses per head (aimed along the inward scalp normal, as the beam presets).
        pose_indices: run only these of the sampled poses (None: all); the sampling does not change.
        transducer: bowl preset.
        frequency_hz: driving frequency (default: the bowl's).
        spacing_mm: grid spacing of both simulations (the head is built at it).
        boxes: beam boxes compared with each whole-head field (:class:`tfus.pipeline.beam.BeamBox`).
        max_standoff_mm: largest apex-scalp distance of the sampled poses (the beam presets: 15 mm).
        mapping: HU -> acoustic properties mapping.
        seed: pose sampling seed.
        pml_size: k-Wave PML thickness (grid points) of both simulations.
        domain_crossings: k-Wave run length (domain-diagonal travel times) of both simulations (presets: 1.0).
        beam_domain_crossings: the beam box's run length if not ``domain_crossings`` (the box's diagonal is shorter,
            so at equal crossings it runs for less time; this tells a crop error from an unsettled field).
        whole_cache: folder for whole-head fields (None: no cache).
    """

    heads: tuple[str, ...] = ("cranium_ct", "colin27_t1")
    poses_per_head: int = 5
    pose_indices: tuple[int, ...] | None = None
    transducer: str = "neurofus-ctx250"
    frequency_hz: float | None = None
    spacing_mm: float = 1.5
    boxes: tuple[BeamBox, ...] = (BeamBox(),)
    max_standoff_mm: float = 15.0
    mapping: str = "itrusst"
    seed: int = 0
    pml_size: int = 10
    domain_crossings: float = 1.0
    beam_domain_crossings: float | None = None
    whole_cache: str | None = None

    def __post_init__(self) -> None:
        if not self.boxes:
            raise TfusInputError("beam-crop needs at least one beam box")
        if self.pose_indices is not None and any(not 0 <= k < self.poses_per_head for k in self.pose_indices):
            raise TfusInputError(f"pose indices {list(self.pose_indices)} out of range for {self.poses_per_head} "
                                 f"poses per head; use 0 to {self.poses_per_head - 1}")


@dataclass(frozen=True)
class WholeHead:
    """A whole-head simulation reduced to what the comparison needs (all on the head grid)."""

    amplitude: np.ndarray
    affine: np.ndarray
    brain: np.ndarray
    seconds: float
    points: int
    cpu_seconds: float = float("nan")


def _kwave(config: BeamCropConfig, beam: bool = False):
    from tfus.pipeline.engines.kwave.config import KWaveConfig

    crossings = config.beam_domain_crossings if beam and config.beam_domain_crossings else config.domain_crossings
    return KWaveConfig(pml_size=config.pml_size, domain_crossings=crossings)


def _request(head, bowl, pose, config: BeamCropConfig, frame: str, **kw):
    from tfus.pipeline.engines.run import SimulationRequest

    return SimulationRequest(transducer=bowl, pose=pose, head=head, spacing_mm=config.spacing_mm,
                             mapping=config.mapping, kwave=_kwave(config, beam=frame == "beam"), frame=frame, **kw)


def _cache_file(config: BeamCropConfig, key: str, bowl, pose) -> Path | None:
    if config.whole_cache is None:
        return None
    record = {"key": key, "bowl": bowl.to_dict(), "apex": pose.apex.tolist(), "target": pose.target.tolist(),
              "spacing": config.spacing_mm, "mapping": config.mapping, "kwave": asdict(_kwave(config))}
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]
    return Path(config.whole_cache) / f"whole-{digest}.npz"


def whole_head(head, bowl, pose, config: BeamCropConfig, key: str = "") -> WholeHead:
    """The whole-head simulation of ``pose`` (read from ``config.whole_cache`` when there, keyed by ``key`` (the
    head's name), the bowl, pose, spacing, mapping and k-Wave settings)."""
    from tfus.pipeline.engines.run import run_simulation
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.io.atomic import atomic_path

    path = _cache_file(config, key, bowl, pose)
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            cpu = float(z["cpu_seconds"]) if "cpu_seconds" in z.files else float("nan")
            return WholeHead(z["amplitude"], z["affine"], z["brain"], float(z["seconds"]), int(z["points"]), cpu)
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_simulation(_request(head, bowl, pose, config, frame="grid"))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = WholeHead(np.asarray(result.field.amplitude, np.float32), np.asarray(result.field.affine, float),
                    np.asarray(result.head.labels) == Label.BRAIN, seconds, int(np.prod(result.medium.shape)), cpu)
    if path is not None:
        with atomic_path(path) as tmp:
            np.savez(tmp, amplitude=out.amplitude, affine=out.affine, brain=out.brain, seconds=out.seconds,
                     points=out.points, cpu_seconds=out.cpu_seconds)
    return out


def _peak(amplitude: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    masked = np.where(mask, amplitude, 0.0)
    i = np.unravel_index(int(np.argmax(masked)), masked.shape)
    return float(masked[i]), np.array(i, float)


def focal_centroid(amplitude: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Centroid (voxel indices) of the -6 dB focal region: the connected (26-neighbour) voxels of ``mask`` at >= half
    the masked peak that hold the peak.

    Example:
        >>> a = np.zeros((5, 5, 5)); a[2, 2, 1:4] = [0.6, 1.0, 0.8]
        >>> focal_centroid(a, a > 0).tolist()
        [2.0, 2.0, 2.0]
    """
    from scipy import ndimage

    peak, i = _peak(amplitude, mask)
    regions, _ = ndimage.label(mask & (amplitude >= 0.5 * peak), structure=np.ones((3, 3, 3), bool))
    return np.argwhere(regions == regions[tuple(i.astype(int))]).mean(axis=0)


def refined_peak(amplitude: np.ndarray, index: np.ndarray) -> tuple[float, np.ndarray]:
    """Sub-voxel peak around the voxel ``index``: a parabola through it and its two neighbours along each axis
    (offsets clipped to half a voxel; an axis at the array's edge keeps the voxel). Returns (value, index).

    Example:
        >>> a = np.zeros((3, 3, 3)); a[1, 1] = [0.0, 1.0, 1.0]
        >>> value, at = refined_peak(a, np.array([1, 1, 1]))
        >>> round(value, 3), at.tolist()
        (1.125, [1.0, 1.0, 1.5])
    """
    i = np.asarray(index, int)
    f0 = float(amplitude[tuple(i)])
    value, at = f0, i.astype(float)
    for d in range(3):
        if not 0 < i[d] < amplitude.shape[d] - 1:
            continue
        lo, hi = i.copy(), i.copy()
        lo[d] -= 1
        hi[d] += 1
        fm, fp = float(amplitude[tuple(lo)]), float(amplitude[tuple(hi)])
        curve = fm - 2.0 * f0 + fp
        if curve >= 0:
            continue
        off = float(np.clip(0.5 * (fm - fp) / curve, -0.5, 0.5))
        at[d] += off
        value += -0.25 * (fm - fp) * off
    return value, at


def compare_pose(head, bowl, pose, config: BeamCropConfig, *, box: BeamBox | None = None,
                 whole: WholeHead | None = None, widest=None) -> dict:
    """The beam-box simulation of ``pose`` in ``box`` (default: the config's first) against the whole-head one
    (simulated here unless given) inside the box; with ``widest`` (the amplitude and frame of a wider box's run of
    the same pose) also against that (the ``crop_*`` keys: the same lattice, so only the crop differs)."""
    return _compare(head, bowl, pose, config, box, whole, widest)[0]


def _compare(head, bowl, pose, config: BeamCropConfig, box, whole, widest):
    from tfus.pipeline.beam import from_box, resample_onto, to_box
    from tfus.pipeline.engines.run import run_simulation
    from tfus.pipeline.head.labels import Label

    box = box or config.boxes[0]
    whole = whole or whole_head(head, bowl, pose, config)
    t0, c0 = time.perf_counter(), time.process_time()
    beam = run_simulation(_request(head, bowl, pose, config, frame="beam", box=box))
    beam_s, beam_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    frame = beam.frame
    whole_in_box = to_box(whole.amplitude, whole.affine, frame)
    # compare away from the box faces, where the resampled whole-head field interpolates with the outside
    inner = np.zeros(frame.shape, bool)
    inner[1:-1, 1:-1, 1:-1] = True
    brain = (beam.head.labels == Label.BRAIN) & inner
    if not brain.any():
        return {"skipped": "no brain voxel in the box"}, None, None
    amp = np.asarray(beam.field.amplitude, float)
    p_beam, i_beam = _peak(amp, brain)
    p_whole, i_whole = _peak(whole_in_box, brain)
    # the whole-head peak on its own grid, over its brain voxels inside the box (no resampling of the field)
    own = np.argwhere(whole.brain)
    own_box = frame.world_to_box(own @ whole.affine[:3, :3].T + whole.affine[:3, 3])
    own = own[np.all((own_box >= 1) & (own_box <= np.array(frame.shape) - 2), axis=1)]
    i_own = own[int(np.argmax(whole.amplitude[tuple(own.T)]))].astype(float)
    p_own = float(whole.amplitude[tuple(i_own.astype(int))])
    q_beam, s_beam = refined_peak(amp, i_beam)
    q_own, s_own = refined_peak(whole.amplitude, i_own)
    to_world = lambda a, i: a[:3, :3] @ i + a[:3, 3]  # noqa: E731
    # what resampling alone costs: the beam field onto the head grid and back, against itself
    round_trip = to_box(from_box(amp, frame, whole.amplitude.shape, whole.affine), whole.affine, frame)
    diff = amp[brain] - whole_in_box[brain]
    diff_box = amp[inner] - whole_in_box[inner]
    c_beam, c_whole = focal_centroid(amp, brain), focal_centroid(whole_in_box, brain)
    h = frame.spacing_mm
    row = {
        "apex_mm": pose.apex.round(2).tolist(), "target_mm": pose.target.round(2).tolist(),
        "box": asdict(box), "box_shape": list(frame.shape),
        "focal_pressure_error": p_beam / p_whole - 1.0,
        "focal_position_error_mm": float(np.linalg.norm(i_beam - i_whole) * h),
        "focal_centroid_error_mm": float(np.linalg.norm(c_beam - c_whole) * h),
        "rel_l2_brain": float(np.linalg.norm(diff) / np.linalg.norm(whole_in_box[brain])),
        "rel_l2_box": float(np.linalg.norm(diff_box) / np.linalg.norm(whole_in_box[inner])),
        "rel_l2_brain_round_trip": float(np.linalg.norm(round_trip[brain] - amp[brain]) / np.linalg.norm(amp[brain])),
        "focal_pressure_error_own_grid": p_beam / p_own - 1.0,
        "focal_position_error_own_grid_mm": float(np.linalg.norm(frame.box_to_world(i_beam)
                                                                 - to_world(whole.affine, i_own))),
        "focal_pressure_error_subvoxel": q_beam / q_own - 1.0,
        "focal_position_error_subvoxel_mm": float(np.linalg.norm(frame.box_to_world(s_beam)
                                                                 - to_world(whole.affine, s_own))),
        "beam_peak_pa": p_beam, "whole_peak_pa": p_whole,
        "whole_s": whole.seconds, "beam_s": beam_s, "whole_cpu_s": whole.cpu_seconds, "beam_cpu_s": beam_cpu_s,
        "whole_points": whole.points, "beam_points": int(np.prod(frame.shape)),
    }
    if widest is not None:  # the wider box's field at this box's grid points (the same lattice: exact)
        wide = resample_onto(widest[0], widest[1].affine, frame.shape, frame.affine)
        p_wide, i_wide = _peak(wide, brain)
        row.update({"crop_focal_pressure_error": p_beam / p_wide - 1.0,
                    "crop_focal_position_error_mm": float(np.linalg.norm(i_beam - i_wide) * h),
                    "crop_rel_l2_brain": float(np.linalg.norm(amp[brain] - wide[brain])
                                               / np.linalg.norm(wide[brain]))})
    return row, amp, frame


def _box_label(box: dict) -> str:
    return f"{box['lateral_margin_mm']:g}/{box['behind_mm']:g}/{box['beyond_focus_mm']:g}"


def summarise(rows: list[dict]) -> list[dict]:
    """Per box: medians and maxima of the absolute errors, the beam box's points and the median whole/beam time
    ratio (wall and CPU)."""
    out = []
    for label in dict.fromkeys(_box_label(r["box"]) for r in rows if "skipped" not in r):
        done = [r for r in rows if "skipped" not in r and _box_label(r["box"]) == label]
        stats = {"box": done[0]["box"], "box_shape": done[0]["box_shape"], "poses": len(done),
                 "beam_points": done[0]["beam_points"],
                 # per-pose ratios, medians: one pose run during a load spike does not set the number
                 "speedup": float(np.median([r["whole_s"] / r["beam_s"] for r in done])),
                 "speedup_cpu": float(np.nanmedian([r["whole_cpu_s"] / r["beam_cpu_s"] for r in done]))
                 if any(np.isfinite(r["whole_cpu_s"]) for r in done) else float("nan")}
        for key in ("focal_pressure_error", "focal_position_error_mm", "focal_centroid_error_mm", "rel_l2_brain",
                    "rel_l2_box", "rel_l2_brain_round_trip", "focal_pressure_error_own_grid",
                    "focal_position_error_own_grid_mm", "focal_pressure_error_subvoxel",
                    "focal_position_error_subvoxel_mm", "crop_focal_pressure_error", "crop_focal_position_error_mm",
                    "crop_rel_l2_brain"):
            if key not in done[0]:
                continue
            values = np.abs([r[key] for r in done])
            stats[f"median_{key}"], stats[f"max_{key}"] = float(np.median(values)), float(np.max(values))
        stats["within_targets"] = int(sum(abs(r["focal_pressure_error"]) <= 0.05
                                          and r["focal_position_error_mm"] <= 1.0 + 1e-9 for r in done))
        out.append(stats)
    return out


def compare_boxes(head, bowl, pose, config: BeamCropConfig, whole: WholeHead, label: dict, say=None) -> list[dict]:
    """:func:`compare_pose` for each of ``config.boxes`` against one whole-head run, the widest box first and the
    others also against it; rows (each starting with ``label``) in the order of ``config.boxes``."""
    done, widest = {}, None
    for n in widest_first(config.boxes, bowl, pose, config.spacing_mm):
        row, amp, frame = _compare(head, bowl, pose, config, config.boxes[n], whole, widest)
        if widest is None and amp is not None and len(config.boxes) > 1:
            widest = (amp, frame)
        done[n] = {**label, **row}
        if say is not None:
            say(" ".join(f"{v}" for v in label.values()) + f" box {_box_label(asdict(config.boxes[n]))}: " + ", ".join(
                f"{key} {value:.3g}" for key, value in row.items() if isinstance(value, float)))
    return [done[n] for n in range(len(config.boxes))]


def widest_first(boxes, bowl, pose, spacing_mm) -> list[int]:
    """Indices of ``boxes``, the one with the most grid points first (the others are also compared with it)."""
    from tfus.pipeline.beam import BeamFrame

    size = [int(np.prod(BeamFrame.from_pose(pose, bowl, spacing_mm, box).shape)) for box in boxes]
    return sorted(range(len(boxes)), key=lambda n: -size[n])


def beam_crop_bench(config: BeamCropConfig = BeamCropConfig(), progress=None) -> dict:
    """Run :func:`compare_pose` for every box over the sampled poses of each head (one whole-head simulation per
    pose); per-pose rows and per-box medians (:func:`summarise`)."""
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
        poses = sample_poses(head, bowl, config.poses_per_head, seed=config.seed,
                             max_standoff_mm=config.max_standoff_mm)
        for k, sp in enumerate(poses):
            if config.pose_indices is not None and k not in config.pose_indices:
                continue
            whole = whole_head(head, bowl, sp.pose, config, key=name)
            rows.extend(compare_boxes(head, bowl, sp.pose, config, whole, {"head": name, "pose": k}, say))
    return {"config": asdict(config), "versions": versions(), "transducer": bowl.to_dict(), "rows": rows,
            "boxes": summarise(rows)}


def render(result: dict) -> str:
    """Plain-text table of a :func:`beam_crop_bench` result (box: lateral margin / behind / beyond focus, mm)."""
    lines = [f"{'head':<12} {'pose':>4} {'box':>10} {'dp_focal':>9} {'dx_mm':>6} {'dxc_mm':>6} {'dp_sub':>7} "
             f"{'dx_sub':>6} {'relL2':>6} {'L2box':>6} {'whole_s':>8} {'beam_s':>7} {'cpu_s':>11}"]
    for r in result["rows"]:
        if "skipped" in r:
            lines.append(f"{r['head']:<12} {r['pose']:>4} skipped: {r['skipped']}")
            continue
        lines.append(f"{r['head']:<12} {r['pose']:>4} {_box_label(r['box']):>10} "
                     f"{100 * r['focal_pressure_error']:>8.1f}% {r['focal_position_error_mm']:>6.2f} "
                     f"{r['focal_centroid_error_mm']:>6.2f} {100 * r['focal_pressure_error_subvoxel']:>6.1f}% "
                     f"{r['focal_position_error_subvoxel_mm']:>6.2f} {100 * r['rel_l2_brain']:>5.1f}% "
                     f"{100 * r['rel_l2_box']:>5.1f}% {r['whole_s']:>8.1f} {r['beam_s']:>7.1f} "
                     f"{r['whole_cpu_s']:>5.0f}/{r['beam_cpu_s']:<5.0f}")
    for s in result["boxes"]:
        lines.append(f"box {_box_label(s['box'])} ({'x'.join(map(str, s['box_shape']))}, {s['poses']} poses): median "
                     f"|focal pressure error| {100 * s['median_focal_pressure_error']:.1f} % (max "
                     f"{100 * s['max_focal_pressure_error']:.1f} %, target <= 5 %); median focal position error "
                     f"{s['median_focal_position_error_mm']:.2f} mm (max {s['max_focal_position_error_mm']:.2f} mm, "
                     f"target <= 1 mm; -6 dB centroids {s['median_focal_centroid_error_mm']:.2f} mm, sub-voxel peaks "
                     f"{s['median_focal_position_error_subvoxel_mm']:.2f} mm and "
                     f"{100 * s['median_focal_pressure_error_subvoxel']:.1f} %); median rel. L2 brain "
                     f"{100 * s['median_rel_l2_brain']:.1f} % (resampling round trip "
                     f"{100 * s['median_rel_l2_brain_round_trip']:.1f} %); {s['within_targets']}/{s['poses']} poses "
                     f"within both targets; beam box {s['speedup']:.1f}x faster than the whole head (CPU time "
                     f"{s['speedup_cpu']:.1f}x)" + ("" if "median_crop_rel_l2_brain" not in s else
                                             f"; against the widest box (crop alone): median |focal pressure error| "
                                             f"{100 * s['median_crop_focal_pressure_error']:.1f} %, focal position "
                                             f"{s['median_crop_focal_position_error_mm']:.2f} mm, rel. L2 brain "
                                             f"{100 * s['median_crop_rel_l2_brain']:.1f} %"))
    return "\n".join(lines)
