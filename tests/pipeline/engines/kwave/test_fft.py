"""The k-Wave step's FFT backends: FFTW (pyfftw) and scipy.fft give the same transforms to float32 round-off, the
choice follows TFUS_FFT, and a missing or failing FFTW falls back to scipy.fft with one warning."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest

from tfus.pipeline.engines.kwave import fft
from tfus.pipeline.errors import TfusInputError

pytest.importorskip("pyfftw")

SHAPES = [(12, 10, 9), (16, 16, 16), (7, 11)]


@pytest.fixture(autouse=True)
def _private_wisdom(monkeypatch, tmp_path):
    monkeypatch.setenv("TFUS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(fft, "_loaded", set())


def _field(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fftw_equals_scipy(shape, dtype):
    a = _field(shape, dtype)
    ref, fw = fft.fft_backend(shape, dtype, name="scipy"), fft.fft_backend(shape, dtype, threads=2, name="fftw")
    assert (ref.name, fw.name) == ("scipy", "fftw")
    spec_ref, spec_fw = ref.rfftn(a), fw.rfftn(a)
    eps = np.finfo(dtype).eps
    # round-off of an N-point transform grows like eps * log2(N) times the spectrum's scale
    tol = 8 * eps * np.log2(a.size) * np.abs(spec_ref).max()
    np.testing.assert_allclose(spec_fw, spec_ref, rtol=0, atol=tol)
    back_ref = ref.irfftn(spec_ref.copy()) * ref.inverse_scale
    back_fw = fw.irfftn(spec_fw.copy()) * fw.inverse_scale
    np.testing.assert_allclose(back_fw, a, rtol=0, atol=8 * eps * np.log2(a.size) * np.abs(a).max())
    np.testing.assert_allclose(back_fw, back_ref, rtol=0, atol=8 * eps * np.log2(a.size) * np.abs(a).max())
    assert fw.inverse_scale == pytest.approx(1 / a.size) and ref.inverse_scale == 1.0


def test_fftw_aligned_and_unaligned_arrays_and_out():
    shape = (16, 12, 10)
    fw = fft.fft_backend(shape, np.float32, name="fftw")
    aligned = fw.empty_real()
    aligned[...] = _field(shape, np.float32)
    unaligned = np.empty(aligned.size + 1, np.float32)[1:].reshape(shape)  # 4-byte offset: not SIMD-aligned
    unaligned[...] = aligned
    strided = np.asfortranarray(aligned)
    out = fw.rfftn(aligned)
    for a in (unaligned, strided):
        np.testing.assert_array_equal(fw.rfftn(a), out)
    spec_out = np.empty_like(out)
    assert fw.rfftn(aligned, out=spec_out) is spec_out
    np.testing.assert_array_equal(spec_out, out)
    real_out = fw.empty_real()
    assert fw.irfftn(out.copy(), out=real_out) is real_out
    np.testing.assert_allclose(real_out * fw.inverse_scale, aligned, atol=1e-5)


def test_choice_follows_tfus_fft(monkeypatch):
    monkeypatch.setenv("TFUS_FFT", "scipy")
    assert fft.fft_backend((8, 8, 8)).name == "scipy"
    monkeypatch.setenv("TFUS_FFT", "fftw")
    assert fft.fft_backend((8, 8, 8)).name == "fftw"
    monkeypatch.delenv("TFUS_FFT")
    assert fft.fft_backend((8, 8, 8)).name == "fftw"  # the automatic choice when pyfftw plans
    monkeypatch.setenv("TFUS_FFT", "mkl")
    with pytest.raises(TfusInputError, match="TFUS_FFT='mkl' is not one of fftw, scipy, auto"):
        fft.fft_backend((8, 8, 8))


def test_missing_pyfftw_falls_back_with_one_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyfftw", None)  # import fails
    with pytest.warns(fft.FftFallbackWarning, match="pyfftw is not installed") as rec:
        backend = fft.fft_backend((8, 8, 8), name="fftw")
    assert backend.name == "scipy" and len(rec) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the automatic choice falls back silently
        assert fft.fft_backend((8, 8, 8)).name == "scipy"


def test_failed_planning_falls_back(monkeypatch):
    import pyfftw

    def refuse(*args, **kwargs):
        raise MemoryError("cannot allocate")

    monkeypatch.setattr(pyfftw, "FFTW", refuse)
    with pytest.warns(fft.FftFallbackWarning, match="could not plan the 8x8x8 grid"):
        backend = fft.fft_backend((8, 8, 8))
    assert backend.name == "scipy"
    a = _field((8, 8, 8), np.float32)
    np.testing.assert_allclose(backend.irfftn(backend.rfftn(a)), a, atol=1e-6)


def test_wisdom_is_saved_and_a_corrupt_file_is_rewritten():
    fft.fft_backend((10, 10, 10), name="fftw")
    path = fft.wisdom_path()
    blobs = json.loads(path.read_text())["wisdom"]
    assert any(len(b) > 0 for b in blobs)
    path.write_text("{not json")
    fft._loaded.clear()
    assert fft.fft_backend((10, 10, 10), name="fftw").name == "fftw"  # ignored, not an error
    assert json.loads(path.read_text())["wisdom"]


@pytest.mark.parametrize("alpha_power", [2.0, 1.5])  # Stokes (fused) and power law (FFT in the equation of state)
def test_simulation_same_field_with_fftw_and_scipy(monkeypatch, alpha_power):
    """The whole k-Wave run through either backend: the same steady-state field to float32 round-off (the 1/N of
    FFTW's inverse folded into the operators changes only the rounding), and the backend recorded in the run."""
    from tfus.pipeline.engines.field import MediumGrid
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.kwave.engine import simulate_kwave
    from tfus.pipeline.transducers import BowlTransducer, Pose

    medium = MediumGrid.homogeneous((26, 22, 20), 0.5, alpha_coeff=0.5, alpha_power=alpha_power)
    bowl = BowlTransducer("small", 6.0, 6.0, 1.0e6, 1.0e5)
    fields = {}
    for name in ("scipy", "fftw"):
        monkeypatch.setenv("TFUS_FFT", name)
        field = simulate_kwave(medium, bowl, Pose([-5.0, 0, 0], [5.0, 0, 0]),
                               KWaveConfig(pml_size=8, domain_crossings=0.5))
        assert field.meta["fft_backend"] == name and field.meta["threads"] >= 1
        fields[name] = field.amplitude
    peak = fields["scipy"].max()
    # float32 round-off accumulated over the run's steps: 1e-4 of the peak is ~1000 eps
    assert np.abs(fields["fftw"] - fields["scipy"]).max() <= 1e-4 * peak


def test_a_process_forked_after_threaded_fftw_falls_back_instead_of_hanging():
    """libgomp's thread pool does not survive fork(): FFTW's first threaded call in the child would hang forever."""
    import multiprocessing

    fft.fft_backend((16, 16, 16), threads=2, name="fftw")  # this process now runs FFTW's OpenMP threads
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child(conn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            backend = fft.fft_backend((16, 16, 16), threads=2)
        conn.send((backend.name, [str(w.message) for w in caught]))

    proc = ctx.Process(target=child, args=(send,))
    proc.start()
    assert recv.poll(60), "the forked child hung"
    name, messages = recv.recv()
    proc.join(10)
    assert name == "scipy" and any("do not survive fork()" in m for m in messages)
