"""Continuous-wave focused-bowl simulation with k-wave-python's pseudospectral solver.

The domain is the medium's grid; a PML is added outside it. The bowl is an off-grid band-limited source
(``kWaveArray``), driven by a sine with a raised-cosine ramp (the problem, shared with the C++ binary:
:func:`~tfus.pipeline.engines.kwave.problem.prepare`). The run lasts long enough for the field to be steady
(:class:`~tfus.pipeline.engines.kwave.config.KWaveConfig`), then amplitude and phase are accumulated by a single-bin
DFT over whole periods.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.engines.field import MediumGrid
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> bowl = BowlTransducer("small", 10.0, 10.0, 1.0e6, 1.0e5)
    >>> medium = MediumGrid.homogeneous((32, 20, 20), spacing_mm=0.5)
    >>> pose = Pose(apex=[-6.0, 0, 0], target=[4.0, 0, 0])
    >>> field = simulate_kwave(medium, bowl, pose, KWaveConfig(pml_size=10, domain_crossings=1.0))
    >>> field.amplitude.shape
    (32, 20, 20)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.engines.kwave.cpp import simulate_kwave_cpp
from tfus.pipeline.engines.kwave.problem import prepare
from tfus.pipeline.engines.kwave.stepper import build_simulation
from tfus.pipeline.engines.kwave.threads import cpu_threads
from tfus.pipeline.engines.steady_state import DFTAccumulator
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose


def _xp(device: str):
    if device == "gpu":
        try:
            import cupy
        except ImportError as err:
            raise TfusInputError("--device gpu needs CuPy: pip install 'tfus[gpu]' on a machine with CUDA") from err
        if cupy.cuda.runtime.getDeviceCount() == 0:  # pragma: no cover - GPU only
            raise TfusInputError("--device gpu: no CUDA device found; use --device cpu")
        return cupy  # pragma: no cover - GPU only
    return np


def simulate_kwave(medium: MediumGrid, transducer: BowlTransducer, pose: Pose, config: KWaveConfig = KWaveConfig(),
                   frequency_hz: float | None = None,
                   progress: Callable[[int, int], None] | None = None) -> SteadyStateField:
    """Steady-state CW field of ``transducer`` at ``pose`` in ``medium`` (amplitude in Pa, phase in rad). With
    ``config.binary`` set, the same problem runs through that k-Wave C++ binary (:mod:`.cpp`)."""
    if config.binary is not None:
        return simulate_kwave_cpp(medium, transducer, pose, config, frequency_hz, progress)
    t_start = time.perf_counter()
    run = prepare(medium, transducer, pose, config, frequency_hz)
    xp = _xp(config.device)
    sim = build_simulation(run.kgrid, run.medium, pml_size=(run.pml,) * medium.ndim,
                           pml_alpha=(config.pml_alpha,) * medium.ndim, device=config.device)
    sim.setup()
    sim.set_source(run.index, run.weights, run.signal, run.scale)
    interior = tuple(slice(run.pml, run.pml + n) for n in medium.shape)
    acc = DFTAccumulator(medium.shape, run.frequency_hz, run.dt, xp=xp)
    burst = config.burst_cycles > 0
    record_from = 0 if burst else run.n_steps - config.record_periods * run.ppp
    snap_steps = set()
    if config.snapshots > 0:
        first, span = (0, run.n_steps) if burst else (run.n_steps - run.ppp, run.ppp)
        snap_steps = {first + int(round(k * span / config.snapshots)) for k in range(config.snapshots)}
    p_max = xp.zeros(medium.shape, np.float32) if burst else None
    p_min = xp.zeros(medium.shape, np.float32) if burst else None
    snapshots = []
    t_setup = time.perf_counter()
    for n in range(run.n_steps):
        sim.step()
        if n >= record_from:
            acc.add(sim.p[interior], (n + 1) * run.dt)
        if burst:
            xp.maximum(p_max, sim.p[interior], out=p_max)
            xp.minimum(p_min, sim.p[interior], out=p_min)
        if n in snap_steps:
            snap = sim.p[interior]
            snapshots.append(np.asarray(snap.get() if hasattr(snap, "get") else snap, np.float32).copy())
        if progress is not None:
            progress(n + 1, run.n_steps)
    amplitude, phase = acc.result()
    t_end = time.perf_counter()
    if not np.all(np.isfinite(amplitude)):
        raise TfusInputError("the simulation diverged (non-finite pressure); lower the CFL number or check the "
                             "medium for extreme values")
    meta = {"engine": "kwave", "backend": f"k-wave-python native ({config.device})", "fft_backend": sim.fft_name,
            "threads": cpu_threads() if config.device == "cpu" else None, "dt_s": run.dt,
            "steps": run.n_steps, "grid_shape": list(run.grid_shape), "points_per_period": run.ppp,
            "points_per_wavelength": run.ppw,
            "source_points": int(run.index.size), "config": config.__dict__, "setup_s": t_setup - t_start,
            "run_s": t_end - t_setup, "ms_per_step": 1e3 * (t_end - t_setup) / run.n_steps}
    if snapshots:
        meta["snapshots"] = np.stack(snapshots)
        meta["snapshot_dt_s"] = run.dt * (run.n_steps if burst else run.ppp) / config.snapshots
        meta["snapshot_times_s"] = np.array([(n + 1) * run.dt for n in sorted(snap_steps)])  # time after step n
    if burst:
        meta["p_max"] = np.asarray(p_max.get() if hasattr(p_max, "get") else p_max)
        meta["p_min"] = np.asarray(p_min.get() if hasattr(p_min, "get") else p_min)
    return SteadyStateField(amplitude=amplitude, phase=phase, affine=np.asarray(medium.affine, float),
                            frequency_hz=run.frequency_hz, meta=meta)
