"""Run a dataset generation: cluster up, store created or resumed, heads prepared once, one task per pending sample.

Fault model: a sample's status turns ``complete`` only after its arrays are written (the client writes status, workers
write fields), so a killed worker or client leaves the sample pending and a rerun redoes it. Dask reschedules tasks
of lost workers; task errors are retried ``retries`` times, then the sample is marked ``failed`` (a rerun retries it).
The store lock keeps a second ``generate`` off a store in use.

Example:
    >>> from tfus.workflows.generate.run import worker_threads
    >>> worker_threads(cores=2, workers=2)
    1
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.workflows.generate.config import GenerateConfig


@dataclass
class GenerateSummary:
    """What a run did (JSON-ready)."""

    store: str
    n_samples: int
    already_complete: int = 0
    computed: int = 0
    failed: int = 0
    heads_prepared: int = 0
    wall_seconds: float = 0.0
    simulate_wall_seconds: float = 0.0
    sim_seconds_total: float = 0.0
    store_seconds_total: float = 0.0  # in tasks, outside the engine: head read, field checks and metrics, write
    overhead_fraction: float | None = None
    samples_per_hour: float | None = None
    workers: int = 0
    task_slots: int = 0  # simulations that ran at once (the busy-time factor of overhead_fraction)
    threads_per_task: int = 0  # TFUS_THREADS of each simulation (cores // concurrent simulations)
    worker_choice: str = ""  # how the number of local workers was chosen (given, or from the grid and memory)
    dashboard: str | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


#: peak bytes per grid point of one CPU k-Wave simulation: ~14 float32 fields and work arrays, 8 half-spectrum
#: complex64 arrays, and k-wave-python's full-spectrum operators during setup (freed before the first step)
BYTES_PER_POINT = 160


def simulation_points(cfg: GenerateConfig, transducer) -> int:
    """Grid points of one simulation (PML and FFT padding included): the beam box or the head grid."""
    from tfus.pipeline.engines.kwave.problem import fft_friendly
    from tfus.workflows.generate.plan import store_spec_for

    shape = store_spec_for(cfg, transducer).field_shape
    pml = int(cfg.simulation.kwave.get("pml_size", 20))
    return int(np.prod([fft_friendly(n + 2 * pml) for n in shape]))


def local_workers(cfg: GenerateConfig, transducer, cores: int, memory_bytes: int) -> tuple[int, str]:
    """Local CPU workers when none were given: one simulation per core (one thread each: small grids such as beam
    boxes scale better across simulations than across threads), fewer when that many would not fit in 70 % of the
    free memory; then each simulation gets ``cores // workers`` threads.

    Example:
        >>> from tfus.workflows.generate import load_config
        >>> from tfus.pipeline.transducers import load_transducer
        >>> cfg = load_config("beam-tiny")
        >>> local_workers(cfg, load_transducer(cfg.transducer), 2, 8 * 2**30)[0]
        2
    """
    per_sim = BYTES_PER_POINT * simulation_points(cfg, transducer)
    fit = max(1, int(0.7 * memory_bytes // per_sim))
    n = max(1, min(cores, fit))
    why = (f"{n} worker(s) x {max(1, cores // n)} thread(s): {per_sim / 2**30:.2f} GiB per simulation, "
           f"{memory_bytes / 2**30:.1f} GiB free, {cores} cores")
    return n, why


def _free_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def worker_threads(cores: int, workers: int) -> int:
    """Threads each simulation may use when ``workers`` simulations share ``cores`` cores."""
    return max(1, int(cores) // max(1, int(workers)))


def generate(cfg: GenerateConfig, store: str | Path, *, overwrite: bool = False,
             say: Callable[[str], None] = print, progress_factory=None) -> GenerateSummary:
    """Generate (or resume) the dataset ``cfg`` into ``store``. Checks everything it can before touching the store.

    Args:
        cfg: validated config (cluster settings already merged with the command line).
        store: the store folder.
        overwrite: replace an existing store made from another definition.
        say: one-line messages (dashboard address, stages).
        progress_factory: ``progress_factory(total) -> callable(advance_by)`` context manager for the sample bar.
    """
    from tfus.pipeline.store import StoreLock, create_store, finalize_store
    from tfus.pipeline.store.create import check_target
    from tfus.pipeline.transducers import load_transducer
    from tfus.workflows.cluster import dashboard_link, start_cluster, wait_for_workers
    from tfus.workflows.generate.plan import check_existing, planned_heads, planned_splits, store_spec_for

    store = Path(store)
    cfg.check_inputs()
    transducer = load_transducer(cfg.transducer)
    spec = store_spec_for(cfg, transducer)
    exists = store.exists()
    if exists and not overwrite:
        check_existing(store, cfg, spec)
    else:  # a store to create or replace: refuse a bad path before any worker starts
        check_target(store, overwrite)
    t_start = time.perf_counter()
    summary = GenerateSummary(store=str(store), n_samples=cfg.n_samples)
    if cfg.cluster.kind == "local" and cfg.cluster.workers is None and cfg.simulation.device == "cpu":
        n, summary.worker_choice = local_workers(cfg, transducer, _cores(cfg, 1), _free_memory_bytes())
        cfg = cfg.model_copy(update={"cluster": cfg.cluster.with_cli(workers=n)})
        say(f"local workers: {summary.worker_choice}")
    elif cfg.cluster.kind == "local" and cfg.cluster.workers is not None:
        summary.worker_choice = f"{cfg.cluster.workers} worker(s), as given"
    with contextlib.ExitStack() as stack:
        if exists and not overwrite:  # resume: take the store before starting any worker
            stack.enter_context(StoreLock(store))
        client = stack.enter_context(start_cluster(cfg.cluster))
        summary.dashboard = dashboard_link(client)
        if summary.dashboard:
            say(f"Dask dashboard: {summary.dashboard}")
        if not exists or overwrite:
            heads = planned_heads(cfg)
            create_store(store, spec, head_names=[h.name for h in heads], n_samples=cfg.n_samples,
                         splits=planned_splits(cfg), creation_config={**cfg.public(), "versions": _versions()},
                         overwrite=overwrite)
            stack.enter_context(StoreLock(store))
        from tfus.pipeline.store import open_store

        group = open_store(store, mode="r+")
        if cfg.augment is not None and "augmented_heads" not in group.attrs:
            group.attrs["augmented_heads"] = [h.record() for h in planned_heads(cfg) if h.copy > 0]
        wait_for_workers(client, 1, cfg.cluster.worker_timeout)
        if not group.attrs.get("prepared", False):
            summary.heads_prepared = _prepare_heads(client, cfg, group, transducer, say)
        _simulate(client, cfg, store, group, transducer, summary, say, progress_factory)
    finalize_store(store)  # consolidated metadata, after the lock file is gone
    summary.wall_seconds = time.perf_counter() - t_start
    return summary


def _versions() -> dict:
    from tfus.pipeline.version import versions

    return versions()


def _prepare_heads(client, cfg: GenerateConfig, group, transducer, say) -> int:
    """Build every head on the store grid and sample its poses (Dask tasks), then write heads and pending poses."""
    from tfus.pipeline.store import SampleRecord, mark_samples, write_head
    from tfus.workflows.generate.plan import planned_heads
    from tfus.workflows.generate.tasks import HeadTask, augment_prepared, prepare_head

    opts = cfg.poses.model_dump(exclude={"per_head", "aim"})
    planned = planned_heads(cfg)
    tasks = [HeadTask(index=j, name=p.name, image=str(cfg.image_path(cfg.heads[p.source])),
                      modality=cfg.heads[p.source].modality, spacing_mm=cfg.grid.spacing_mm,
                      grid_shape=tuple(cfg.grid.shape), seed=cfg.seed, n_poses=cfg.poses.per_head,
                      transducer=transducer, aim=cfg.poses.aim, pose_options=opts, augmentation=p.augmentation,
                      augment_seed=p.seed)
             for j, p in enumerate(planned)]
    real = [t for t, p in zip(tasks, planned) if p.copy == 0]
    say(f"preparing {len(tasks)} heads (head model on a {list(cfg.grid.shape)} grid at {cfg.grid.spacing_mm:g} mm, "
        f"{cfg.poses.per_head} poses each{f'; {len(tasks) - len(real)} augmented copies' if cfg.augment else ''})")
    futures = client.map(prepare_head, real, key=[f"head-{t.index}-{t.name}" for t in real], retries=cfg.retries,
                         pure=False)
    # an augmented copy starts from its source head as prepared on the store grid (built once)
    futures += [client.submit(augment_prepared, futures[p.source], t, key=f"head-{t.index}-{t.name}",
                              retries=cfg.retries, pure=False)
                for t, p in zip(tasks, planned) if p.copy > 0]
    from distributed import as_completed

    per = cfg.poses.per_head
    for fut in as_completed(futures):
        try:
            head = fut.result()
        except TfusInputError:
            raise
        except Exception as err:  # a head that cannot be built stops the run: nothing to simulate on
            raise TfusInputError(f"preparing head {fut.key}: {type(err).__name__}: {err}") from None
        write_head(group, head.index, head.hu, head.labels, head.affine)
        records = [SampleRecord(index=head.index * per + k, head_index=head.index, apex=tuple(head.apexes[k]),
                                target=tuple(head.targets[k]), focus=(np.nan,) * 3, engine=cfg.simulation.engine,
                                peak_pressure_pa=np.nan, sim_seconds=np.nan, status="pending")
                   for k in range(per)]
        mark_samples(group, records)
        say(f"head {planned[head.index].name}: ready in {head.seconds:.0f} s")
    group.attrs["prepared"] = True
    return len(tasks)


def _simulate(client, cfg: GenerateConfig, store: Path, group, transducer, summary: GenerateSummary, say,
              progress_factory) -> None:
    from distributed import as_completed

    from tfus.pipeline.store import STATUS_CODES, SampleRecord, mark_samples
    from tfus.workflows.generate.tasks import SampleTask, simulate_sample

    status = np.asarray(group["status"][:])
    done = status == STATUS_CODES["complete"]
    summary.already_complete = int(done.sum())
    todo = np.flatnonzero(~done)
    apex, target = np.asarray(group["apex"][:]), np.asarray(group["target"][:])
    head_index = np.asarray(group["head_index"][:])
    n_workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    # simulations that can run at once: one per worker thread (one per GPU worker: each task holds its GPU)
    slots = n_workers if cfg.simulation.device == "gpu" else max(n_workers, sum(client.nthreads().values()))
    summary.workers = n_workers
    cores = _cores(cfg, n_workers)
    sim = cfg.simulation
    resources = {"GPU": 1} if sim.device == "gpu" else None
    say(f"{summary.already_complete} of {cfg.n_samples} samples complete; simulating {todo.size} on {n_workers} "
        f"worker(s)")
    if todo.size == 0:
        return
    summary.task_slots = min(slots, int(todo.size))
    threads = summary.threads_per_task = worker_threads(cores, summary.task_slots)
    tasks = [SampleTask(store=str(store.absolute()), index=int(j), head_index=int(head_index[j]),
                        apex=tuple(map(float, apex[j])), target=tuple(map(float, target[j])), transducer=transducer,
                        engine=sim.engine, device=sim.device, frequency_hz=sim.frequency_hz, mapping=sim.mapping,
                        coupling=sim.coupling, kwave=dict(sim.kwave), with_phase=sim.with_phase,
                        snapshots=sim.snapshots, threads=threads, frame=cfg.frame,
                        box=cfg.box.model_dump(mode="json"))
             for j in todo]
    t0 = time.perf_counter()
    futures = client.map(simulate_sample, tasks, key=[f"sample-{t.index}" for t in tasks], retries=cfg.retries,
                         pure=False, resources=resources)
    key_to_index = {f.key: t.index for f, t in zip(futures, tasks)}
    seen_warnings: set[str] = set()
    with _progress(progress_factory, todo.size) as advance:
        for fut in as_completed(futures):
            j = key_to_index[fut.key]
            try:
                r = fut.result()
            except Exception as err:  # after retries: record, go on, report at the end
                summary.failed += 1
                summary.errors.append(f"sample {j}: {type(err).__name__}: {_first_line(err)}")
                mark_samples(group, [SampleRecord(index=j, head_index=int(head_index[j]), apex=tuple(apex[j]),
                                                  target=tuple(target[j]), focus=(np.nan,) * 3, engine=sim.engine,
                                                  peak_pressure_pa=np.nan, sim_seconds=np.nan, status="failed")])
            else:
                mark_samples(group, [SampleRecord(index=r.index, head_index=r.head_index, apex=r.apex,
                                                  target=r.target, focus=r.focus, engine=r.engine,
                                                  peak_pressure_pa=r.peak_pressure_pa, sim_seconds=r.sim_seconds)])
                summary.computed += 1
                for message in r.warnings:
                    if message not in seen_warnings:
                        seen_warnings.add(message)
                        say(f"note (from the engine): {message}")
                summary.sim_seconds_total += r.sim_seconds
                summary.store_seconds_total += r.read_seconds + r.write_seconds
            fut.release()
            advance(1)
    summary.simulate_wall_seconds = time.perf_counter() - t0
    if summary.computed:
        # workflow overhead: task slots x wall time of this phase not spent inside the simulations (scheduling, head
        # read, field checks, store writes, worker start-up, idle slots at the tail), relative to simulation time
        busy = summary.simulate_wall_seconds * summary.task_slots
        summary.overhead_fraction = (busy - summary.sim_seconds_total) / summary.sim_seconds_total
        summary.samples_per_hour = 3600.0 * summary.computed / summary.simulate_wall_seconds


def _cores(cfg: GenerateConfig, n_workers: int) -> int:
    if cfg.cluster.kind == "local":
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            available = os.cpu_count() or 1
        return min(available, cfg.cluster.cores or available)
    per_job = cfg.cluster.cores or cfg.cluster.threads_per_worker
    return per_job * n_workers // max(1, cfg.cluster.processes or 1)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else ""


class _progress:
    def __init__(self, factory, total: int) -> None:
        self._cm = factory(total) if factory is not None else None

    def __enter__(self):
        if self._cm is None:
            return lambda n: None
        return self._cm.__enter__()

    def __exit__(self, *exc):
        if self._cm is not None:
            return self._cm.__exit__(*exc)
        return None
