"""The same k-Wave problem through a user-supplied k-Wave C++ binary (``kspaceFirstOrder-OMP`` or ``-CUDA``).

The run is prepared exactly as for the native solver (:func:`~tfus.pipeline.engines.kwave.problem.prepare`: grid with
its time axis, medium, band-limited bowl source, CW signal with its ramp, PML inside the expanded grid). k-wave-python's
own legacy writer (``kspaceFirstOrder3D``/``2D`` with ``SimulationOptions(save_to_disk=True, save_to_disk_exit=True)``)
writes the HDF5 input file:

- the bowl as an additive pressure source: ``p_mask`` plus one float32 time series per source point,
  ``weights x scale x signal`` with the native step's per-point ``2 dt / (N c0 dx)`` scaling (the binary applies
  k-Wave's k-space source correction each step, the native step once to the distribution: the same linear filter);
- a sensor covering the domain (PML excluded) that records raw pressure from the first step of the last
  ``record_periods`` periods (``-s``, 1-based).

The binary runs as a subprocess (argument list, no shell) in a temporary folder that is removed afterwards; its own
progress lines drive the ``progress`` callback. Amplitude and phase come from the same single-bin DFT
(:class:`~tfus.pipeline.engines.steady_state.DFTAccumulator`) at the same sample times as the native path. The binary
stores sensor data as (time x points), the points in k-Wave's Fortran-order mask numbering, which for a box sensor is
the box's own Fortran order.

Cost beyond the binary's own: the source time series, source points x steps x 4 bytes, held about twice while the
input file is written and stored once in it; the recorded pressure, domain points x recorded steps x 4 bytes, on disk
in the temporary folder (read back one step at a time).

k-Wave's C++ code is not part of tfus: the binary is whatever the user points to. The k-Wave 1.3 binaries (bundled in
the k-wave-python 0.1.0 wheel) read this legacy input format and reproduce the native field to float32 round-off
(tested).

Example:
    >>> # field = simulate_kwave(medium, bowl, pose, KWaveConfig(binary="/opt/k-wave/kspaceFirstOrder-OMP"))
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.engines.kwave.config import KWaveConfig, check_binary
from tfus.pipeline.engines.kwave.problem import KWaveProblem, prepare
from tfus.pipeline.engines.kwave.threads import cpu_threads
from tfus.pipeline.engines.steady_state import DFTAccumulator
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.kwave_compat import import_kwave, kwave_quiet
from tfus.pipeline.transducers import BowlTransducer, Pose

_PROGRESS = re.compile(r"^\W*(\d{1,3})\s*%")
_VERSION = re.compile(r"(kspaceFirstOrder-\w+ v[\d.]+)")
_TOTAL = re.compile(r"Total execution time:\s*([\d.]+)\s*s")
_ELAPSED = re.compile(r"Elapsed time:\s*([\d.]+)\s*s")


def _interior(shape: tuple[int, ...], pml: int) -> tuple[slice, ...]:
    return tuple(slice(pml, pml + n) for n in shape)


def write_input_file(run: KWaveProblem, shape: tuple[int, ...], config: KWaveConfig, folder: Path) -> Path:
    """Write the k-Wave HDF5 input file of a prepared run (:func:`.problem.prepare`) with k-wave-python's legacy
    writer; returns its path. ``shape`` is the domain (without PML); the sensor covers it."""
    import_kwave()
    from kwave.kmedium import kWaveMedium
    from kwave.ksensor import kSensor
    from kwave.ksource import kSource
    from kwave.options.simulation_execution_options import SimulationExecutionOptions
    from kwave.options.simulation_options import SimulationOptions

    mask = np.asarray(run.mask, bool)
    # k-Wave numbers source points in Fortran order of p_mask; run.weights follow run.index (C order). The additive
    # source scaling 2 dt / (N c0 dx) is applied here with c0 at each point (prepare's ``scale``): k-wave-python
    # 0.6.2's own scaling (scale_source_terms) looks c0 up with 1-based indices, i.e. at the next grid point.
    fortran = np.ravel_multi_index(np.unravel_index(run.index, mask.shape), mask.shape, order="F")
    order = np.argsort(fortran)
    weights = (np.asarray(run.weights, np.float64) * np.asarray(run.scale, np.float64))[order].astype(np.float32)
    source = kSource()
    source.p_mask = mask
    source.p = weights[:, None] * np.asarray(run.signal, np.float32)[None, :]  # float32: points x steps
    source.p_mode = "additive"
    absorbing = np.any(np.asarray(run.medium.alpha_coeff) > 0)
    medium = kWaveMedium(sound_speed=run.medium.sound_speed, density=run.medium.density,
                         alpha_coeff=run.medium.alpha_coeff if absorbing else None,
                         alpha_power=run.medium.alpha_power if absorbing else None)
    sensor_mask = np.zeros(mask.shape, bool)
    sensor_mask[_interior(shape, run.pml)] = True
    sensor = kSensor(mask=sensor_mask, record=["p"])
    options = SimulationOptions(save_to_disk=True, save_to_disk_exit=True, pml_inside=True, pml_size=run.pml,
                                pml_alpha=config.pml_alpha, data_path=str(folder), input_filename="input.h5",
                                output_filename="output.h5", scale_source_terms=False)
    execution = SimulationExecutionOptions(is_gpu_simulation=False)
    if len(shape) == 3:
        from kwave.kspaceFirstOrder3D import kspaceFirstOrder3D as first_order
    else:
        from kwave.kspaceFirstOrder2D import kspaceFirstOrder2D as first_order
    with kwave_quiet():
        first_order(run.kgrid, source, sensor, medium, options, execution)
    del source
    path = Path(folder) / "input.h5"
    if not path.is_file():  # pragma: no cover - k-wave-python contract
        raise RuntimeError(f"k-wave-python did not write {path}")
    return path


def run_binary(binary: Path, input_file: Path, output_file: Path, flags: list[str], n_steps: int, threads: int,
               progress: Callable[[int, int], None] | None = None) -> dict:
    """Run the k-Wave binary on ``input_file`` with output ``flags`` (e.g. ``["--p_raw", "-s", "145"]``: raw
    pressure from step 145, 1-based as k-Wave counts); its progress lines (every 1 %) are passed on as
    ``progress(step, n_steps)``. Returns the wall time, the binary's version line, its own reported total time and
    the time of its time loop. A binary that fails raises :class:`TfusInputError` with its last output line."""
    cmd = [str(binary), "-i", str(input_file), "-o", str(output_file), "-t", str(int(threads)), "-r", "1", *flags]
    lines: list[str] = []
    loop_s = None
    in_loop = False
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    except OSError as err:
        raise TfusInputError(f"k-Wave binary {binary} cannot be started: {err.strerror or err}") from None
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            match = _PROGRESS.match(line)
            if match:
                in_loop = True
                if progress is not None:
                    progress(min(n_steps, int(round(int(match.group(1)) * n_steps / 100))), n_steps)
            elif in_loop and (elapsed := _ELAPSED.search(line)):
                loop_s, in_loop = float(elapsed.group(1)), False  # the first "Elapsed time" after the progress table
        rc = proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: do not leave the binary running
            proc.kill()
            proc.wait()
        proc.stdout.close()
    wall = time.perf_counter() - t0
    text = "\n".join(lines)
    if rc != 0 or not Path(output_file).is_file():
        last = next((ln for ln in reversed(lines) if ln.strip(" │|─┌┐└┘├┤┬┴┼")), "no output")
        raise TfusInputError(f"k-Wave binary {binary} failed (exit code {rc}): {last.strip(' │|')}")
    if progress is not None:
        progress(n_steps, n_steps)
    version = _VERSION.search(text)
    total = _TOTAL.search(text)
    return {"wall_s": wall, "version": version.group(1) if version else None,
            "reported_s": float(total.group(1)) if total else None, "loop_s": loop_s}


def read_steady_state(output_file: Path, shape: tuple[int, ...], frequency_hz: float, dt: float, record_from: int,
                      snapshot_steps: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Amplitude, phase (single-bin DFT at ``frequency_hz``) and the requested snapshots from the binary's raw
    pressure: row j of ``p`` is step ``record_from + j`` (0-based) sampled at ``(record_from + j + 1) dt``, its
    columns the domain's points in Fortran order. Read one time step at a time (memory O(N))."""
    import h5py

    acc = DFTAccumulator(shape, frequency_hz, dt)
    wanted = {n - record_from: n for n in (snapshot_steps or [])}
    snapshots = {}
    with h5py.File(output_file, "r") as f:
        data = f["p"]
        n_points = int(np.prod(shape))
        if data.shape[-1] != n_points:  # pragma: no cover - k-Wave contract
            raise RuntimeError(f"k-Wave output p has {data.shape[-1]} points, expected {n_points}")
        lead = (0,) * (data.ndim - 2)  # k-Wave writes (1, time, points)
        for j in range(int(data.shape[-2])):
            row = data[lead + (j, slice(None))]
            p = np.asarray(row, np.float32).reshape(shape, order="F")
            acc.add(p, (record_from + j + 1) * dt)
            if j in wanted:
                snapshots[wanted[j]] = np.ascontiguousarray(p)
    amplitude, phase = acc.result()
    return amplitude, phase, [snapshots[n] for n in sorted(snapshots)]


def simulate_kwave_cpp(medium: MediumGrid, transducer: BowlTransducer, pose: Pose, config: KWaveConfig,
                       frequency_hz: float | None = None,
                       progress: Callable[[int, int], None] | None = None) -> SteadyStateField:
    """Steady-state CW field from the k-Wave C++ binary ``config.binary`` (same inputs and outputs as
    :func:`~tfus.pipeline.engines.kwave.engine.simulate_kwave`; meta ``engine`` is ``"kwave-cpp"``)."""
    if config.binary is None:
        raise TfusInputError("no k-Wave binary given; set KWaveConfig(binary=...) or use the native solver")
    binary = check_binary(config.binary)
    if config.burst_cycles > 0:
        raise TfusInputError("tone bursts run on the native k-Wave solver only; drop the k-Wave binary")
    t_start = time.perf_counter()
    run = prepare(medium, transducer, pose, config, frequency_hz)
    record_from = run.n_steps - config.record_periods * run.ppp
    snap_steps = []
    if config.snapshots > 0:
        first = run.n_steps - run.ppp
        snap_steps = sorted({first + int(round(k * run.ppp / config.snapshots)) for k in range(config.snapshots)})
    with tempfile.TemporaryDirectory(prefix="tfus-kwave-cpp-") as tmp:
        input_file = write_input_file(run, medium.shape, config, Path(tmp))
        t_written = time.perf_counter()
        output_file = Path(tmp) / "output.h5"
        info = run_binary(binary, input_file, output_file, ["--p_raw", "-s", str(record_from + 1)], run.n_steps,
                          cpu_threads(), progress)
        t_run = time.perf_counter()
        amplitude, phase, snapshots = read_steady_state(output_file, medium.shape, run.frequency_hz, run.dt,
                                                        record_from, snap_steps)
    t_end = time.perf_counter()
    if not np.all(np.isfinite(amplitude)):
        raise TfusInputError("the k-Wave binary's simulation diverged (non-finite pressure); lower the CFL number or "
                             "check the medium for extreme values")
    meta = {"engine": "kwave-cpp", "backend": f"k-Wave C++ binary ({info['version'] or binary.name}, user-supplied)",
            "binary": str(binary), "binary_version": info["version"], "threads": cpu_threads(), "dt_s": run.dt,
            "steps": run.n_steps, "points_per_period": run.ppp, "points_per_wavelength": run.ppw,
            "source_points": int(run.index.size), "config": config.__dict__, "setup_s": t_written - t_start,
            "run_s": t_run - t_written, "binary_reported_s": info["reported_s"],
            "binary_loop_s": info["loop_s"], "read_s": t_end - t_run,
            "seconds": t_end - t_start, "ms_per_step": 1e3 * (t_run - t_written) / run.n_steps}
    if snapshots:
        meta["snapshots"] = np.stack(snapshots)
        meta["snapshot_dt_s"] = run.dt * run.ppp / config.snapshots
        meta["snapshot_times_s"] = np.array([(n + 1) * run.dt for n in snap_steps])  # as the native solver's
    return SteadyStateField(amplitude=amplitude, phase=phase, affine=np.asarray(medium.affine, float),
                            frequency_hz=run.frequency_hz, meta=meta)
