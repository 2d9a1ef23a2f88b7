"""The HTML of the planning report: one self-contained page (inline CSS, PNGs and volumes as base64, NiiVue inline),
no network. Text is escaped with :func:`html.escape`.

The page marks its state for people and for tests: ``<body data-verdict="ok|exceeded">``; every flag is a cell
with class ``flag ok`` or ``flag exceeded``; the viewer sets ``data-viewer`` on ``<body>`` to ``ready`` (volumes
drawn), ``unavailable`` (no WebGL2: a message says so), ``failed`` or ``none`` (left out); any uncaught script error is
appended to ``data-js-errors`` and listed in ``#js-errors``.
"""

from __future__ import annotations

import base64
import json
import math
from html import escape
from typing import Any

__all__ = ["render_plan"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1250px;color:#222;
padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em} td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right} th{background:#f3f3f3} td.l,th.l{text-align:left}
.verdict{font-size:1.1em;padding:.6em 1em;border-radius:6px;margin:.8em 0}
.verdict.ok{background:#e3f5e1;border:1px solid #3c9a34} .verdict.exceeded{background:#fbe3e1;border:1px solid #c62e25}
.flag{font-weight:600;text-align:center} .flag.ok{background:#3c9a34;color:#fff}
.flag.exceeded{background:#c62e25;color:#fff}
tr.binding td{outline:2px solid #e0a800}
img{max-width:100%;display:block;margin:.4em 0} .note{color:#555;font-size:.85em}
#viewer-box{position:relative;width:100%;height:520px;background:#000} canvas#gl{width:100%;height:100%}
#viewer-status{margin:.3em 0;font-size:.85em;color:#555} button{margin-right:.4em}
"""

_VIEWER_JS = """
(function(){
  const body = document.body;
  const status = document.getElementById('viewer-status');
  const volumes = JSON.parse(document.getElementById('viewer-volumes').textContent);
  function b64ToBuffer(b64){const bin=atob(b64);const out=new Uint8Array(bin.length);
    for(let i=0;i<bin.length;i++){out[i]=bin.charCodeAt(i);} return out.buffer;}
  async function start(){
    const canvas = document.getElementById('gl');
    if (!canvas.getContext('webgl2')) {
      body.dataset.viewer = 'unavailable';
      status.textContent = 'The slice viewer needs WebGL2, which this browser does not offer; ' +
                           'the figures above show the same slices.';
      return;
    }
    const nv = new niivue.Niivue({backColor:[0,0,0,1], show3Dcrosshair:true, isColorbar:true, loadingText:'loading'});
    await nv.attachToCanvas(canvas);
    const specs = [['head','gray',1.0], ['pressure','warm',0.8], ['temperature','hot',0.0]];
    const images = [];
    for (const [key, cmap, opacity] of specs) {
      const v = volumes[key];
      images.push(await niivue.NVImage.new(b64ToBuffer(v.b64), key + '.nii.gz', cmap, opacity, null,
                                           v.min, v.max, true));
    }
    for (const img of images) { nv.addVolume(img); }
    nv.setSliceType(nv.sliceTypeMultiplanar);
    nv.scene.crosshairPos = new Float32Array(volumes.crosshair);
    nv.drawScene();
    const show = (which) => { nv.setOpacity(1, which === 'pressure' ? 0.8 : 0.0);
                              nv.setOpacity(2, which === 'temperature' ? 0.8 : 0.0); };
    document.getElementById('show-pressure').onclick = () => show('pressure');
    document.getElementById('show-temperature').onclick = () => show('temperature');
    body.dataset.viewer = 'ready';
    status.textContent = 'Drag to move the crosshair; scroll to change slices. ' +
                         'Overlay: pressure (kPa) or temperature rise (degC).';
  }
  start().catch((err) => { body.dataset.viewer = 'failed'; status.textContent = 'viewer failed: ' + err;
                           window.__tfusError(String(err)); });
})();
"""

_ERRORS_JS = """
window.__tfusError = function(message){
  const b = document.body; b.dataset.jsErrors = (b.dataset.jsErrors ? b.dataset.jsErrors + ' | ' : '') + message;
  const list = document.getElementById('js-errors'); if (list) { const li = document.createElement('li');
  li.textContent = message; list.appendChild(li); list.parentElement.hidden = false; }
};
window.addEventListener('error', (e) => window.__tfusError((e.message || 'error') + ' at ' + (e.filename || '') +
                                                           ':' + (e.lineno || '')));
window.addEventListener('unhandledrejection', (e) => window.__tfusError('unhandled rejection: ' + e.reason));
"""


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "∞" if value > 0 else "—"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_num(v, digits) for v in value) + ")"
    return escape(str(value))


def _table(headers: list[str], rows: list[list[str]], left: int = 1, row_class: list[str] | None = None) -> str:
    head = "".join(f"<th class='l'>{h}</th>" if i < left else f"<th>{h}</th>" for i, h in enumerate(headers))
    body = []
    for n, row in enumerate(rows):
        cls = f" class='{row_class[n]}'" if row_class and row_class[n] else ""
        cells = "".join(c if c.startswith("<td") else (f"<td class='l'>{c}</td>" if i < left else f"<td>{c}</td>")
                        for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _flag_cell(ok: bool) -> str:
    return f"<td class='flag {'ok' if ok else 'exceeded'}'>{'within' if ok else 'EXCEEDED'}</td>"


def _inputs(ctx: dict) -> str:
    inputs, report = ctx["inputs"], ctx["report"]
    t, p = inputs.transducer, inputs.pose
    proto = report.protocol
    rows = [[escape(k), escape(v)] for k, v in inputs.sources.items()]
    rows += [
        ["transducer", f"{escape(t.name)}: R {t.radius_of_curvature_mm:g} mm, aperture {t.aperture_diameter_mm:g} mm, "
                       f"{t.frequency_hz / 1e3:g} kHz, simulated source {t.source_amplitude_pa / 1e3:g} kPa"],
        ["pose", f"apex {_num(p.apex.tolist())} mm → target {_num(p.target.tolist())} mm (axis "
                 f"{_num(p.axis.tolist(), 3)})"],
        ["protocol", f"{escape(proto.name)}: {escape(proto.description)}"],
        ["timing", f"pulse {proto.pulse_duration_ms:g} ms, PRF {proto.pulse_repetition_frequency_hz:g} Hz, duty "
                   f"{100 * proto.duty_cycle:.3g} %, train {proto.train_duration_s:g} s every "
                   f"{proto.train_repetition_interval_s:g} s, total {proto.total_duration_s:g} s"],
        ["drive", f"{escape(proto.drive[0])} = {proto.drive[1]:g} → factor {report.drive_scale:.4g}, source "
                  f"{report.source_amplitude_pa / 1e3:.4g} kPa"],
        ["protocol source", escape(proto.source or "—")],
        ["medium", escape(report.mapping or "the simulation's medium")],
        ["grid", f"{list(inputs.field.amplitude.shape)} voxels"],
    ]
    return _table(["input", "value"], rows, left=2)


def _flags(report) -> str:
    binding = report.limits.binding
    rows, classes = [], []
    for f in report.limits.flags:
        rows.append([escape(f.group), escape(f.criterion), escape(f.region), _num(f.value), f"{f.limit:g} {f.unit}",
                     _flag_cell(f.ok), _num(f.max_scale)])
        classes.append("binding" if f == binding else "")
    groups = "".join(f"<li>{escape(g)}: <span class='flag {'ok' if ok else 'exceeded'}'>"
                     f"{'within' if ok else 'EXCEEDED'}</span></li>" for g, ok in report.limits.groups.items())
    ff = report.acoustics.free_field
    s = report.limits.max_scale
    largest = "unlimited" if not math.isfinite(s) else (
        f"x{s:.4g} the protocol's drive: source {report.max_source_amplitude_pa / 1e3:.4g} kPa"
        + ("" if ff is None else f", free-field Isppa {ff.isppa_w_cm2 * s * s:.4g} W/cm², MI {ff.mi * s:.3g}"))
    return (f"<p class='note'>Levels: {escape(report.limits.consensus)}. A group is within its levels when any of its "
            "criteria is; the binding criterion (outlined) sets the largest drive.</p>"
            + _table(["group", "criterion", "region", "value", "level", "flag", "largest drive factor"], rows,
                     left=3, row_class=classes)
            + f"<ul>{groups}</ul><p><b>Largest drive keeping every flag green:</b> {largest}.</p>")


def _acoustics(report) -> str:
    a = report.acoustics
    rows = [[escape(name), _num(r.peak_pressure_pa / 1e3), _num(r.isppa_w_cm2), _num(r.ispta_w_cm2), _num(r.mi, 3),
             _num(r.focal_volume_mm3), _num(list(r.focal_centroid_mm), 3), _num(r.peak_to_target_mm, 3),
             _num(r.centroid_to_target_mm, 3)] for name, r in a.regions.items()]
    if a.target is not None:
        rows.append([f"target (label {a.target.label})", _num(a.target.pressure_pa / 1e3), _num(a.target.isppa_w_cm2),
                     _num(a.target.ispta_w_cm2), _num(a.target.mi, 3), "", "", "0", ""])
    if a.free_field is not None:
        ff = a.free_field
        rows.append([f"free field ({escape(ff.source)})", _num(ff.peak_pressure_pa / 1e3), _num(ff.isppa_w_cm2),
                     _num(ff.ispta_w_cm2), _num(ff.mi, 3), "", "", "", ""])
    return (_table(["region (in situ)", "peak p (kPa)", "Isppa (W/cm²)", "Ispta (W/cm²)", "MI", "-6 dB volume (mm³)",
                    "-6 dB centroid (mm)", "peak→target (mm)", "centroid→target (mm)"], rows)
            + f"<p class='note'>MItc (largest in-situ MI in skin, skull, brain): {_num(a.mi_transcranial, 3)} in "
              f"{escape(str(a.mi_transcranial_region))}. Ispta = Isppa × duty cycle ({100 * a.duty_cycle:.3g} %). The "
              "steady-state amplitude is used as the peak negative pressure (linear acoustics).</p>")


def _thermal(report) -> str:
    th = report.thermal
    if th is None:
        return "<p>No tissue in the field: no thermal run.</p>"
    rows = [[escape(name), _num(r.max_temperature_c), _num(r.max_rise_c), _num(r.cem43_min), str(r.voxels)]
            for name, r in th.regions.items()]
    box = [b - a for a, b in report.thermal_box]
    return (_table(["region", "max temperature (°C)", "max rise (°C)", "max CEM43 (min)", "voxels"], rows)
            + f"<p class='note'>Pennes bioheat over the protocol ({len(th.times_s) - 1} steps), hottest at "
              f"t = {th.hottest_time_s:g} s; thermal box {box} voxels; pulse ripple bound "
              f"{th.pulse_ripple_bound_c:.3g} °C (not in the rise).</p>")


def _img(png: bytes, alt: str) -> str:
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"


def _viewer(volumes: dict | None) -> str:
    if volumes is None:
        return "<p>Viewer left out (viewer=False).</p>"
    from tfus.workflows.report.viewer import NIIVUE_VERSION, niivue_script

    data = json.dumps(volumes).replace("</", "<\\/")
    return (f"<p><button id='show-pressure'>pressure</button><button id='show-temperature'>temperature rise</button>"
            f"<span class='note'>NiiVue {NIIVUE_VERSION} (BSD-2-Clause), inline; volumes subsampled x"
            f"{volumes['stride']}.</span></p><div id='viewer-box'><canvas id='gl'></canvas></div>"
            f"<div id='viewer-status'>loading…</div>"
            f"<script type='application/json' id='viewer-volumes'>{data}</script>"
            f"<script>{niivue_script()}</script><script>{_VIEWER_JS}</script>")


def render_plan(ctx: dict) -> str:
    """The page for a context built by :func:`tfus.workflows.report.plan.write_plan_report`."""
    report = ctx["report"]
    ok = report.limits.ok
    figures = ctx["figures"]
    timings = _table(["stage", "seconds"], [[escape(k), f"{v:.3f}"] for k, v in ctx["timings"].items()])
    versions = _table(["package", "version"], [[escape(k), escape(v)] for k, v in ctx["versions"].items()])
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>tfus plan: {escape(ctx['title'])}</title><style>{_CSS}</style>",
        f"<script>{_ERRORS_JS}</script></head>",
        f"<body data-verdict='{'ok' if ok else 'exceeded'}' "
        f"data-viewer='{'pending' if ctx['volumes'] is not None else 'none'}'>",
        f"<h1>tfus sonication plan: {escape(ctx['title'])}</h1>",
        f"<p class='note'>Generated {escape(ctx['generated'])} by tfus {escape(ctx['versions'].get('tfus', '?'))}. "
        "A planning estimate from a simulated or predicted field, not a measurement.</p>",
        f"<div class='verdict {'ok' if ok else 'exceeded'}' id='verdict'>{escape(report.headline())}</div>",
        "<section hidden><h2>Script errors</h2><ul id='js-errors'></ul></section>",
        f"<section id='safety'><h2>Safety flags</h2>{_flags(report)}</section>",
        f"<section id='inputs'><h2>Pose, transducer, protocol and inputs</h2>{_inputs(ctx)}</section>",
        f"<section id='acoustic'><h2>Acoustic quantities at the protocol's drive</h2>{_acoustics(report)}</section>",
        f"<section id='thermal'><h2>Temperature and thermal dose</h2>{_thermal(report)}</section>",
        "<section id='slices'><h2>Head and field</h2>",
        _img(figures["focus"], "slices through the focus"), _img(figures["target"], "slices through the target"),
        "</section>",
        "<section id='temperature'><h2>Temperature-rise map</h2>"
        + (_img(figures["temperature"], "temperature rise") if "temperature" in figures else "<p>No heating.</p>")
        + "</section>",
        f"<section id='viewer'><h2>Interactive slices</h2>{_viewer(ctx['volumes'])}</section>",
        f"<section id='timings'><h2>Timings</h2>{timings}</section>",
        f"<section id='versions'><h2>Versions</h2>{versions}</section>",
        "</body></html>",
    ]
    return "\n".join(parts)
