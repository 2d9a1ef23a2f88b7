"""Tiny synthetic stores for the training tests, written with the store API directly (no simulation).

Heads: 16^3 voxels at 2 mm, HU = a few Gaussian "bone" blobs (analytic, so a mirrored head is computed exactly, not
flipped). Samples: a bowl (R 20 mm) aimed at a random point of the grid; pressure = a Gaussian focus (4 mm) at the
pose's geometric focus times a per-sample peak, plus a weak far field. ``mirror=True`` builds the same store mirrored
through the grid's x-centre plane (heads, poses and fields recomputed at mirrored positions).

``snapshots=T`` adds time-resolved samples (a tone-burst store, as ``tfus generate`` with
``simulation.kwave.snapshots`` and ``burst_cycles``): ``p(t, x) = A(x) e(tau) sin(2 pi f tau)`` with ``A`` the
amplitude map above and ``tau`` the geometric retarded time of the focused wavefront
(:mod:`tfus.surrogates.data.wave_inputs`), sampled at ``T`` times around the burst's passage through the focus,
jittered per sample like a real store's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfus.pipeline.store import SampleRecord, StoreSpec, create_store, mark_samples, write_head, write_sample_fields

GRID = (16, 16, 16)
SPACING = 2.0
SHIFT = np.array([3.0, -2.0, 1.0])  # world position of the grid centre (off the origin on purpose)
TRANSDUCER = {"name": "syn-bowl", "radius_of_curvature_mm": 20.0, "aperture_mm": 16.0, "frequency_hz": 5e5,
              "source_amplitude_pa": 6e4}
TINY_MODEL = {"preset": "tiny", "n_points": 64}


def grid_affine(shape=GRID, spacing: float = SPACING) -> np.ndarray:
    affine = np.diag([spacing] * 3 + [1.0])
    affine[:3, 3] = SHIFT - (np.asarray(shape) - 1) * spacing / 2
    return affine


def world_coords(shape=GRID, spacing: float = SPACING) -> np.ndarray:
    affine = grid_affine(shape, spacing)
    ijk = np.indices(shape).reshape(3, -1).T.astype(float)
    return (ijk @ affine[:3, :3].T + affine[:3, 3]).reshape(*shape, 3)


def _mirror(p: np.ndarray, on: bool) -> np.ndarray:
    p = np.array(p, float)
    if on:
        p[..., 0] = 2 * SHIFT[0] - p[..., 0]
    return p


def blob_hu(centres: np.ndarray, mirror: bool = False) -> np.ndarray:
    x = world_coords()
    hu = np.full(GRID, -50.0)
    for k, c in enumerate(_mirror(centres, mirror)):
        hu += (1800.0 - 400 * k) * np.exp(-((x - c) ** 2).sum(-1) / (2 * 4.0 ** 2))
    return hu.astype(np.float32)


def focus_field(focus: np.ndarray, peak: float) -> np.ndarray:
    x = world_coords()
    r2 = ((x - focus) ** 2).sum(-1)
    return (peak * (np.exp(-r2 / (2 * 4.0 ** 2)) + 0.05 * np.exp(-r2 / (2 * 12.0 ** 2)))).astype(np.float32)


BURST_CYCLES = 3


def burst_snapshots(amplitude: np.ndarray, apex: np.ndarray, focus: np.ndarray, n: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(T, X, Y, Z)`` tone-burst snapshots with the amplitude map ``amplitude`` and their times (s)."""
    from tfus.pipeline.transducers import BowlTransducer, Pose
    from tfus.surrogates.data.wave_inputs import C_WATER_M_S, WaveSource, focal_path_mm, source_envelope

    f, r = 5e5, TRANSDUCER["radius_of_curvature_mm"]
    bowl = BowlTransducer("syn", r, TRANSDUCER["aperture_mm"], f, 6e4)
    d, _ = focal_path_mm(world_coords(), bowl, Pose(apex, focus))
    centre = r * 1e-3 / C_WATER_M_S + BURST_CYCLES / (2 * f)  # burst centre at the focus
    times = centre + np.linspace(-0.6, 0.6, n) * BURST_CYCLES / f + rng.uniform(-0.05, 0.05) / f
    tau = times[:, None, None, None] - (d * 1e-3 / C_WATER_M_S)[None]
    env = source_envelope(tau, WaveSource(f, BURST_CYCLES))
    return (amplitude[None] * env * np.sin(2 * np.pi * f * tau)).astype(np.float32), times


def build_store(path: Path, n_heads: int = 3, per_head: int = 2, splits: dict | None = None, seed: int = 0,
                mirror: bool = False, pending: tuple[int, ...] = (), failed: tuple[int, ...] = (),
                record_peaks: bool = True, snapshots: int = 0) -> Path:
    """A store of ``n_heads * per_head`` samples (sample ``i`` on head ``i // per_head``); default splits: head 0
    and 1 train, 2 val, the rest test. Samples in ``pending`` stay unwritten, those in ``failed`` are marked so.
    ``snapshots``: tone-burst snapshots per sample (0: none)."""
    rng = np.random.default_rng(seed)
    splits = splits if splits is not None else {"train": [0, 1], "val": [2], "test": list(range(3, n_heads))}
    spec = StoreSpec(grid_shape=GRID, spacing_mm=SPACING, frequency_hz=5e5, transducer=TRANSDUCER, with_phase=False,
                     n_snapshots=snapshots)
    n = n_heads * per_head
    creation = {"synthetic": True}
    if snapshots:
        creation["simulation"] = {"kwave": {"snapshots": snapshots, "burst_cycles": BURST_CYCLES}}
    group = create_store(path, spec, head_names=[f"head{h}" for h in range(n_heads)], n_samples=n,
                         splits={k: v for k, v in splits.items() if v}, creation_config=creation)
    affine = grid_affine()
    r = TRANSDUCER["radius_of_curvature_mm"]
    for h in range(n_heads):
        centres = SHIFT + rng.uniform(-8, 8, (3, 3))
        write_head(group, h, blob_hu(centres, mirror), np.zeros(GRID, np.uint8), affine)
    records = []
    for i in range(n):
        focus = SHIFT + rng.uniform(-8, 8, 3)
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        apex = focus - r * axis
        peak = float(rng.uniform(2e5, 8e5))
        focus, apex = _mirror(focus, mirror), _mirror(apex, mirror)
        if i in pending:
            continue
        if i in failed:
            records.append(SampleRecord(i, i // per_head, apex, focus, focus, "kwave", np.nan, np.nan, "failed"))
            continue
        field = focus_field(focus, peak)
        if snapshots:
            snaps, times = burst_snapshots(field, apex, focus, snapshots, rng)
            write_sample_fields(path, i, field, snapshots=snaps, snapshot_times=times)
        else:
            write_sample_fields(path, i, field)
        records.append(SampleRecord(i, i // per_head, apex, focus, focus, "kwave",
                                    float(field.max()) if record_peaks else np.nan, 1.0))
    mark_samples(group, records)
    return Path(path)


def train_yaml(path: Path, **overrides) -> Path:
    """A training config for the tiny model on the synthetic store (fast: no workers, 2 epochs)."""
    import yaml

    cfg = {"epochs": 2, "batch_size": 2, "lr": 5e-3, "num_workers": 0, "model": dict(TINY_MODEL), **overrides}
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path
