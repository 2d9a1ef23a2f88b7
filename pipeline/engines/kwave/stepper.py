"""A faster time step for k-wave-python's native k-space pseudospectral solver.

:class:`FastSimulation` subclasses k-wave-python's ``Simulation`` and keeps everything it sets up (k-space operators
with the k-space correction kappa, staggered-grid shifts, PML profiles from ``kwave.utils.pml.get_pml``, Stokes or
power-law absorption and dispersion coefficients). Only the time step changes:

- real-to-complex FFTs (``rfftn``/``irfftn``: half the work and memory of the complex ``fftn`` the reference uses):
  on CPU FFTW through ``pyfftw`` (measured plans, aligned fields transformed in place of copies, the inverse's ``1/N``
  folded into the spectral operators) or ``scipy.fft`` (:mod:`.fft`, ``TFUS_FFT``), on GPU CuPy — chosen per
  instance, nothing in NumPy is patched;
- float32 fields; the gradient and divergence operators kept separable, as k-Wave defines them: ``kappa`` on the
  half spectrum (one real array) times a 1D staggered-shift derivative factor per axis, instead of six complex grids;
- 10 FFTs per step, as the k-Wave C++ binary does (``F[p]``, 3 inverse for the gradient, 3 forward and 3 inverse
  for the split divergence; the split-field PML needs each axis's divergence on its own);
- on CPU 7 fused, multithreaded Numba passes (:mod:`.fused`) besides the FFTs: all gradient spectra from ``F[p]`` in
  one, per axis the velocity update, the divergence operator, the density update (the last one with the equation of
  state), nothing allocated per step; on GPU (or without Numba) the same updates as in-place array operations;
- the source is one band-limited spatial distribution (from ``kWaveArray``) times a scalar signal, injected with
  k-Wave's additive-source scaling; k-Wave's k-space source correction is a linear time-invariant filter, so it is
  applied to the distribution once at setup (exact) instead of one FFT pair per step — memory O(N) instead of a
  (points x time) table.

The arithmetic is the reference's: results agree with ``Simulation.run()`` to float32 round-off (tested).

Example:
    >>> # see tfus.pipeline.engines.kwave.engine.simulate_kwave for a complete run
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np

from tfus.pipeline.engines.kwave.fft import CupyFft, fft_backend
from tfus.pipeline.engines.kwave.threads import cpu_threads
from tfus.pipeline.kwave_compat import import_kwave

import_kwave()  # the offline-safe first import of k-wave-python, before its solver module
from kwave.solvers.kspace_solver import Simulation, _noop_source  # noqa: E402

__all__ = ["FastSimulation", "build_simulation", "cpu_threads"]


def _fused_available() -> bool:
    """Numba present and not disabled (``TFUS_FUSED=0`` forces the array path, for comparisons)."""
    if os.environ.get("TFUS_FUSED", "1") == "0":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _half(op, shape):
    """An operator broadcastable to the full spectrum, restricted to the rfft half spectrum (last axis)."""
    n_last = shape[-1] // 2 + 1
    if op is None or np.ndim(op) == 0:
        return op
    if op.shape[-1] == 1:
        return op
    return op[..., :n_last]


class FastSimulation(Simulation):
    """k-wave-python's Simulation with a real-FFT, in-place, O(N)-source time step."""

    def _setup_source_operators(self):  # the source is injected by step() from set_source()
        self._source_p_ops = [_noop_source] * self.ndim
        self._source_u_ops = [_noop_source] * self.ndim

    def setup(self):
        super().setup()
        xp = self.xp
        shape = self.grid_shape
        cdt = np.complex64 if self._dtype == np.float32 else np.complex128
        name = getattr(self, "fft_request", None)
        self._fft = fft_backend(shape, self._dtype, threads=cpu_threads(), name=name) if xp is np else CupyFft(shape)
        self.fft_name = self._fft.name
        # every inverse transform follows a product with one of these operators: an unnormalised inverse (FFTW)
        # gets its 1/N here, once, instead of one more pass over the grid per transform
        scale = self._fft.inverse_scale
        spec_shape = tuple(shape[:-1]) + (shape[-1] // 2 + 1,)

        def spectral(op, dtype):
            return None if op is None else xp.ascontiguousarray(_half(op, shape) * scale).astype(dtype)

        # The gradient and divergence operators are separable: kappa (on the grid) times a 1D staggered-shift
        # derivative factor per axis. Kept that way: one real half-spectrum array plus 1D factors instead of six
        # complex grids, and the products are formed inside the passes that apply them.
        kappa = xp.asarray(self.kappa, dtype=self._dtype) if np.ndim(self.kappa) else xp.ones((1,) * self.ndim,
                                                                                               self._dtype)
        self.kappa_half = xp.ascontiguousarray(xp.broadcast_to(_half(kappa * self._dtype(scale), shape), spec_shape))
        self.grad_factors, self.div_factors = [], []
        for axis, (k, dx) in enumerate(zip(self.k_list, self.spacing)):
            k = xp.asarray(k).ravel().astype(self._dtype)
            if axis == self.ndim - 1:
                k = k[: shape[-1] // 2 + 1]
            shift = xp.exp(1j * k * dx / 2) if self.use_sg else xp.ones_like(k)
            self.grad_factors.append(xp.ascontiguousarray((1j * k * shift).astype(cdt)))
            self.div_factors.append(xp.ascontiguousarray((1j * k * xp.conj(shift)).astype(cdt)))
        self.source_kappa_half = spectral(self.source_kappa, self._dtype) if np.ndim(self.source_kappa) else None
        self.nabla1_half = spectral(self.nabla1, self._dtype)
        self.nabla2_half = spectral(self.nabla2, self._dtype)
        self.dt_rho0 = (self.dt * self.rho0).astype(self._dtype)
        if self.tau is not None and np.ndim(self.tau):
            self.tau = self.tau.astype(self._dtype)
        if self.eta is not None and np.ndim(self.eta):
            self.eta = self.eta.astype(self._dtype)
        # spectra: P = F[p] (its last axis's gradient is formed in place) and one buffer per other axis; FFTW's
        # aligned allocation when it runs
        self._P = self._fft.empty_spectrum(cdt)
        self._specs = [self._fft.empty_spectrum(cdt) for _ in range(self.ndim - 1)] + [self._P]
        self._spec = self._specs[0] if self.ndim > 1 else self._fft.empty_spectrum(cdt)  # never P
        # fields and work arrays the transforms read and write, aligned for FFTW (no copies per transform)
        self.p = self._aligned(self.p)
        self.u = [self._aligned(u) for u in self.u]
        self.rho_split = [self._aligned(r) for r in self.rho_split]
        self._work = self._fft.empty_real(self._dtype)  # each gradient, then each divergence
        self._div = xp.zeros(shape, dtype=self._dtype)
        self._rho = xp.zeros(shape, dtype=self._dtype)
        self._has_source = False
        # The PML profiles are 1 outside their slabs: multiply only the slabs (exactly the same arithmetic).
        self._slabs = []
        for i in range(self.ndim):
            prof = xp.asarray(self.pml_list[i]).ravel()
            prof_sg = xp.asarray(self.pml_sg_list[i]).ravel()
            changed = (prof != 1) | (prof_sg != 1)
            active = np.flatnonzero(changed.get() if xp is not np else changed)  # np.asarray(cupy) raises
            slabs = []
            if active.size:
                n = shape[i]
                lo = active[active < n // 2]
                hi = active[active >= n // 2]
                for part in (lo, hi):
                    if part.size:
                        sl = [slice(None)] * self.ndim
                        sl[i] = slice(int(part.min()), int(part.max()) + 1)
                        slabs.append(tuple(sl))
            self._slabs.append(slabs)
        # Free what the fast step does not use (full-spectrum complex operators).
        self.op_grad_list = self.op_div_list = None
        self._fused = xp is np and _fused_available()
        if self._fused:
            self._setup_fused(shape)
        return self

    def _aligned(self, a):
        out = self._fft.empty_real(self._dtype)
        out[...] = a
        return out

    def _setup_fused(self, shape):
        import numba

        from tfus.pipeline.engines.kwave import fused

        numba.set_num_threads(min(cpu_threads(), numba.config.NUMBA_NUM_THREADS))
        dt = self._dtype
        self._f_dt_over_rho0 = [fused.grid_array(v, shape, dt) for v in self.dt_over_rho0]
        self._f_dt_rho0 = fused.grid_array(self.dt_rho0, shape, dt)
        self._f_c0_sq = fused.grid_array(self.c0_sq, shape, dt)
        self._f_pml_sg = [fused.pml_profiles(self.pml_sg_list[i], i, shape, dt) for i in range(self.ndim)]
        self._f_pml = [fused.pml_profiles(self.pml_list[i], i, shape, dt) for i in range(self.ndim)]
        # Stokes absorption (y = 2) folds into the equation of state; power laws keep the FFT path below
        self._f_stokes = self.tau is not None and self.nabla1_half is None and self.eta is None
        self._f_tau_rho0 = (fused.grid_array(np.asarray(self.tau, np.float64) * np.asarray(self.rho0, np.float64),
                                             shape, dt) if self._f_stokes else fused.EMPTY.astype(dt))
        self._f_empty = np.empty((0, 0, 0), dtype=dt)
        self._f_one = np.ones(1, dtype=np.complex64 if dt == np.float32 else np.complex128)
        self._set_views()

    def _set_views(self):
        """3D views of every array the fused kernels take, made once (the step then builds no Python objects)."""
        from tfus.pipeline.engines.kwave import fused

        e = self._f_empty
        ec = np.empty((0, 0, 0), dtype=self._f_one.dtype)
        rho = [fused.as3d(r) for r in self.rho_split]
        spec3 = [fused.as3d(a) for a in self._specs]
        others = rho[:-1] + [e] * (3 - self.ndim)
        src = getattr(self, "_src_dense", None)
        self._views = {"P": fused.as3d(self._P), "kappa": fused.as3d(self.kappa_half), "spec3": spec3,
                       "specs": (spec3[:-1] + [ec, ec])[:2],
                       "u": [fused.as3d(u) for u in self.u], "work": fused.as3d(self._work), "rho": rho,
                       "rho_other": others[:2], "div": fused.as3d(self._div) if self.tau is not None else e,
                       "p": fused.as3d(self.p), "rho_total": fused.as3d(self._rho),
                       "source": fused.as3d(src) if src is not None else e}

    def set_source(self, mask_index, weights, signal, scale):
        """Additive pressure source: at step n, ``weights * signal(n)`` (Pa) on the flat C-order grid points
        ``mask_index``; ``scale`` is k-Wave's per-point ``2 dt / (ndim c0 dx)`` factor. The source is one spatial
        distribution times a scalar signal, so k-Wave's k-space source correction (a linear, time-invariant
        filter) is applied once here instead of one FFT pair per step."""
        if not self._is_setup:
            self.setup()
        xp = self.xp
        dense = np.zeros(int(np.prod(self.grid_shape)), dtype=np.float64)
        np.add.at(dense, np.asarray(mask_index), np.asarray(weights, np.float64) * np.asarray(scale, np.float64))
        src = xp.asarray(dense.reshape(self.grid_shape), dtype=self._dtype)
        if self.source_kappa_half is not None:
            src = self._diff_half(src, self.source_kappa_half)
        self._src_dense = xp.ascontiguousarray(src.astype(self._dtype))
        self._src_signal = np.asarray(signal, np.float64)
        self._has_source = True
        if self._fused:
            self._set_views()

    def _diff_half(self, field, op, out=None):
        """The spectral operator ``op`` applied to a real field (into ``out`` when given)."""
        spec = self._fft.rfftn(field, out=self._spec)
        spec *= op
        return self._fft.irfftn(spec, out=out)

    def _source_value(self):
        if self._has_source and self.t < len(self._src_signal):
            return self._dtype(self._src_signal[self.t])
        return None

    def step(self):
        if not self._is_setup:
            self.setup()
        if self.t >= self.Nt:
            return self
        if self._fused:
            self._step_fused()
        else:
            self._step_xp()
        self.t += 1
        return self

    def _step_fused(self):
        """CPU: 10 real FFTs (FFTW or scipy.fft) and 7 fused Numba passes, nothing allocated.

        Order: ``P = F[p]``; one pass forms every axis's gradient spectrum; then per axis ``a``: inverse FFT to the
        gradient, velocity update, ``F[u_a]``, divergence operator in place, inverse FFT, density update (the last
        axis's pass also evaluates the equation of state). Each axis's velocity only needs the old pressure and its
        density only its own velocity, so this order gives the same numbers as k-wave-python's (all velocities, then
        all densities) while each field is reused soon after it is written.
        """
        from tfus.pipeline.engines.kwave import fused

        v = self._views
        ndim = self.ndim
        self._fft.rfftn(self.p, out=self._P)
        f = self.grad_factors + [self._f_one] * (3 - ndim)
        fused.gradients(v["P"], v["kappa"], *f, *v["specs"], ndim)
        s = self._source_value()
        source = v["source"] if s is not None else self._f_empty
        s = self._dtype(0 if s is None else s)
        simple = self.tau is None or self._f_stokes
        for i in range(ndim):
            spec = self._specs[i]
            self._fft.irfftn(spec, out=self._work)
            fused.velocity(v["u"][i], v["work"], self._f_dt_over_rho0[i], *self._f_pml_sg[i])
            self._fft.rfftn(self.u[i], out=spec)
            fused.divergence(v["spec3"][i], v["kappa"], self.div_factors[i], i)
            self._fft.irfftn(spec, out=self._work)
            if i < ndim - 1:
                fused.density(v["rho"][i], v["work"], self._f_dt_rho0, *self._f_pml[i], v["div"], i == 0, source, s)
            else:
                fused.density_state(v["rho"][i], v["work"], self._f_dt_rho0, *self._f_pml[i], v["div"], i == 0,
                                    source, s, v["p"], *v["rho_other"], self._f_c0_sq, self._f_tau_rho0,
                                    self._f_empty if simple else v["rho_total"])
        if not simple:  # power-law absorption and dispersion: fractional Laplacians by FFT
            self._equation_of_state_xp(self._rho)

    def _step_xp(self):
        """Array-API path (CuPy on GPU, or NumPy without Numba): the same updates as whole-array operations."""
        xp = self.xp
        P = self._fft.rfftn(self.p, out=self._P)
        P *= self.kappa_half
        spec = self._spec
        for i in range(self.ndim):
            xp.multiply(P, self._factor(self.grad_factors, i), out=spec)
            grad = self._fft.irfftn(spec, out=self._work)
            grad *= self.dt_over_rho0[i]
            u = self.u[i]
            pml = self.pml_sg_list[i]
            for sl in self._slabs[i]:
                u[sl] *= pml[sl]
            u -= grad
            for sl in self._slabs[i]:
                u[sl] *= pml[sl]
        need_div = self.tau is not None
        if need_div:
            self._div.fill(0)
        for i in range(self.ndim):
            spec = self._fft.rfftn(self.u[i], out=spec)
            spec *= self.kappa_half
            spec *= self._factor(self.div_factors, i)
            div = self._fft.irfftn(spec, out=self._work)
            if need_div:
                self._div += div
            div *= self.dt_rho0
            rho = self.rho_split[i]
            pml = self.pml_list[i]
            for sl in self._slabs[i]:
                rho[sl] *= pml[sl]
            rho -= div
            for sl in self._slabs[i]:
                rho[sl] *= pml[sl]
        s = self._source_value()
        if s is not None:
            src = self._src_dense * s
            for i in range(self.ndim):
                self.rho_split[i] += src
        rho = self._rho
        rho[...] = self.rho_split[0]
        for r in self.rho_split[1:]:
            rho += r
        if self.tau is None:
            xp.multiply(self.c0_sq, rho, out=self.p)
        else:
            self._equation_of_state_xp(rho)

    def _factor(self, factors, axis):
        """The 1D factor of ``axis`` shaped to broadcast over the half spectrum."""
        shape = [1] * self.ndim
        shape[axis] = -1
        return factors[axis].reshape(shape)

    def _equation_of_state_xp(self, rho):
        absorb = self.rho0 * self._div
        if self.nabla1_half is not None:
            absorb = self._diff_half(absorb, self.nabla1_half)
        absorb *= self.tau
        if self.eta is not None:
            disp = self._diff_half(rho, self.nabla2_half)
            disp *= self.eta
            absorb -= disp
        absorb += rho
        self.xp.multiply(self.c0_sq, absorb, out=self.p)


def build_simulation(kgrid, medium, *, pml_size, pml_alpha, device: str = "cpu", dtype=np.float32,
                     fft: str | None = None):
    """Construct a :class:`FastSimulation` (subclass of k-wave-python's ``Simulation``) for a kWaveGrid with its
    time axis set and a kWaveMedium; the source is added later with :meth:`FastSimulation.set_source`. ``fft``
    forces the CPU FFT backend (``fftw`` or ``scipy``; default: ``TFUS_FFT``, else the fastest available)."""
    sensor = SimpleNamespace(mask=None, record=("p_final",), record_start_index=None)
    source = SimpleNamespace(p0=0)
    sim = FastSimulation(kgrid, medium, source, sensor, device=device, pml_size=pml_size, pml_alpha=pml_alpha,
                         quiet=True, dtype=dtype)
    sim.fft_request = fft
    return sim
