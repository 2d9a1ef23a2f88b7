"""Dataset-generation throughput: the same small dataset generated with 1 and with 2 local Dask workers.

The dataset is a config (default: the ``demo`` preset), optionally cut down to its first ``heads`` heads and
``per_head`` poses per head, generated into a fresh temporary store per worker count (deleted afterwards). Each run's
simulation phase gives the figures of :class:`~tfus.workflows.generate.run.GenerateSummary`:

* samples per hour = samples / wall time of the simulation phase (head preparation and cluster start excluded);
* workflow overhead = (task slots x wall time - sum of simulation seconds) / sum of simulation seconds, where a
  sample's simulation seconds are the engine call alone, so head reads, field checks, store writes, scheduling,
  worker start-up and slots idle at the tail all count as overhead. Of it, the tasks' own store work (head read,
  field checks and metrics, field write) is reported separately; the rest is scheduling, imports and idle slots.

Every simulation uses ``cores // concurrent simulations`` threads (``TFUS_THREADS``): on 2 cores, 1 worker runs each
simulation on 2 threads and 2 workers run two at once on 1 thread each, so both runs use the whole machine and the
headline ratio (``speedup``) is the gain of running simulations side by side over running one at a time,
multithreaded: what a user gets from a second worker. A third run (``same_threads``), 1 worker on the cores one of
those simulations gets (1 of 2), gives the workflow's own scaling at equal threads per simulation
(``speedup_same_threads``): how close two workers come to twice the work of one with the same resources each.

Example:
    >>> from tfus.workflows.bench.generate_speed import GenerateBenchConfig
    >>> GenerateBenchConfig().workers
    (1, 2)
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tfus.pipeline.errors import TfusInputError

SPEEDUP_TARGET = 1.8  #: 2-worker / 1-worker samples per hour
OVERHEAD_TARGET = 0.05  #: workflow overhead per sample, fraction of simulation time


@dataclass(frozen=True)
class GenerateBenchConfig:
    """What to generate: ``config`` (YAML or preset), restricted to its first ``heads`` heads and ``per_head`` poses
    per head when given (``None``: as the config says)."""

    config: str = "demo"
    heads: int | None = None
    per_head: int | None = None
    workers: tuple[int, ...] = (1, 2)
    same_threads: bool = True

    def __post_init__(self) -> None:
        for option, value in (("--heads", self.heads), ("--per-head", self.per_head)):
            if value is not None and value < 1:
                raise TfusInputError(f"{option} {value} must be at least 1")


def bench_dataset(bench: GenerateBenchConfig):
    """The :class:`~tfus.workflows.generate.GenerateConfig` the benchmark generates (inputs checked)."""
    from tfus.workflows.generate import load_config
    from tfus.workflows.generate.config import PoseConfig, SplitConfig

    cfg = load_config(bench.config)
    heads = bench.heads or len(cfg.heads)
    if heads > len(cfg.heads):
        raise TfusInputError(f"--heads {bench.heads}: the config lists only {len(cfg.heads)} heads")
    if cfg.simulation.device != "cpu":
        raise TfusInputError(f"the config simulates on {cfg.simulation.device!r}; this benchmark compares local CPU "
                             "workers, give a CPU config")
    poses = PoseConfig(**{**cfg.poses.model_dump(), "per_head": bench.per_head or cfg.poses.per_head})
    cfg = cfg.model_copy(update={"heads": cfg.heads[:heads], "poses": poses,
                                 "splits": SplitConfig(val=cfg.splits.val, test=cfg.splits.test)})
    cfg.check_inputs()
    return cfg


def run_generate_bench(bench: GenerateBenchConfig, say: Callable[[str], None] = print,
                       workdir: str | Path | None = None) -> dict:
    """Generate the bench dataset once per worker count into fresh stores; return the table rows and the ratio.

    Example:
        >>> res = run_generate_bench(GenerateBenchConfig(heads=1, per_head=2))  # doctest: +SKIP
        >>> res["speedup"], [row["samples_per_hour"] for row in res["rows"]]  # doctest: +SKIP
    """
    import os

    from tfus.workflows.cluster import ClusterConfig
    from tfus.workflows.generate.run import generate

    cfg = bench_dataset(bench)
    rows = []
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    # the same-threads baseline: 1 worker given the cores one simulation of the widest run gets
    runs = [(n, None) for n in bench.workers] + ([(1, max(1, cores // max(bench.workers)))] if bench.same_threads
                                                 else [])
    with tempfile.TemporaryDirectory(prefix="tfus-bench-generate-", dir=workdir) as tmp:
        for n, limit in runs:
            say(f"generating {cfg.n_samples} samples with {n} local worker(s)"
                + (f" on {limit} core(s)" if limit else ""))
            run_cfg = cfg.model_copy(update={"cluster": ClusterConfig(kind="local", workers=n, cores=limit)})
            s = generate(run_cfg, Path(tmp) / f"workers-{n}-cores-{limit or 'all'}.zarr", say=say)
            if s.failed or not s.computed:
                raise TfusInputError(f"{s.failed} of {cfg.n_samples} samples failed with {n} worker(s) "
                                     f"({s.errors[0] if s.errors else 'none computed'}); fix the config first")
            rows.append({
                "workers": s.workers, "threads_per_simulation": s.threads_per_task, "task_slots": s.task_slots,
                "samples": s.computed, "simulate_wall_seconds": s.simulate_wall_seconds,
                "samples_per_hour": s.samples_per_hour, "sim_seconds_total": s.sim_seconds_total,
                "sim_seconds_per_sample": s.sim_seconds_total / s.computed,
                "overhead_fraction": s.overhead_fraction,
                "overhead_seconds_per_sample": s.overhead_fraction * s.sim_seconds_total / s.computed,
                "store_seconds_per_sample": s.store_seconds_total / s.computed,
                "wall_seconds": s.wall_seconds,
            })
    first, last = rows[0], rows[len(bench.workers) - 1]
    single = rows[-1] if bench.same_threads else None
    return {"config": bench.config, "dataset": cfg.name, "heads": [h.name for h in cfg.heads],
            "per_head": cfg.poses.per_head, "samples": cfg.n_samples, "grid": list(cfg.grid.shape),
            "spacing_mm": cfg.grid.spacing_mm, "cores": cores, "rows": rows,
            "speedup": last["samples_per_hour"] / first["samples_per_hour"], "speedup_target": SPEEDUP_TARGET,
            "speedup_same_threads": (last["samples_per_hour"] / single["samples_per_hour"]) if single else None,
            "max_overhead_fraction": max(r["overhead_fraction"] for r in rows), "overhead_target": OVERHEAD_TARGET}


def render_generate(res: dict) -> list:
    """The results of :func:`run_generate_bench` as rich renderables: the per-worker-count table and the ratio line.

    Example:
        >>> for item in render_generate(res):  # doctest: +SKIP
        ...     Console().print(item)
    """
    from rich.table import Table

    table = Table("workers", "threads / sim", "samples", "simulation wall (s)", "samples / hour", "Σ simulation (s)",
                  "overhead (s/sample)", "of which store read+write (s/sample)", "overhead",
                  title=f"tfus generate: {res['dataset']} ({res['samples']} samples, {len(res['heads'])} heads, grid "
                        f"{res['grid']} at {res['spacing_mm']:g} mm), {res['cores']} cores, local workers")
    for r in res["rows"]:
        table.add_row(str(r["workers"]), str(r["threads_per_simulation"]), str(r["samples"]),
                      f"{r['simulate_wall_seconds']:.1f}", f"{r['samples_per_hour']:.0f}",
                      f"{r['sim_seconds_total']:.1f}", f"{r['overhead_seconds_per_sample']:.2f}",
                      f"{r['store_seconds_per_sample']:.2f}", f"{100 * r['overhead_fraction']:.1f} %")
    same = res.get("speedup_same_threads")
    return [table,
            f"samples/hour 2 workers / 1 worker: {res['speedup']:.2f}x (target >= {res['speedup_target']:g})"
            + (f"; at 1 thread per simulation in both runs: {same:.2f}x" if same else "")
            + "   workflow overhead: max "
            f"{100 * res['max_overhead_fraction']:.1f} % of simulation time (target < "
            f"{100 * res['overhead_target']:g} %)"]
