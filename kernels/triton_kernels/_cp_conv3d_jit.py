"""Triton kernels of the rank-R compressed 3D conv (implicit GEMM) and their launchers; the custom ops that call them
live in :mod:`tfus.kernels.triton_kernels.cp_conv3d`.

* ``_fwd_kernel``: one program = ``BLOCK_V`` output voxels x ``BLOCK_O`` output channels. For every tap ``(p, q, s)``
  and input-channel block it builds the tap's weight tile ``W[i, o] = sum_r a[p, r, i, o] b[q, r, i, o] c[s, r, i, o]``
  in registers from the (packed) factors, loads the shifted input tile with zero-padding masks and accumulates
  ``acc[v, o] += x[v, i] @ W[i, o]`` with ``tl.dot`` in fp32. The dense weight never reaches global memory. The same
  kernel gives ``grad_x`` (channels swapped, taps flipped: see :func:`flipped_factors`).
* ``_grad_w_kernel``: one program = one tap x ``BLOCK_O`` x ``BLOCK_I`` x one chunk of voxels:
  ``gW[o, i] += grad_out[o, v] @ x_shifted[v, i]`` over the chunk, written as a per-chunk partial (summed by the
  launcher, deterministic); the chunk's ``sum_v grad_out[o, v]`` (the bias gradient) rides along.

Voxels are flattened over (batch, depth, height, width), so one program may straddle two samples; strides are passed,
so contiguous and channels-last tensors both work. Set ``TRITON_INTERPRET=1`` before importing this to run on CPU.

Example:
    >>> import torch
    >>> x, f = torch.ones(1, 2, 3, 3, 3), torch.ones(1, 4, 2, 3)
    >>> fwd(x, f, f, f, None).shape  # doctest: +SKIP  (needs CUDA or TRITON_INTERPRET=1)
    torch.Size([1, 4, 3, 3, 3])
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from tfus.kernels.triton_kernels._common import dot_precision, empty_like_layout, interpreting, next_pow2

__all__ = ["flipped_factors", "fwd", "grad_weight"]


def _configs() -> list[triton.Config]:
    if interpreting():  # one config, which the autotuner just runs; few big programs (the interpreter pays per op)
        return [triton.Config({"BLOCK_V": 256}, num_warps=4, num_stages=1)]
    return [triton.Config({"BLOCK_V": v}, num_warps=w, num_stages=s)
            for v, w, s in ((64, 4, 3), (128, 4, 3), (128, 8, 3), (256, 8, 3), (128, 4, 4), (256, 8, 2))]


@triton.jit
def _bdhw(offs, D, H, W):
    """(b, d, h, w) of flat voxel indices (row-major over B, D, H, W)."""
    w_ = offs % W
    t = offs // W
    h_ = t % H
    t = t // H
    return t // D, t % D, h_, w_


@triton.autotune(configs=_configs(), key=["CIN", "COUT", "R", "KD", "KH", "KW"])
@triton.jit
def _fwd_kernel(x_ptr, a_ptr, b_ptr, c_ptr, bias_ptr, out_ptr,
                N, CIN, COUT, D, H, W,
                sxb, sxc, sxd, sxh, sxw, sob, soc, sod, soh, sow,
                R: tl.constexpr, KD: tl.constexpr, KH: tl.constexpr, KW: tl.constexpr, HAS_BIAS: tl.constexpr,
                PRECISION: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_I: tl.constexpr, BLOCK_V: tl.constexpr):
    offs_n = tl.program_id(0) * BLOCK_V + tl.arange(0, BLOCK_V)
    offs_o = tl.program_id(1) * BLOCK_O + tl.arange(0, BLOCK_O)
    n_ok = offs_n < N
    o_ok = offs_o < COUT
    b_, d_, h_, w_ = _bdhw(offs_n, D, H, W)
    x_base = b_.to(tl.int64) * sxb
    acc = tl.zeros((BLOCK_V, BLOCK_O), dtype=tl.float32)
    n_iblocks = tl.cdiv(CIN, BLOCK_I)
    for it in range(0, KD * KH * KW * n_iblocks):  # one flat loop (taps x input-channel blocks): Triton pipelines it
        tap = it // n_iblocks
        p = tap // (KH * KW)
        q = (tap // KW) % KH
        s = tap % KW
        dd = d_ + (p - KD // 2)
        hh = h_ + (q - KH // 2)
        ww = w_ + (s - KW // 2)
        v_ok = n_ok & (dd >= 0) & (dd < D) & (hh >= 0) & (hh < H) & (ww >= 0) & (ww < W)
        offs_i = (it % n_iblocks) * BLOCK_I + tl.arange(0, BLOCK_I)
        i_ok = offs_i < CIN
        f_mask = i_ok[:, None] & o_ok[None, :]
        f_off = offs_i[:, None] * COUT + offs_o[None, :]  # packed factors: (k, R, CIN, COUT)
        wt = tl.zeros((BLOCK_I, BLOCK_O), dtype=tl.float32)
        for r in tl.static_range(R):
            fa = tl.load(a_ptr + (p * R + r) * CIN * COUT + f_off, mask=f_mask, other=0.0).to(tl.float32)
            fb = tl.load(b_ptr + (q * R + r) * CIN * COUT + f_off, mask=f_mask, other=0.0).to(tl.float32)
            fc = tl.load(c_ptr + (s * R + r) * CIN * COUT + f_off, mask=f_mask, other=0.0).to(tl.float32)
            wt += fa * fb * fc
        x_off = x_base + (dd * sxd + hh * sxh + ww * sxw)
        xt = tl.load(x_ptr + x_off[:, None] + offs_i[None, :] * sxc, mask=v_ok[:, None] & i_ok[None, :], other=0.0)
        acc = tl.dot(xt, wt.to(xt.dtype), acc, input_precision=PRECISION)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + offs_o, mask=o_ok, other=0.0).to(tl.float32)[None, :]
    out_off = b_.to(tl.int64) * sob + (d_ * sod + h_ * soh + w_ * sow)
    tl.store(out_ptr + out_off[:, None] + offs_o[None, :] * soc, acc.to(out_ptr.dtype.element_ty),
             mask=n_ok[:, None] & o_ok[None, :])


@triton.autotune(configs=_configs(), key=["CIN", "COUT", "KD", "KH", "KW"])
@triton.jit
def _grad_w_kernel(g_ptr, x_ptr, gw_ptr, gb_ptr,
                   N, CIN, COUT, D, H, W, CHUNK,
                   sgb, sgc, sgd, sgh, sgw, sxb, sxc, sxd, sxh, sxw,
                   KD: tl.constexpr, KH: tl.constexpr, KW: tl.constexpr, HAS_BIAS: tl.constexpr,
                   PRECISION: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_I: tl.constexpr, BLOCK_V: tl.constexpr):
    tap = tl.program_id(0)
    n_iblocks = tl.cdiv(CIN, BLOCK_I)
    pid_o = tl.program_id(1) // n_iblocks
    pid_i = tl.program_id(1) % n_iblocks
    chunk = tl.program_id(2)
    p = tap // (KH * KW)
    q = (tap // KW) % KH
    s = tap % KW
    offs_o = pid_o * BLOCK_O + tl.arange(0, BLOCK_O)
    offs_i = pid_i * BLOCK_I + tl.arange(0, BLOCK_I)
    o_ok = offs_o < COUT
    i_ok = offs_i < CIN
    acc = tl.zeros((BLOCK_O, BLOCK_I), dtype=tl.float32)
    bacc = tl.zeros((BLOCK_O,), dtype=tl.float32)
    lo = chunk * CHUNK
    hi = tl.minimum(lo + CHUNK, N)
    for n0 in range(lo, hi, BLOCK_V):
        offs_n = n0 + tl.arange(0, BLOCK_V)
        n_ok = offs_n < hi
        b_, d_, h_, w_ = _bdhw(offs_n, D, H, W)
        g_off = b_.to(tl.int64) * sgb + (d_ * sgd + h_ * sgh + w_ * sgw)
        gt = tl.load(g_ptr + offs_o[:, None] * sgc + g_off[None, :], mask=o_ok[:, None] & n_ok[None, :], other=0.0)
        dd = d_ + (p - KD // 2)
        hh = h_ + (q - KH // 2)
        ww = w_ + (s - KW // 2)
        v_ok = n_ok & (dd >= 0) & (dd < D) & (hh >= 0) & (hh < H) & (ww >= 0) & (ww < W)
        x_off = b_.to(tl.int64) * sxb + (dd * sxd + hh * sxh + ww * sxw)
        xt = tl.load(x_ptr + x_off[:, None] + offs_i[None, :] * sxc, mask=v_ok[:, None] & i_ok[None, :], other=0.0)
        acc = tl.dot(gt, xt, acc, input_precision=PRECISION)
        if HAS_BIAS:
            bacc += tl.sum(gt.to(tl.float32), axis=1)
    taps = KD * KH * KW
    gw_off = ((chunk * taps + tap) * COUT + offs_o[:, None]).to(tl.int64) * CIN + offs_i[None, :]
    tl.store(gw_ptr + gw_off, acc, mask=o_ok[:, None] & i_ok[None, :])
    if HAS_BIAS:
        first = (offs_o * 0 + tap + pid_i) == 0  # one program per (chunk, o block) writes the bias partial
        tl.store(gb_ptr + chunk * COUT + offs_o, bacc, mask=o_ok & first)


def _channel_block(channels: int) -> int:
    return min(64, max(16, next_pow2(channels)))  # tl.dot needs >= 16 on a GPU


def _pack(f: torch.Tensor) -> torch.Tensor:
    """``(R, Cout, Cin, k)`` -> ``(k, R, Cin, Cout)`` contiguous (the tiles the kernel loads)."""
    return f.permute(3, 0, 2, 1).contiguous()


def flipped_factors(f: torch.Tensor) -> torch.Tensor:
    """Factors of the transposed conv (``grad_x``): channels swapped, taps reversed."""
    return f.transpose(1, 2).flip(-1)


def _guard(t: torch.Tensor):
    import contextlib

    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


def fwd(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The conv of ``x`` ``(B, Cin, D, H, W)`` with the CP weight of ``a, b, c`` (each ``(R, Cout, Cin, k)``) + bias."""
    bsz, cin, dep, hei, wid = x.shape
    rank, cout = a.shape[0], a.shape[1]
    out = empty_like_layout(x, (bsz, cout, dep, hei, wid))
    n = bsz * dep * hei * wid
    if n == 0 or cout == 0:
        return out
    block_o, block_i = _channel_block(cout), _channel_block(cin)
    pa, pb, pc = _pack(a), _pack(b), _pack(c)
    bias_arg = pa if bias is None else bias.contiguous()

    def grid(meta):
        return triton.cdiv(n, meta["BLOCK_V"]), triton.cdiv(cout, block_o)

    with _guard(x):
        _fwd_kernel[grid](x, pa, pb, pc, bias_arg, out, n, cin, cout, dep, hei, wid, *x.stride(), *out.stride(),
                          R=rank, KD=a.shape[3], KH=b.shape[3], KW=c.shape[3], HAS_BIAS=bias is not None,
                          PRECISION=dot_precision(x), BLOCK_O=block_o, BLOCK_I=block_i)
    return out


def _num_chunks(n: int, taps: int, device: torch.device) -> int:
    """Voxel chunks of the weight-gradient reduction: ~4 programs per SM (x channel blocks), >= 2048 voxels each."""
    sms = torch.cuda.get_device_properties(device).multi_processor_count if device.type == "cuda" else 4
    return max(1, min(triton.cdiv(n, 2048), triton.cdiv(4 * sms, taps)))


def grad_weight(grad_out: torch.Tensor, x: torch.Tensor, ksize: tuple[int, int, int], with_bias: bool,
                chunks: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``gW[o, i, p, q, s] = sum_v grad_out[o, v] x[i, v + (p, q, s) - k // 2]`` (fp32) and ``sum_v grad_out[o, v]``
    (fp32, empty without bias), reduced over batch and voxels in ``chunks`` partials (0: chosen for the device)."""
    bsz, cin, dep, hei, wid = x.shape
    cout = grad_out.shape[1]
    kd, kh, kw = (int(k) for k in ksize)
    taps = kd * kh * kw
    n = bsz * dep * hei * wid
    chunks = max(1, min(int(chunks) or _num_chunks(n, taps, x.device), max(n, 1)))
    chunk = triton.cdiv(max(n, 1), chunks)
    partial = torch.empty((chunks, taps, cout, cin), dtype=torch.float32, device=x.device)
    gbias = torch.empty((chunks, cout) if with_bias else (0,), dtype=torch.float32, device=x.device)
    if n == 0 or cin == 0 or cout == 0:
        gbias = torch.zeros((cout,) if with_bias else (0,), dtype=torch.float32, device=x.device)
        return torch.zeros((cout, cin, kd, kh, kw), dtype=torch.float32, device=x.device), gbias
    grad_out = grad_out.to(x.dtype)
    block_o, block_i = _channel_block(cout), _channel_block(cin)
    grid = (taps, triton.cdiv(cout, block_o) * triton.cdiv(cin, block_i), chunks)
    gb_arg = gbias if with_bias else partial  # unused without bias (never hand Triton an empty tensor)
    with _guard(x):
        _grad_w_kernel[grid](grad_out, x, partial, gb_arg, n, cin, cout, dep, hei, wid, chunk, *grad_out.stride(),
                             *x.stride(), KD=kd, KH=kh, KW=kw, HAS_BIAS=with_bias, PRECISION=dot_precision(x),
                             BLOCK_O=block_o, BLOCK_I=block_i)
    gw = partial.sum(0).permute(1, 2, 0).reshape(cout, cin, kd, kh, kw).contiguous()  # the fake's layout
    return gw, (gbias.sum(0) if with_bias else gbias)
