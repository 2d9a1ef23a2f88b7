"""``report.md`` of ``tfus demo``, rendered from the demo's record (``demo.json``): the shipped model, the held-out
head, the predictions, the verification against k-Wave, the training path and the timings.

Example:
    >>> render_report(record, head_png, workdir)   # doctest: +SKIP
    '# tfus demo report\\n...'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["render_report"]

#: metric key -> (label, how a value is shown)
VERIFY_ROWS = (("rel_l2", "relative L2 (in the beam box)", lambda v: f"{100 * v:.1f} %"),
               ("focal_error_mm", "focal position error", lambda v: f"{v:.1f} mm"),
               ("peak_error", "peak pressure error", lambda v: f"{100 * v:+.1f} %"),
               ("focal_dice", "-6 dB focal Dice", lambda v: f"{v:.2f}"))
#: evaluation key (``tfus evaluate``: percent) -> label
EVAL_ROWS = (("rel_l2", "relative L2 (%)"), ("focal_error_mm", "focal position error (mm)"),
             ("peak_error", "peak pressure error (%)"), ("focal_dice", "-6 dB focal Dice"))


def render_report(record: dict, head_png: Path, workdir: Path) -> str:
    """The Markdown report (figures linked relative to ``workdir``)."""
    workdir = Path(workdir)
    rel = lambda p: Path(p).relative_to(workdir).as_posix()  # noqa: E731 - figures/NAME.png
    lines = _intro(record) + _model(record) + _head(record, rel(head_png)) + _predictions(record, rel)
    lines += _verification(record, rel) + _plan(record) + _training(record) + _timings(record)
    lines += ["", "Config, versions and seeds: `demo.json`; fields (Pa, head-model space): `fields/`; head model: "
              "`head/`; training path: `train.zarr` (`tfus info train.zarr`), `train-run/log.csv`.", ""]
    return "\n".join(lines)


def _served(model: dict) -> str:
    """``neurofus-ctx250 at 250 kHz``."""
    return f"{model['transducer']} at {model['frequency_hz'] / 1e3:g} kHz"


def _mm(values) -> str:
    return str(np.round(np.asarray(values, float), 1).tolist())


def _intro(record: dict) -> list[str]:
    m, head, v = record["shipped_model"], record["head"], record["verification"]
    held = ("the shipped model did **not** train on it" if not head["trained_on"]
            else "the shipped model **trained on it**, so this is not a held-out check")
    return ["# tfus demo report", "",
            f"The model that ships with tfus, `{m['name']}` ({_served(m)}), predicts the pressure field of "
            f"{len(record['predictions'])} transducer poses on the head `{head['name']}` ({held}); pose {v['pose']} is "
            "checked against a k-Wave simulation set up exactly like the model's training data. Then the training "
            f"path runs on the tiny store `{record['training']['dataset']}` (the training path, not the shipped "
            "model).", ""]


def _model(record: dict) -> list[str]:
    m = record["shipped_model"]
    rows = [("transducer, frequency", _served(m)), ("frame", m.get("frame") or "grid"),
            ("field grid", f"{' x '.join(map(str, m['grid_shape']))} voxels at {m['spacing_mm']:g} mm"),
            ("trained on heads", ", ".join(m["train_heads"]) or "not recorded"),
            ("held out from training", ", ".join(m["test_heads"]) or "not recorded"),
            ("training fields", m.get("n_train_samples") or "not recorded"), ("weights SHA-256", m["sha256"][:16])]
    return ["## The shipped model", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]


def _head(record: dict, png: str) -> list[str]:
    h = record["head"]
    status = "trained on (not held out)" if h["trained_on"] else "held out (not trained on)"
    lines = ["## Head", "", "| head | image | for the shipped model | grid | skull volume (ml) | median cranial "
             "thickness (mm) | brain (ml) |", "|---|---|---|---|---|---|---|"]
    fmt = lambda key, spec: format(h[key], spec) if isinstance(h.get(key), (int, float)) else "-"  # noqa: E731
    lines.append(f"| {h['name']} | `{Path(h['image']).name}` | {status} | {' x '.join(map(str, h['shape']))} | "
                 f"{fmt('skull_volume_ml', '.0f')} | {fmt('skull_thickness_mm', '.1f')} | "
                 f"{fmt('brain_volume_ml', '.0f')} |")
    return lines + ["", f"![{h['name']}]({png})", ""]


def _predictions(record: dict, rel) -> list[str]:
    lines = ["## Predictions with the shipped model", "",
             "Poses from the pose sampler, aimed at the brain centroid (world RAS mm); each predicted in its beam box "
             "and mapped back onto the head grid (`tfus predict`).", "",
             "| pose | apex (mm) | target (mm) | focal peak (kPa) | focus (mm) | focus in | -6 dB volume (mm³) | "
             "global peak (kPa) | predict (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for p in record["predictions"]:
        vol, top = p.get("focal_volume_mm3"), p.get("global_peak_pressure_pa")
        lines.append(f"| {p['pose']} | {_mm(p['apex_mm'])} | {_mm(p['target_mm'])} | "
                     f"{p['peak_pressure_pa'] / 1e3:.0f} | {_mm(p['focus_mm'])} | {p.get('focus_region') or '-'} | "
                     f"{'-' if vol is None else f'{vol:.0f}'} | {'-' if top is None else f'{top / 1e3:.0f}'} | "
                     f"{p['predict_s']:.2f} |")
    lines.append("")
    lines += [f"![pose {p['pose']}]({rel(p['png'])})" for p in record["predictions"]]
    return lines + [""]


def _plan(record: dict) -> list[str]:
    plan = record.get("plan")
    if not plan:
        return []
    return ["## Is it safe? (pose 1, predicted)", "",
            f"Planning report under the `{plan['protocol']}` protocol ([{plan['html']}]({plan['html']}), opens offline "
            f"in a browser: ITRUSST flags, temperature rise, largest safe drive, slice viewer): {plan['headline']}.",
            ""]


#: table headings and wording of a model's physics prior (its ``beam_prior``)
_PRIOR_NAMES = {"water": "water field alone", "angular-spectrum": "angular spectrum alone"}
_PRIOR_TEXT = {"water": "the bowl's water field in the box: no skull",
               "angular-spectrum": "the bowl marched through this pose's skull by the hybrid angular spectrum"}


def _verification(record: dict, rel) -> list[str]:
    v = record["verification"]
    r, prior = v["record"], v.get("prior")
    prior_name = _PRIOR_NAMES.get((prior or {}).get("kind", "water"), "prior alone")
    reused = " (simulation reused from the previous run in this folder)" if v.get("reused") else ""
    speed = f"{r['speedup']:.0f}x" if r.get("speedup") else "-"
    lines = [f"## Pose {v['pose']} against k-Wave", "",
             f"k-Wave in the same beam box, at the same spacing, frequency and settings as the model's training "
             f"data{reused}: simulated in {r['simulate_s']:.1f} s, predicted in {r['predict_s']:.2f} s ({speed}). "
             f"k-Wave's focus: {_mm(v['sim_focus_mm'])} mm, {v['sim_focus_pa'] / 1e3:.0f} kPa. The model's physics "
             f"prior alone ({_PRIOR_TEXT.get((prior or {}).get('kind', 'water'), 'its prior')}) is shown for "
             "comparison.", "",
             f"| metric | shipped model | {prior_name} |", "|---|---|---|"]
    for key, label, show in VERIFY_ROWS:
        if key in r:
            base = show(prior[key]) if prior and prior.get(key) is not None else "-"
            lines.append(f"| {label} | {show(r[key])} | {base} |")
    lines += ["", f"Below, k-Wave's field and the error map |prediction - k-Wave| (the prediction is pose {v['pose']} "
              "above), cut through k-Wave's intracranial focus.", "", f"![k-Wave]({rel(v['sim_png'])})",
              f"![error map]({rel(v['error_png'])})", "",
              f"Fields: `fields/pose{v['pose']}_predicted.nii.gz`, `{rel(v['sim_nifti'])}`.", ""]
    return lines


def _training(record: dict) -> list[str]:
    t = record["training"]
    g, gen, tr = t["grid"], t["generate"], t["train"]
    freq = f" at {g['frequency_hz'] / 1e3:g} kHz" if g.get("frequency_hz") else ""
    loss = f", final training loss {tr['train_loss']:.4f}" if isinstance(tr.get("train_loss"), (int, float)) else ""
    done = tr.get("resumed_from")
    resumed = "" if done is None else (" (all in an earlier run in this folder)" if done >= tr["epochs"]
                                       else f" (resumed from epoch {done})")
    epochs = f"{tr['epochs']} epoch{'s' if tr['epochs'] != 1 else ''}"
    model = ", ".join(f"{k} {v}" for k, v in t["model"].items())
    bowl = Path(g["transducer"]).stem
    lines = ["## The training path (not the shipped model)", "",
             f"Dataset `{t['dataset']}`: heads {', '.join(g['heads'])}, transducer `{bowl}`{freq}, "
             f"{g['spacing_mm']:g} mm, k-Wave in beam boxes ({gen.get('computed', 0)} simulated now, "
             f"{gen.get('already_complete', 0)} reused). DeepTFUS ({model}) trained {epochs}{resumed} "
             f"on {t.get('n_train_samples') or '?'} fields{loss}; evaluated on the held-out head(s) "
             f"{', '.join(t.get('test_heads') or []) or '?'} ({t.get('n_test_samples') or '?'} fields). At this size "
             "it exercises generation, training and evaluation; it is not expected to be accurate.", "",
             f"| metric | mean | median | {_PRIOR_NAMES.get(t.get('prior_kind', 'water'), 'prior alone')} (median) |",
             "|---|---|---|---|"]
    for key, label in EVAL_ROWS:
        e, w = t["evaluation"].get(key), t["prior"].get(key)
        if e:
            lines.append(f"| {label} | {e['mean']:.2f} | {e['median']:.2f} | "
                         f"{'-' if not w else format(w['median'], '.2f')} |")
    return lines + [""]


def _timings(record: dict) -> list[str]:
    t = record["training"]
    rows = dict(record["timings_s"])
    rows["  of which training store"] = t["dataset_s"]
    rows["  of which training"] = t["train_s"]
    lines = ["## Timings", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in rows.items()]
    return lines + [f"| total | {sum(record['timings_s'].values()):.1f} |"]
