"""Real FFTs for the k-Wave step: FFTW through ``pyfftw`` (measured plans, wisdom cached per machine) or ``scipy.fft``
(pocketfft, the reference and fallback) on CPU; CuPy on GPU.

The backend is chosen per simulation: ``TFUS_FFT=fftw|scipy`` forces one, otherwise FFTW when ``pyfftw`` imports and
plans, else ``scipy.fft``. FFTW that is missing or fails to plan (e.g. out of memory) falls back to ``scipy.fft`` with
one warning, never an error. The chosen name is recorded in every run's JSON (``fft_backend``).

FFTW's inverse is unnormalised (``FFTW_BACKWARD`` executes without the ``1/N``); a backend says so with
``inverse_scale`` and the stepper folds that factor into the spectral operators it multiplies in before each inverse
transform (exact up to float rounding), so no extra pass over the grid is spent on it.

Example:
    >>> import numpy as np
    >>> backend = fft_backend((8, 8, 8), np.float32, name="scipy")
    >>> a = np.random.default_rng(0).random((8, 8, 8), dtype=np.float32)
    >>> back = backend.irfftn(backend.rfftn(a)) * backend.inverse_scale
    >>> bool(np.allclose(back, a, atol=1e-6))
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from tfus.pipeline.errors import TfusInputError

NAMES = ("fftw", "scipy")
# FFTW_MEASURE tries several algorithms on the real grid; bound it so a huge odd-sized grid cannot stall a run
# (FFTW then keeps the best plan found so far). Wisdom makes later runs on the machine plan in milliseconds.
PLANNING_TIME_LIMIT_S = 60.0


#: pid of the process whose FFTW plans use OpenMP threads: a process forked from it must not use them (libgomp's
#: thread pool does not survive fork(); FFTW would hang in its first threaded call)
_threaded_pid: int | None = None


def _forked_from_threaded_fftw() -> bool:
    return _threaded_pid is not None and _threaded_pid != os.getpid()


def spectrum_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of ``rfftn``'s half spectrum of a real grid of ``shape``."""
    return tuple(shape[:-1]) + (shape[-1] // 2 + 1,)


class FftFallbackWarning(UserWarning):
    """FFTW was asked for or preferred but could not be used; ``scipy.fft`` runs instead."""


def requested_backend() -> str:
    """``TFUS_FFT`` (``fftw``, ``scipy`` or ``auto``; unset is ``auto``)."""
    value = os.environ.get("TFUS_FFT", "auto").strip().lower() or "auto"
    if value not in (*NAMES, "auto"):
        raise TfusInputError(f"TFUS_FFT={value!r} is not one of fftw, scipy, auto: set one of these or unset it")
    return value


@dataclass
class ScipyFft:
    """``scipy.fft`` real transforms on ``workers`` threads; the inverse is normalised (``inverse_scale`` 1)."""

    shape: tuple[int, ...]
    workers: int
    name: str = "scipy"
    inverse_scale: float = 1.0

    def rfftn(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        import scipy.fft as sfft

        spec = sfft.rfftn(a, workers=self.workers, overwrite_x=False)
        if out is None:
            return spec
        out[...] = spec
        return out

    def irfftn(self, spec: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Inverse of :meth:`rfftn`; may overwrite ``spec``."""
        import scipy.fft as sfft

        real = sfft.irfftn(spec, s=self.shape, workers=self.workers, overwrite_x=True)
        if out is None:
            return real
        out[...] = real
        return out

    def empty_real(self, dtype) -> np.ndarray:
        return np.empty(self.shape, dtype=dtype)

    def empty_spectrum(self, dtype) -> np.ndarray:
        """An array for the half spectrum (``rfftn``'s output) of ``dtype``."""
        return np.empty(spectrum_shape(self.shape), dtype=dtype)


@dataclass
class FftwFft:
    """FFTW real transforms through ``pyfftw``: one measured plan per direction for ``shape``, executed on the
    caller's arrays without copies when they are SIMD-aligned and C-contiguous (allocate them with
    :meth:`empty_real`), through the plan's own aligned buffers otherwise. The inverse is unnormalised
    (``inverse_scale = 1 / N``) and destroys its input, as ``scipy.fft``'s ``overwrite_x=True`` may."""

    shape: tuple[int, ...]
    dtype: type
    threads: int
    name: str = "fftw"
    inverse_scale: float = field(init=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self):
        import pyfftw

        self._pyfftw = pyfftw
        self.inverse_scale = 1.0 / float(np.prod(self.shape))
        cdt = np.complex64 if np.dtype(self.dtype) == np.float32 else np.complex128
        spec_shape = spectrum_shape(self.shape)
        self._real = pyfftw.empty_aligned(self.shape, dtype=self.dtype)
        self._spec = pyfftw.empty_aligned(spec_shape, dtype=cdt)
        self._spec_shape, self._cdt = spec_shape, cdt
        axes = tuple(range(len(self.shape)))
        _load_wisdom()
        kwargs = {"axes": axes, "threads": self.threads, "planning_timelimit": PLANNING_TIME_LIMIT_S}
        if self.threads > 1:
            global _threaded_pid
            _threaded_pid = os.getpid()
        self._forward = pyfftw.FFTW(self._real, self._spec, direction="FFTW_FORWARD",
                                    flags=("FFTW_MEASURE",), **kwargs)
        self._inverse = pyfftw.FFTW(self._spec, self._real, direction="FFTW_BACKWARD",
                                    flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"), **kwargs)
        _save_wisdom()

    def empty_real(self, dtype=None) -> np.ndarray:
        """A SIMD-aligned real array of the grid's shape (transforms run on it without copies)."""
        return self._pyfftw.empty_aligned(self.shape, dtype=dtype or self.dtype)

    def empty_spectrum(self, dtype=None) -> np.ndarray:
        """A SIMD-aligned half-spectrum array (transforms read and write it without copies)."""
        return self._pyfftw.empty_aligned(self._spec_shape, dtype=dtype or self._cdt)

    def _aligned(self, a: np.ndarray) -> bool:
        return a.flags.c_contiguous and self._pyfftw.is_byte_aligned(a)

    def _run(self, plan, a, out, own_in, own_out, out_shape, out_dtype):
        if out is None:
            out = self._pyfftw.empty_aligned(out_shape, dtype=out_dtype)
        with self._lock:  # one plan object, one set of arrays at a time
            if self._aligned(a) and self._aligned(out) and a.dtype == own_in.dtype and out.dtype == own_out.dtype:
                plan.update_arrays(a, out)
                plan.execute()
            else:
                own_in[...] = a
                plan.update_arrays(own_in, own_out)
                plan.execute()
                out[...] = own_out
        return out

    def rfftn(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return self._run(self._forward, a, out, self._real, self._spec, self._spec_shape, self._cdt)

    def irfftn(self, spec: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Unnormalised inverse of :meth:`rfftn` (multiply by ``inverse_scale`` for the normalised one)."""
        return self._run(self._inverse, spec, out, self._spec, self._real, self.shape, self.dtype)


class CupyFft:  # pragma: no cover - GPU only
    """CuPy real transforms (normalised inverse), the GPU counterpart of :mod:`.fft`'s CPU backends."""

    name = "cupy"
    inverse_scale = 1.0

    def __init__(self, shape):
        self.shape = tuple(shape)

    def rfftn(self, a, out=None):
        import cupyx.scipy.fft as cfft

        spec = cfft.rfftn(a)
        if out is None:
            return spec
        out[...] = spec
        return out

    def irfftn(self, spec, out=None):
        import cupyx.scipy.fft as cfft

        real = cfft.irfftn(spec, s=self.shape, overwrite_x=True)
        if out is None:
            return real
        out[...] = real
        return out

    def empty_real(self, dtype):
        import cupy

        return cupy.empty(self.shape, dtype=dtype)

    def empty_spectrum(self, dtype):
        import cupy

        return cupy.empty(spectrum_shape(self.shape), dtype=dtype)


def fft_backend(shape: tuple[int, ...], dtype=np.float32, *, threads: int = 1, name: str | None = None):
    """The CPU real-FFT backend for a grid: ``name`` (``fftw``/``scipy``), else ``TFUS_FFT``, else FFTW when it
    plans, else ``scipy.fft``.

    Args:
        shape: the real grid's shape (PML included).
        dtype: ``np.float32`` or ``np.float64``.
        threads: threads per transform.
        name: force a backend; ``None`` reads ``TFUS_FFT``.

    Returns:
        A :class:`FftwFft` or :class:`ScipyFft`.
    """
    shape = tuple(int(n) for n in shape)
    choice = name or requested_backend()
    if choice in ("fftw", "auto") and _forked_from_threaded_fftw():
        warnings.warn("this process was forked from one that ran FFTW's threads, which do not survive fork(): using "
                      "scipy.fft (start worker processes with 'spawn', as Dask does)", FftFallbackWarning, stacklevel=2)
        choice = "scipy"
    if choice in ("fftw", "auto"):
        try:
            return FftwFft(shape, np.dtype(dtype).type, threads)
        except ImportError:
            if choice == "fftw":
                warnings.warn("FFTW requested (TFUS_FFT=fftw) but pyfftw is not installed: using scipy.fft "
                              "(pip install pyfftw)", FftFallbackWarning, stacklevel=2)
        except (MemoryError, RuntimeError, ValueError) as err:
            warnings.warn(f"FFTW could not plan the {'x'.join(map(str, shape))} grid ({err}): using scipy.fft",
                          FftFallbackWarning, stacklevel=2)
    return ScipyFft(shape, threads)


# --- wisdom: FFTW's measured plans, cached on disk per machine ------------------------------------------------------

_wisdom_lock = threading.Lock()


def wisdom_path():
    """The wisdom file of this machine (CPU model and pyfftw version in its name) in the tfus cache folder."""
    import pyfftw

    from tfus.pipeline.resources import cache_dir

    return cache_dir() / f"fftw-wisdom-{pyfftw.__version__}-{_machine_key()}.json"


@functools.lru_cache(maxsize=1)
def _machine_key() -> str:
    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    except OSError:
        pass
    return hashlib.sha1(f"{platform.machine()}|{model}".encode()).hexdigest()[:12]


_loaded: set[str] = set()


def _load_wisdom() -> None:
    """Import the machine's wisdom once per process; a missing or corrupt file is ignored (and rewritten later)."""
    import pyfftw

    path = wisdom_path()
    with _wisdom_lock:
        if str(path) in _loaded:
            return
        _loaded.add(str(path))
        try:
            blobs = json.loads(path.read_text(encoding="ascii"))
            pyfftw.import_wisdom(tuple(str(b).encode("ascii") for b in blobs["wisdom"]))
        except (OSError, ValueError, KeyError, TypeError, UnicodeError):
            pass


def _save_wisdom() -> None:
    """Write the process's wisdom (all plans made so far) atomically; a read-only cache is not an error."""
    import pyfftw

    from tfus.pipeline.io.atomic import atomic_write_text

    blobs = [b.decode("ascii") for b in pyfftw.export_wisdom()]
    with _wisdom_lock:
        try:
            atomic_write_text(wisdom_path(), json.dumps({"wisdom": blobs}) + "\n")
        except OSError:
            pass
