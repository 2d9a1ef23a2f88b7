"""What Dask workers run during dataset generation: head preparation and one simulation per sample.

Both are plain functions of picklable inputs (no Dask inside), so they also run in-process for debugging. A sample task
reads its head from the store, simulates, checks the field and writes only that sample's chunks; it returns a small
record for the client, which alone marks samples complete.

Example:
    >>> from tfus.workflows.generate.tasks import SampleTask
    >>> SampleTask.__dataclass_fields__["index"].type
    'int'
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from tfus.pipeline.errors import TfusInputError


@dataclass(frozen=True)
class HeadTask:
    """Build one head model on the store grid and sample its poses."""

    index: int
    name: str
    image: str
    modality: str
    spacing_mm: float
    grid_shape: tuple[int, int, int]
    seed: int
    n_poses: int
    transducer: object  # BowlTransducer
    aim: str = "brain-centre"
    pose_options: dict = field(default_factory=dict)
    augmentation: object | None = None  # SkullAugmentation of an augmented copy (see augment_prepared)
    augment_seed: int = 0


@dataclass(frozen=True)
class PreparedHead:
    index: int
    hu: np.ndarray
    labels: np.ndarray
    affine: np.ndarray
    apexes: np.ndarray  # (n_poses, 3) world mm
    targets: np.ndarray  # (n_poses, 3)
    seconds: float


def prepare_head(task: HeadTask) -> PreparedHead:
    """Head model from the image at the dataset spacing, centred on the store grid, and ``n_poses`` poses."""
    from tfus.pipeline.head.build import HeadBuildConfig, build_head
    from tfus.pipeline.head.grid import fit_to_grid

    t0 = time.perf_counter()
    head = build_head(task.image, HeadBuildConfig(modality=task.modality, spacing_mm=task.spacing_mm,
                                                  seed=task.seed))
    head = fit_to_grid(head, task.grid_shape, name=task.name)
    return _with_poses(head, task, t0)


def augment_prepared(source: PreparedHead, task: HeadTask) -> PreparedHead:
    """Augmented copy ``task.augmentation`` (seed ``task.augment_seed``) of the prepared head ``source``, on the
    same grid, with its own poses sampled as for a real head."""
    from tfus.pipeline.head.augment import augment_head
    from tfus.pipeline.head.model import HeadModel

    t0 = time.perf_counter()
    head = HeadModel(hu=source.hu, labels=source.labels, affine=source.affine)
    return _with_poses(augment_head(head, task.augmentation, seed=task.augment_seed), task, t0)


def _with_poses(head, task: HeadTask, t0: float) -> PreparedHead:
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.transducers import sample_poses

    target = None
    if task.aim == "brain-centre":
        brain = np.argwhere(head.labels == Label.BRAIN)
        if brain.size == 0:
            raise TfusInputError(f"head {task.name}: no brain voxels to aim at; use poses.aim: normal")
        target = head.voxel_to_world(brain.mean(0))
    poses = sample_poses(head, task.transducer, task.n_poses, target=target, seed=task.seed + task.index,
                         **task.pose_options)
    return PreparedHead(index=task.index, hu=head.hu, labels=head.labels, affine=np.asarray(head.affine, float),
                        apexes=np.array([p.apex for p in poses], float),
                        targets=np.array([p.target for p in poses], float), seconds=time.perf_counter() - t0)


@dataclass(frozen=True)
class SampleTask:
    """One simulation: sample ``index`` of the store at ``store``, head ``head_index``, bowl at ``apex`` aimed at
    ``target`` (world mm)."""

    store: str
    index: int
    head_index: int
    apex: tuple[float, float, float]
    target: tuple[float, float, float]
    transducer: object  # BowlTransducer (loaded by the client: workers need no preset files)
    engine: str = "kwave"
    device: str = "cpu"
    frequency_hz: float | None = None
    mapping: str = "itrusst"
    coupling: str = "water"
    kwave: dict = field(default_factory=dict)
    with_phase: bool = True
    snapshots: int = 0
    threads: int = 1
    frame: str = "grid"  # "beam": simulated and stored in the sample's beam box
    box: dict = field(default_factory=dict)  # BeamBox extents (frame "beam")


@dataclass(frozen=True)
class SampleResult:
    index: int
    head_index: int
    apex: tuple[float, float, float]
    target: tuple[float, float, float]
    focus: tuple[float, float, float]
    engine: str
    peak_pressure_pa: float
    sim_seconds: float
    read_seconds: float
    write_seconds: float
    pid: int
    host: str
    warnings: tuple[str, ...] = ()


def keep_freed_memory() -> None:
    """Let glibc keep freed blocks up to 32 MiB for reuse in this process, as it does by default.

    Dask starts worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``, which also pins glibc's mmap threshold at
    128 KiB: every temporary array of a time step is then a fresh ``mmap`` whose pages fault in again (5 million
    page faults and 14 s of system time in one 3 mm demo-sized simulation, +40 % CPU time). A no-op without glibc.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 2**20)  # glibc's ceiling for the (otherwise dynamic) mmap threshold
    libc.mallopt(m_trim_threshold, 64 * 2**20)


def simulate_sample(task: SampleTask) -> SampleResult:
    """Read the head, simulate, check and write the sample's fields (never its status)."""
    import socket

    from tfus.pipeline.beam import BeamBox
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.run import SimulationRequest, run_simulation
    from tfus.pipeline.fields.metrics import field_metrics
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.store import open_store, write_sample_fields
    from tfus.pipeline.transducers import Pose

    os.environ["TFUS_THREADS"] = str(max(1, int(task.threads)))
    keep_freed_memory()
    t0 = time.perf_counter()
    group = open_store(task.store)
    h = int(task.head_index)
    head = HeadModel(hu=np.asarray(group["hu"][h]), labels=np.asarray(group["labels"][h]),
                     affine=np.asarray(group["head_affine"][h], float), meta={"store_head": h})
    pose = Pose(np.asarray(task.apex, float), np.asarray(task.target, float))
    kwave = KWaveConfig(**task.kwave) if task.engine == "kwave" else None
    beam = {"frame": "beam", "box": BeamBox(**task.box)} if task.frame == "beam" else {}
    request = SimulationRequest(transducer=task.transducer, pose=pose, head=head, engine=task.engine,
                                device=task.device, frequency_hz=task.frequency_hz, mapping=task.mapping,
                                coupling=task.coupling, kwave=kwave, **beam)
    t1 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:  # reported once by the client, not per worker
        warnings.simplefilter("always")
        result = run_simulation(request)
    t2 = time.perf_counter()
    amp = np.asarray(result.field.amplitude, np.float32)
    grid = result.head.shape  # the head grid, or the sample's beam box
    if amp.shape != grid:
        raise RuntimeError(f"sample {task.index}: field shape {amp.shape} differs from its grid {grid}")
    if not np.isfinite(amp).all() or not amp.max() > 0:
        raise RuntimeError(f"sample {task.index}: the simulated field is not finite and positive; not written")
    metrics = field_metrics(result.field, result.medium, transducer=result.transducer, pose=pose,
                            labels=result.head.labels)
    snapshots = result.field.meta.get("snapshots") if task.snapshots else None
    times = result.field.meta.get("snapshot_times_s") if task.snapshots else None
    write_sample_fields(task.store, task.index, amp,
                        phase=np.asarray(result.field.phase, np.float32) if task.with_phase else None,
                        snapshots=snapshots, snapshot_times=times,
                        box=(result.head.hu, result.head.labels, result.frame.affine) if result.frame else None)
    t3 = time.perf_counter()
    return SampleResult(index=task.index, head_index=h, apex=tuple(map(float, task.apex)),
                        target=tuple(map(float, task.target)), focus=tuple(float(v) for v in metrics["focus_mm"]),
                        engine=task.engine, peak_pressure_pa=float(metrics["peak_pressure_pa"]),
                        sim_seconds=t2 - t1, read_seconds=t1 - t0, write_seconds=t3 - t2, pid=os.getpid(),
                        host=socket.gethostname(), warnings=tuple(sorted({str(w.message) for w in caught})))
