"""The sonication planning report: a field, its head and a protocol -> :func:`tfus.pipeline.safety.report
.safety_report` -> one self-contained HTML page (:mod:`~tfus.workflows.report.html`), written atomically.

:func:`load_plan_inputs` reads what ``tfus report`` is given: the field NIfTI, the JSON record ``tfus simulate`` /
``tfus predict`` wrote beside it (transducer, pose, HU mapping, engine timings), the head model folder; options
override the record. :func:`write_plan_report` is the one writer, used by ``tfus report`` and ``tfus demo``.

Example:
    >>> inputs = load_plan_inputs("field.nii.gz", "heads/mni")                        # doctest: +SKIP
    >>> write_plan_report("plan.html", inputs, "tbtus-zeng2022").limits.ok            # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.safety.report import SafetyReport
from tfus.pipeline.transducers import BowlTransducer, Pose

__all__ = ["PlanInputs", "load_plan_inputs", "write_plan_report"]


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """A field with everything the report needs about it.

    Attributes:
        field: the steady-state field (amplitude in Pa at the transducer's source amplitude).
        head: the head model on the field's grid.
        transducer, pose: the bowl and its placement.
        mapping: HU -> acoustic mapping of the medium (when ``medium`` is None).
        medium: the simulation medium on the field's grid, if known.
        free_field: a water simulation of the same transducer, if given.
        sources: what the page lists as inputs (file paths, where each value came from).
        timings_s: upstream timings to show (simulation or prediction).
    """

    field: SteadyStateField
    head: HeadModel
    transducer: BowlTransducer
    pose: Pose
    mapping: str = "itrusst"
    medium: MediumGrid | None = None
    free_field: SteadyStateField | None = None
    sources: dict[str, str] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)


def _read_amplitude(path: Path, what: str) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    if not path.is_file():
        raise TfusInputError(f"{what} {path} does not exist; give the NIfTI written by `tfus simulate` or "
                             "`tfus predict`")
    try:
        img = nib.load(str(path))
        data = np.asarray(img.dataobj, np.float32)
    except Exception as err:  # nibabel raises many types for damaged files
        raise TfusInputError(f"cannot read {what} {path} ({type(err).__name__}); give a NIfTI file") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise TfusInputError(f"{what} {path} has shape {data.shape}; a 3D pressure-amplitude volume is needed")
    return data, np.asarray(img.affine, float)


def _record(path: Path) -> dict:
    sidecar = Path(str(path).removesuffix(".gz").removesuffix(".nii") + ".json")
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise TfusInputError(f"cannot read the field's record {sidecar} ({type(err).__name__}); remove it and give "
                             "--transducer, --position and --target") from None
    return data if isinstance(data, dict) else {}


def _head_on_field_grid(head_dir: Path, shape, affine) -> HeadModel:
    from tfus.pipeline.engines.problem import head_on_grid

    head = HeadModel.load(head_dir)
    spacing = float(np.mean(np.linalg.norm(affine[:3, :3], axis=0)))
    for candidate in (head, head_on_grid(head, spacing)):
        if candidate.shape == tuple(shape) and np.allclose(candidate.affine, affine, atol=1e-3):
            return candidate
    raise TfusInputError(f"the field ({list(shape)} voxels at {spacing:g} mm) is not on the grid of the head in "
                         f"{head_dir} ({list(head.shape)} at {head.spacing_mm:g} mm); give the head the field was "
                         "simulated or predicted on")


def load_plan_inputs(field_path: str | Path, head_dir: str | Path, *, transducer: str | None = None,
                     position=None, target=None, frequency_hz: float | None = None, mapping: str | None = None,
                     free_field_path: str | Path | None = None) -> PlanInputs:
    """Read a field and its head for a report; the transducer, pose, frequency and mapping come from the field's
    JSON record unless given.

    Raises:
        TfusInputError: missing or unreadable files, a field of another grid than the head, a NaN field, no
            transducer or pose in the record and none given.
    """
    from dataclasses import replace

    from tfus.pipeline.transducers import load_transducer

    field_path = Path(field_path)
    amp, affine = _read_amplitude(field_path, "field")
    if not np.isfinite(amp).all():
        raise TfusInputError(f"the field {field_path} contains NaN or infinite values; check the simulation or "
                             "prediction that wrote it")
    record = _record(field_path)
    request = record.get("request") or {}
    head = _head_on_field_grid(Path(head_dir), amp.shape, affine)
    sources = {"field": str(field_path), "head": str(head_dir)}
    if transducer is not None:
        bowl, sources["transducer from"] = load_transducer(transducer), "option"
    elif isinstance(request.get("transducer"), dict):
        bowl, sources["transducer from"] = BowlTransducer.from_dict(request["transducer"]), "field record"
    else:
        raise TfusInputError(f"{field_path} has no JSON record naming its transducer; give --transducer")
    if frequency_hz is not None:
        bowl = replace(bowl, frequency_hz=float(frequency_hz))
    pose_record = request.get("pose") or {}
    apex = position if position is not None else pose_record.get("apex")
    aim = target if target is not None else pose_record.get("target")
    if apex is None or aim is None:
        raise TfusInputError(f"{field_path} has no JSON record with the pose; give --position and --target")
    sources["pose from"] = "option" if position is not None or target is not None else "field record"
    surrogate = record.get("surrogate") or {}
    mapping = mapping or request.get("mapping") or surrogate.get("medium_mapping") or "itrusst"
    free = None
    if free_field_path is not None:
        ff_amp, ff_affine = _read_amplitude(Path(free_field_path), "free-field (water) field")
        free = SteadyStateField(ff_amp, np.zeros_like(ff_amp), ff_affine, bowl.frequency_hz)
        sources["free field"] = str(free_field_path)
    timings = {}
    engine = record.get("engine") or {}
    if isinstance(engine.get("run_s"), (int, float)):
        timings[f"field: {engine.get('engine', 'engine')} run (from the record)"] = float(engine["run_s"])
    if isinstance(surrogate.get("predict_seconds"), (int, float)):
        timings["field: prediction (from the record)"] = float(surrogate["predict_seconds"])
    field = SteadyStateField(amp, np.zeros_like(amp), affine, bowl.frequency_hz)
    return PlanInputs(field=field, head=head, transducer=bowl, pose=Pose(list(apex), list(aim)), mapping=mapping,
                      free_field=free, sources=sources, timings_s=timings)


def write_plan_report(out: str | Path, inputs: PlanInputs, protocol, *, title: str | None = None,
                      viewer: bool = True) -> SafetyReport:
    """Compute the safety report of ``inputs`` under ``protocol`` and write the HTML page to ``out`` (atomic).

    Args:
        out: the ``.html`` path.
        inputs: field, head, transducer, pose (:func:`load_plan_inputs`, or built in code as the demo does).
        protocol: a :class:`~tfus.pipeline.safety.protocol.Protocol`, preset name or YAML path.
        title: the page title (default: transducer and protocol).
        viewer: include the NiiVue slice viewer (2.3 MB of script plus the volumes).

    Returns:
        The :class:`~tfus.pipeline.safety.report.SafetyReport` shown on the page.
    """
    from tfus.pipeline.io.atomic import atomic_write_text
    from tfus.pipeline.safety.report import safety_report
    from tfus.pipeline.version import versions
    from tfus.workflows.report.figures import slices_png
    from tfus.workflows.report.html import render_plan
    from tfus.workflows.report.viewer import viewer_volumes

    timings = dict(inputs.timings_s)
    report = safety_report(inputs.field, inputs.head, protocol, transducer=inputs.transducer, pose=inputs.pose,
                           medium=inputs.medium, mapping=inputs.mapping, free_field=inputs.free_field)
    timings.update({f"safety: {k}": v for k, v in report.timings_s.items()})
    t0 = time.perf_counter()
    amp = np.abs(np.asarray(inputs.field.amplitude, float)) * report.drive_scale
    affine = np.asarray(inputs.field.affine, float)
    focus_region = report.acoustics.regions.get("brain") or report.acoustics.regions["all"]
    focus, target = focus_region.peak_mm, inputs.pose.target
    hottest = None
    if report.temperature_rise_c.any():
        ijk = np.unravel_index(int(np.argmax(report.temperature_rise_c)), amp.shape)
        hottest = affine[:3, :3] @ np.asarray(ijk, float) + affine[:3, 3]
    marks = {"apex": inputs.pose.apex, "focus": focus, "target": target}
    kpa = dict(label="pressure amplitude at the protocol's drive (kPa)", unit_scale=1e3, markers=marks)
    figures = {
        "focus": slices_png(inputs.head.hu, amp, affine, focus, title="through the focus", **kpa),
        "target": slices_png(inputs.head.hu, amp, affine, target, title="through the target", **kpa),
    }
    if hottest is not None:
        figures["temperature"] = slices_png(inputs.head.hu, report.temperature_rise_c, affine, hottest,
                                            label="temperature rise at the hottest time (degC)", cmap="hot",
                                            threshold=0.05, markers={**marks, "hottest": hottest},
                                            title=f"temperature rise at t = {report.thermal.hottest_time_s:g} s, "
                                                  "through the hottest voxel")
    timings["report: figures"] = time.perf_counter() - t0
    volumes = None
    if viewer:
        t0 = time.perf_counter()
        volumes = viewer_volumes(inputs.head.hu, amp, report.temperature_rise_c, affine)
        timings["report: viewer volumes"] = time.perf_counter() - t0
    context: dict[str, Any] = {
        "title": title or f"{inputs.transducer.name} · {report.protocol.name}",
        "inputs": inputs, "report": report, "figures": figures, "volumes": volumes, "timings": timings,
        "versions": versions(), "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    atomic_write_text(out, render_plan(context))
    return report
