"""Local workers chosen from the simulation grid: one per core while they fit in memory, fewer for big grids."""

from __future__ import annotations

from tfus.pipeline.transducers import load_transducer
from tfus.workflows.generate import load_config
from tfus.workflows.generate.run import BYTES_PER_POINT, local_workers, simulation_points


def test_beam_boxes_get_one_simulation_per_core():
    cfg = load_config("beam-ctx250")
    bowl = load_transducer(cfg.transducer)
    points = simulation_points(cfg, bowl)
    assert points == 80 * 80 * 90  # the 57 x 57 x 68 box + 2 x 10 PML, FFT-padded
    n, why = local_workers(cfg, bowl, cores=2, memory_bytes=16 * 2**30)
    assert n == 2 and "2 worker(s) x 1 thread(s)" in why


def test_memory_limits_the_workers_and_threads_follow():
    cfg = load_config("tfuscapes-like")  # 256^3 head grids
    bowl = load_transducer(cfg.transducer)
    per_sim = BYTES_PER_POINT * simulation_points(cfg, bowl)
    n, why = local_workers(cfg, bowl, cores=8, memory_bytes=int(2.5 * per_sim))
    assert n == 1 and "1 worker(s) x 8 thread(s)" in why  # 0.7 x 2.5 simulations' memory: one fits
    n, _ = local_workers(cfg, bowl, cores=8, memory_bytes=int(4 * per_sim))
    assert n == 2
