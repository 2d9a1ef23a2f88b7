"""Settings of the k-Wave engine and the checks made before any work.

Example:
    >>> KWaveConfig().cfl
    0.3
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfus.pipeline.device import parse_device
from tfus.pipeline.errors import TfusInputError, dataclass_from_mapping


@dataclass(frozen=True)
class KWaveConfig:
    """How to run k-Wave.

    Attributes:
        cfl: Courant number c_max dt / dx; k-Wave's k-space scheme is exact in homogeneous media and stable in
            heterogeneous ones up to about 0.3-0.5. Refused above 0.5.
        pml_size: PML thickness in grid points, added outside the domain on every side.
        pml_alpha: PML absorption (Np per grid point), k-Wave's default 2.
        ramp_periods: Raised-cosine ramp of the continuous wave, in periods.
        record_periods: Whole periods at the end over which amplitude and phase are taken (single-bin DFT).
        domain_crossings: Simulated time before recording, in travel times of the domain diagonal at the slowest
            sound speed (reverberations in the skull settle within about one more crossing).
        device: ``cpu`` (NumPy + scipy.fft) or ``gpu`` (CuPy).
        bli_tolerance: Band-limited interpolation tolerance of the off-grid bowl source (``kWaveArray``): smaller
            is more accurate and spreads the source over more grid points.
        upsampling_rate: Integration points per grid spacing on the bowl surface (``kWaveArray``).
        snapshots: If > 0, also keep this many equally spaced pressure snapshots: over the last period for a
            continuous wave, over the whole run for a tone burst (time-resolved output for 4D surrogates);
            ``meta["snapshot_times_s"]`` holds their exact times (the run length, hence the spacing, depends on the
            medium and grid, so it differs between samples of a dataset).
        burst_cycles: If > 0, drive a Hann-windowed tone burst of this many cycles instead of a continuous wave;
            the run then records the peak positive and negative pressure maps (``meta["p_max"]``, ``meta["p_min"]``)
            and the snapshots; amplitude/phase of the returned field hold the DFT at the driving frequency over the
            whole run (not a steady state).
        binary: Path of a k-Wave C++ binary (``kspaceFirstOrder-OMP`` or ``kspaceFirstOrder-CUDA``) to run the same
            problem with instead of the native solver (:mod:`.cpp`); None (default) runs k-wave-python's native solver.
            The binary decides where it runs (OMP: CPU threads, CUDA: GPU); ``device`` is then not used.
        fft_padding: Pad the total grid (PML included) on each axis to the next size whose prime factors are all
            <= 7 (fast FFT sizes), with copies of the medium's far face between the domain and the far PML; the field
            on the domain is the same (tested). False keeps the grid exactly as given.
    """

    cfl: float = 0.3
    pml_size: int = 20
    pml_alpha: float = 2.0
    ramp_periods: float = 3.0
    record_periods: int = 3
    domain_crossings: float = 1.5
    device: str = "cpu"
    bli_tolerance: float = 0.05
    upsampling_rate: int = 10
    snapshots: int = 0
    burst_cycles: int = 0
    binary: str | None = None
    fft_padding: bool = True

    @classmethod
    def from_mapping(cls, data, where: str = "kwave") -> KWaveConfig:
        """Settings from a parsed YAML mapping, checked like every tfus config (unknown keys name the allowed ones;
        :func:`tfus.pipeline.errors.dataclass_from_mapping`).

        Example:
            >>> KWaveConfig.from_mapping({"cfl": 0.2}).cfl
            0.2
        """
        return dataclass_from_mapping(cls, data, where=where)

    def __post_init__(self) -> None:
        if self.binary is not None:
            object.__setattr__(self, "binary", str(check_binary(self.binary)))  # absolute, for the provenance record
            if self.burst_cycles > 0:
                raise TfusInputError("tone bursts (burst_cycles > 0) run on the native k-Wave solver only; drop the "
                                     "k-Wave binary or set burst_cycles to 0")
        if not 0.0 < self.cfl <= 0.5:
            raise TfusInputError(f"unstable time step: CFL {self.cfl} must be in (0, 0.5]; use 0.3")
        object.__setattr__(self, "device", parse_device(self.device, allow_auto=False).value)
        if self.snapshots < 0 or self.burst_cycles < 0:
            raise TfusInputError("snapshots and burst_cycles must be >= 0")
        if self.pml_size < 8 or self.record_periods < 1 or self.ramp_periods < 0 or self.domain_crossings <= 0:
            raise TfusInputError("k-Wave settings out of range: pml_size >= 8, record_periods >= 1, "
                                 "ramp_periods >= 0, domain_crossings > 0")


def check_binary(path: str | os.PathLike) -> Path:
    """The k-Wave C++ binary at ``path`` as an absolute path; refuse a missing, non-file or non-executable path.

    Example:
        >>> check_binary("/bin/sh").is_absolute()
        True
    """
    p = Path(os.fspath(path)).expanduser()
    if not str(path).strip() or not p.exists():
        raise TfusInputError(f"k-Wave binary {path} does not exist; give the path of kspaceFirstOrder-OMP or "
                             "kspaceFirstOrder-CUDA")
    if not p.is_file():
        raise TfusInputError(f"k-Wave binary {path} is not a file; give the path of the kspaceFirstOrder-OMP or "
                             "kspaceFirstOrder-CUDA executable")
    if not os.access(p, os.X_OK):
        raise TfusInputError(f"k-Wave binary {path} is not executable; run chmod +x {path}")
    return p.resolve()


def check_points_per_wavelength(min_sound_speed: float, frequency_hz: float, spacing_mm: float) -> float:
    """Points per wavelength in the slowest medium; refuse below 2 (aliasing), warn below 3."""
    if not frequency_hz > 0:
        raise TfusInputError(f"frequency must be positive, got {frequency_hz} Hz")
    ppw = min_sound_speed / frequency_hz / (spacing_mm * 1e-3)
    if ppw < 2.0:
        finer = min_sound_speed / frequency_hz / 3.0 * 1e3
        raise TfusInputError(f"grid too coarse: {ppw:.2f} points per wavelength in the slowest tissue "
                             f"({min_sound_speed:.0f} m/s at {frequency_hz / 1e3:g} kHz); use --spacing "
                             f"{finer:.2f} mm or finer")
    if ppw < 3.0:
        warnings.warn(f"only {ppw:.2f} points per wavelength in the slowest tissue: expect a few % amplitude error",
                      stacklevel=2)
    return float(ppw)


def time_axis(frequency_hz: float, spacing_mm: float, c_max: float, cfl: float) -> tuple[float, int]:
    """(dt, points per period): the largest dt <= cfl dx / c_max that divides the period into whole steps."""
    period = 1.0 / frequency_hz
    dt_cfl = cfl * spacing_mm * 1e-3 / c_max
    ppp = int(np.ceil(period / dt_cfl))
    return period / ppp, ppp
