"""Physics validation benchmarks: O'Neil in water, the ITRUSST BM1-BM6 geometries, and k-Wave vs FE on a 2D slice of
the real CT. Each returns a dict of measured numbers next to the reference (closed form, Rayleigh integral, or the
other engine), computed in the same run.

Example:
    >>> from tfus.workflows.bench.validation import plane_sample
    >>> callable(plane_sample)
    True
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tfus.pipeline.acoustics.itrusst import ITRUSST_FREQUENCY_HZ


def _simulate(bench, spacing_mm: float, device: str, progress=None):
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.kwave.engine import simulate_kwave

    return simulate_kwave(bench.medium, bench.transducer, bench.pose,
                          KWaveConfig(device=device, bli_tolerance=0.01), progress=progress)


def plane_sample(field: np.ndarray, affine: np.ndarray, points_mm: np.ndarray, order: int = 1) -> np.ndarray:
    """Interpolate a 2D/3D field at world points ``(..., ndim)``. A complex field is interpolated as real and imaginary
    parts (cubic with ``order=3``) and its magnitude returned: the complex pressure is smooth where the amplitude has
    kinks (nulls), so this is far more accurate than interpolating the amplitude of a field sampled at 3-6 points per
    wavelength."""
    from scipy.ndimage import map_coordinates

    inv = np.linalg.inv(np.asarray(affine, float))
    nd = field.ndim
    idx = (points_mm.reshape(-1, nd) @ inv[:nd, :nd].T + inv[:nd, nd]).T
    if np.iscomplexobj(field):
        re = map_coordinates(np.real(field).astype(np.float64), idx, order=order, mode="nearest")
        im = map_coordinates(np.imag(field).astype(np.float64), idx, order=order, mode="nearest")
        out = np.abs(re + 1j * im)
    else:
        out = map_coordinates(np.asarray(field, np.float64), idx, order=order, mode="nearest")
    return out.reshape(points_mm.shape[:-1])


def oneil_bench(spacing_mm: float = 1.0, device: str = "cpu", progress=None,
                frequency_hz: float = ITRUSST_FREQUENCY_HZ) -> dict:
    """itrusst-sc1 in lossless water vs O'Neil: on-axis peak and its position, focal pressure, -6 dB extents.

    ``frequency_hz``: drive frequency; the benchmark defines 500 kHz, a lower one allows a coarser, faster grid (the
    O'Neil reference is computed at the same frequency)."""
    from tfus.pipeline.validation.beam_metrics import beam_metrics
    from tfus.pipeline.validation.closed_forms import oneil_reference
    from tfus.pipeline.validation.itrusst import itrusst_medium

    bench = itrusst_medium(1, spacing_mm, frequency_hz)
    t0 = time.perf_counter()
    field = _simulate(bench, spacing_mm, device, progress)
    wall = time.perf_counter() - t0
    ref = oneil_reference(bench.transducer)
    m = beam_metrics(field.amplitude, field.affine, bench.pose.apex, bench.pose.axis, min_axial_mm=20.0)
    # on-axis profile at sub-voxel resolution (the axis lies on grid nodes: exact samples every spacing)
    axial = np.arange(20.0, 110.0, spacing_mm)
    line = plane_sample(field.amplitude, field.affine, np.stack([axial, 0 * axial, 0 * axial], -1))
    i = int(np.argmax(line))
    if 0 < i < line.size - 1:  # parabolic refinement of the on-axis peak
        a, b, c = line[i - 1], line[i], line[i + 1]
        shift = 0.5 * (a - c) / (a - 2 * b + c)
        peak_z, peak = axial[i] + shift * spacing_mm, b - 0.25 * (a - c) * shift
    else:
        peak_z, peak = axial[i], line[i]
    p_r = float(plane_sample(field.amplitude, field.affine, np.array([[64.0, 0.0, 0.0]]))[0])
    return {
        "spacing_mm": spacing_mm, "wall_s": wall, "steps": field.meta["steps"],
        "ms_per_step": field.meta["ms_per_step"],
        "peak_pa": float(peak), "peak_ref_pa": ref.peak_pa, "peak_error_percent": 100 * (peak / ref.peak_pa - 1),
        "peak_z_mm": float(peak_z), "peak_z_ref_mm": ref.peak_z_mm,
        "peak_position_error_mm": float(peak_z - ref.peak_z_mm),
        "p_at_R_pa": p_r, "p_at_R_ref_pa": ref.focal_pressure_pa,
        "axial_6db_mm": list(m.axial_6db_mm), "axial_6db_ref_mm": list(ref.axial_6db_mm),
        "lateral_6db_widths_mm": list(m.lateral_6db_widths_mm), "lateral_6db_ref_mm": ref.lateral_6db_width_mm,
    }


def itrusst_bench(bm: int, spacing_mm: float = 1.0, device: str = "cpu", out_dir: Path | None = None,
                  progress=None, frequency_hz: float = ITRUSST_FREQUENCY_HZ) -> dict:
    """One ITRUSST benchmark: the field on the 0.5 mm comparison plane and the benchmark's metrics; BM1 against
    O'Neil's axis and the lossless Rayleigh integral on the plane, BM2 against the absorbing Rayleigh integral.

    ``frequency_hz``: drive frequency; the benchmarks define 500 kHz, a lower one allows a coarser, faster grid (the
    Rayleigh reference is computed at the same frequency, absorption scales as f^2)."""
    from tfus.pipeline.validation.beam_metrics import beam_metrics, compare_beams
    from tfus.pipeline.validation.itrusst import itrusst_medium
    from tfus.pipeline.validation.rayleigh import rayleigh_bowl

    bench = itrusst_medium(bm, spacing_mm, frequency_hz)
    t0 = time.perf_counter()
    field = _simulate(bench, spacing_mm, device, progress)
    wall = time.perf_counter() - t0
    plane = bench.plane
    k = int(round(bench.medium.world_to_index(np.zeros(3))[2]))  # the plane z = 0 is a grid plane
    slice_affine = np.asarray(field.affine)[np.ix_([0, 1, 3], [0, 1, 3])]
    # Metrics on the comparison plane's points that are grid nodes (no interpolation error: at 3 points per
    # wavelength any interpolation between nodes costs several %); the written 0.5 mm plane is cubic-interpolated.
    step = max(1, int(round(spacing_mm / plane.spacing_mm)))
    node_plane = type(plane)(plane.axial_mm[::step], plane.lateral_mm[(len(plane.lateral_mm) // 2) % step::step],
                             spacing_mm * 1.0, plane.exit_plane_mm, plane.focal_min_axial_mm)
    pts3 = node_plane.points_mm(3)
    on_plane = plane_sample(field.amplitude[:, :, k], slice_affine, pts3[..., :2], order=0)
    affine2 = np.array([[node_plane.spacing_mm, 0, node_plane.axial_mm[0]],
                        [0, node_plane.spacing_mm, node_plane.lateral_mm[0]], [0, 0, 1.0]])
    apex2, axis2 = bench.pose.apex[:2], bench.pose.axis[:2]
    m = beam_metrics(on_plane, affine2, apex2, axis2, min_axial_mm=plane.focal_min_axial_mm)
    out = {"bm": bm, "description": bench.description, "spacing_mm": spacing_mm, "wall_s": wall,
           "steps": field.meta["steps"], "ms_per_step": field.meta["ms_per_step"],
           "focal_pressure_pa": m.focal_pressure_pa, "focus_axial_mm": m.focus_axial_mm,
           "focus_lateral_mm": m.focus_lateral_mm, "axial_6db_length_mm": m.axial_6db_length_mm,
           "lateral_6db_width_mm": m.lateral_6db_widths_mm[0], "axial_3db_length_mm": m.axial_3db_length_mm,
           "lateral_3db_width_mm": m.lateral_3db_widths_mm[0]}
    if bm in (1, 2):
        alpha = 0.0 if bm == 1 else 1.0
        ref = np.abs(rayleigh_bowl(bench.transducer, pts3, pose=bench.pose, alpha_db_cm=alpha))
        cmp = compare_beams(on_plane, ref, affine2, apex2, axis2, exit_plane_mm=plane.exit_plane_mm,
                            min_axial_mm=plane.focal_min_axial_mm if bm > 2 else 20.0)
        out.update({"reference": "Rayleigh integral" + (" (1 dB/cm)" if bm == 2 else ""),
                    "ref_focal_pressure_pa": cmp.reference.focal_pressure_pa,
                    "focal_pressure_diff_percent": cmp.focal_pressure_diff_percent,
                    "focal_position_diff_mm": cmp.focal_position_diff_mm, "linf_percent": cmp.linf_percent,
                    "l2_percent": cmp.l2_percent})
    if out_dir is not None:
        from tfus.pipeline.fields.output import write_field

        out_dir.mkdir(parents=True, exist_ok=True)
        fine = plane_sample(field.complex[:, :, k], slice_affine, plane.points_mm(2), order=3)
        fine_affine = np.array([[plane.spacing_mm, 0, plane.axial_mm[0]], [0, plane.spacing_mm, plane.lateral_mm[0]],
                                [0, 0, 1.0]])
        write_field(out_dir / f"bm{bm}_plane.nii.gz", fine.astype(np.float32), fine_affine)
    return out


def cross_engine_bench(spacing_mm: float = 0.5, frequency_hz: float = 5e5, progress=None,
                       mapping: str = "kwave") -> dict:
    """k-Wave vs FE (time domain) on a 2D axial slice of the real head CT, itrusst-sc1 arc aimed from the right
    temple at the brain: relative L2 beyond the source and the two focal positions.

    ``mapping``: ``kwave`` maps the CT's HU (linearly interpolated onto the grid) continuously to sound speed, density
    and absorption; ``itrusst`` assigns one set of properties per tissue label (piecewise constant, sharp interfaces
    whose sub-cell position the two discretisations place differently: an O(h) disagreement)."""
    from dataclasses import replace

    from tfus.pipeline.engines.fem import FemConfig, simulate_fem_time
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.kwave.engine import simulate_kwave
    from tfus.pipeline.engines.sources import BowlSource
    from tfus.pipeline.transducers import load_transducer

    medium, source_pose, description, labels = ct_slice_medium(spacing_mm, mapping)
    bowl = replace(load_transducer("itrusst-sc1"), frequency_hz=frequency_hz)
    t0 = time.perf_counter()
    # a closed 2D skull reverberates: run both engines for 3 domain transits (1.5 is not steady there)
    kw = simulate_kwave(medium, bowl, source_pose, KWaveConfig(pml_size=20, bli_tolerance=0.01, domain_crossings=3.0))
    t1 = time.perf_counter()
    fe = simulate_fem_time(medium, BowlSource(bowl, source_pose), FemConfig(frequency_hz=frequency_hz,
                                                                             settle_transits=3.0))
    t2 = time.perf_counter()
    apex, axis = source_pose.apex[:2], source_pose.axis[:2]
    from tfus.pipeline.validation.beam_metrics import axial_coordinate

    beyond = axial_coordinate(medium.shape, medium.affine, apex, axis) >= 20.0  # beyond the bowl and its near field
    a, b = kw.amplitude[beyond], fe.amplitude[beyond]
    rel_l2 = float(np.linalg.norm(a - b) / np.linalg.norm(b))
    ka = np.unravel_index(np.argmax(np.where(beyond, kw.amplitude, 0)), medium.shape)
    kb = np.unravel_index(np.argmax(np.where(beyond, fe.amplitude, 0)), medium.shape)
    fa, fb = medium.index_to_world(np.array(ka)), medium.index_to_world(np.array(kb))
    from tfus.pipeline.head.labels import Label

    brain = labels == Label.BRAIN  # the intracranial region
    ba, bb = kw.amplitude[brain], fe.amplitude[brain]
    ia = np.unravel_index(np.argmax(np.where(brain, kw.amplitude, 0)), medium.shape)
    ib = np.unravel_index(np.argmax(np.where(brain, fe.amplitude, 0)), medium.shape)
    return {"brain_relative_l2": float(np.linalg.norm(ba - bb) / np.linalg.norm(bb)),
            "brain_kwave_focus_mm": medium.index_to_world(np.array(ia)).tolist(),
            "brain_fem_focus_mm": medium.index_to_world(np.array(ib)).tolist(),
            "brain_focus_distance_mm": float(np.linalg.norm(np.subtract(ia, ib)) * spacing_mm),
            "brain_kwave_peak_pa": float(kw.amplitude[ia]), "brain_fem_peak_pa": float(fe.amplitude[ib]),
            "description": description, "mapping": mapping, "spacing_mm": spacing_mm, "frequency_hz": frequency_hz,
            "grid": list(medium.shape), "kwave_s": t1 - t0, "fem_s": t2 - t1, "relative_l2": rel_l2,
            "kwave_peak_pa": float(kw.amplitude[ka]), "fem_peak_pa": float(fe.amplitude[kb]),
            "kwave_focus_mm": fa.tolist(), "fem_focus_mm": fb.tolist(),
            "focus_distance_mm": float(np.linalg.norm(fa - fb)), "grid_cell_mm": spacing_mm}


def ct_slice_medium(spacing_mm: float, mapping: str = "kwave"):
    """A 2D medium from an axial slice of the real head CT (built by data/setup.sh; the phantom if absent), its
    labels, and a pose in its plane: apex outside the right scalp (the whole arc 2 mm clear of the skin), aimed at
    the brain centroid of the slice. HU are interpolated linearly onto the grid, labels by nearest neighbour."""
    from tfus.pipeline.acoustics import map_properties
    from tfus.pipeline.engines.field import MediumGrid
    from tfus.pipeline.head.build import HeadBuildConfig, build_head
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.head.phantom import ellipsoid_head
    from tfus.pipeline.resources import built_data_dir
    from tfus.pipeline.transducers import Pose

    ct = built_data_dir() / "cranium_ct.nii.gz"
    if ct.is_file():
        head, description = build_head(ct, HeadBuildConfig(spacing_mm=1.0)), "axial slice of the Cranium CT"
    else:
        head, description = ellipsoid_head(1.0), "axial slice of the phantom (real CT not built)"
    brain = np.argwhere(head.labels == Label.BRAIN)
    k = int(round(brain[:, 2].mean() + 25 / head.spacing_mm))  # 25 mm above the brain centroid: vault, no face
    # the slice as a 2D grid at the requested spacing, world x-y of the slice, cropped to the head
    lab2 = head.labels[:, :, k]
    hu2 = head.hu[:, :, k]
    a3 = np.asarray(head.affine)
    a2 = np.array([[a3[0, 0], a3[0, 1], a3[0, 3]], [a3[1, 0], a3[1, 1], a3[1, 3]], [0, 0, 1.0]])
    nz = np.argwhere(lab2 > 0)
    lo, hi = nz.min(0) - 25, nz.max(0) + 25  # room for the bowl outside the scalp
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, np.array(lab2.shape) - 1)
    scale = head.spacing_mm / spacing_mm
    shape = tuple(int(round((h - low) * scale)) + 1 for low, h in zip(lo, hi))
    origin = a2[:2, :2] @ lo + a2[:2, 2]
    t_aff = np.array([[spacing_mm, 0, origin[0]], [0, spacing_mm, origin[1]], [0, 0, 1.0]])
    from scipy.ndimage import map_coordinates

    src = np.linalg.inv(a2) @ t_aff  # target index -> source index
    ij = np.indices(shape).reshape(2, -1)
    coords = src[:2, :2] @ ij + src[:2, 2:3]
    labels = map_coordinates(lab2, coords, order=0, mode="nearest").reshape(shape).astype(np.uint8)
    hu = map_coordinates(hu2.astype(np.float32), coords, order=1, mode="nearest").reshape(shape)
    props = map_properties(hu, labels, mapping)
    medium = MediumGrid(*(np.asarray(v, np.float32) for v in (props.sound_speed, props.density, props.alpha_coeff)),
                        float(props.alpha_power), t_aff)
    centre = medium.index_to_world(np.argwhere(labels == Label.BRAIN).mean(0))
    row = np.argwhere(labels[:, int(round(medium.world_to_index(centre)[1]))] > 0)[:, 0].max()
    scalp_x = float(medium.index_to_world(np.array([row, 0]))[0])
    from tfus.pipeline.engines.kwave.problem import arc_points
    from tfus.pipeline.transducers import load_transducer

    bowl = load_transducer("itrusst-sc1")
    target = np.array([centre[0], centre[1], 0.0])
    for standoff in np.arange(5.0, 40.0, spacing_mm):  # the whole arc in the coupling water, 2 mm clear of the skin
        pose = Pose(np.array([scalp_x + standoff, centre[1], 0.0]), target)
        idx = np.rint(medium.world_to_index(arc_points(bowl, pose, spacing_mm))).astype(int)
        near = [np.clip(idx + d, 0, np.array(shape) - 1) for d in np.ndindex(9, 9)]
        if all(np.all(labels[tuple((n - 4).clip(0).T)] == 0) for n in near):
            return medium, pose, description, labels
    raise RuntimeError("no standoff puts the arc clear of the head")


def render_oneil(r: dict, spacing_mm: float) -> list:
    """The results of :func:`oneil_bench` as rich renderables: k-Wave vs O'Neil table and a timing line.

    Example:
        >>> for item in render_oneil(oneil_bench(1.0), 1.0):  # doctest: +SKIP
        ...     Console().print(item)
    """
    from rich.table import Table

    t = Table("quantity", "k-Wave", "O'Neil", "difference", title=f"itrusst-sc1 in water, {spacing_mm} mm grid")
    t.add_row("on-axis peak (kPa)", f"{r['peak_pa'] / 1e3:.1f}", f"{r['peak_ref_pa'] / 1e3:.1f}",
              f"{r['peak_error_percent']:+.2f} % (target |.| <= 1.5 %)")
    t.add_row("peak position (mm from apex)", f"{r['peak_z_mm']:.2f}", f"{r['peak_z_ref_mm']:.2f}",
              f"{r['peak_position_error_mm']:+.2f} mm (target |.| <= 0.5)")
    t.add_row("p(R) (kPa)", f"{r['p_at_R_pa'] / 1e3:.1f}", f"{r['p_at_R_ref_pa'] / 1e3:.1f}", "")
    t.add_row("axial -6 dB (mm)", "{:.1f}-{:.1f}".format(*r["axial_6db_mm"]),
              "{:.1f}-{:.1f}".format(*r["axial_6db_ref_mm"]), "")
    t.add_row("lateral -6 dB width (mm)", "{:.2f} / {:.2f}".format(*r["lateral_6db_widths_mm"]),
              f"{r['lateral_6db_ref_mm']:.2f}", "")
    return [t, f"{r['steps']} steps, {r['ms_per_step']:.0f} ms/step, {r['wall_s']:.0f} s"]


_ITRUSST_KEYS = ("focal_pressure_pa", "focus_axial_mm", "focus_lateral_mm", "axial_6db_length_mm",
                 "lateral_6db_width_mm", "axial_3db_length_mm", "lateral_3db_width_mm", "reference",
                 "ref_focal_pressure_pa", "focal_pressure_diff_percent", "focal_position_diff_mm", "linf_percent",
                 "l2_percent")


def render_itrusst(r: dict, bm: int, spacing_mm: float) -> list:
    """The results of :func:`itrusst_bench` as a rich table of its focal metrics.

    Example:
        >>> for item in render_itrusst(itrusst_bench(1), 1, 1.0):  # doctest: +SKIP
        ...     Console().print(item)
    """
    from rich.table import Table

    t = Table("metric", "value", title=f"ITRUSST BM{bm}: {r['description']} ({spacing_mm} mm grid)")
    for key in _ITRUSST_KEYS:
        if key in r:
            v = r[key]
            t.add_row(key, f"{v:.4g}" if isinstance(v, float) else str(v))
    return [t]


def render_cross_engine(r: dict, spacing_mm: float) -> list:
    """The results of :func:`cross_engine_bench` as one summary line.

    Example:
        >>> for item in render_cross_engine(cross_engine_bench(0.5), 0.5):  # doctest: +SKIP
        ...     Console().print(item)
    """
    return [f"{r['description']} ({r['mapping']} mapping), grid {r['grid']} at {spacing_mm} mm: relative L2 "
            f"{100 * r['relative_l2']:.1f} % beyond 20 mm, {100 * r['brain_relative_l2']:.1f} % intracranial "
            f"(target <= 10 %), focus distance {r['focus_distance_mm']:.2f} mm (one cell = {spacing_mm} mm); "
            f"k-Wave {r['kwave_s']:.0f} s, FE {r['fem_s']:.0f} s"]
