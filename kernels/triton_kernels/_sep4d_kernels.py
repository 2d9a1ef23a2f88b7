"""Triton kernels of the separable 4D convolution (see :mod:`tfus.kernels.triton_kernels.sep4d` for the custom ops).

The three branches are one sparse 4D stencil of ``ky kx + (kz - 1) + (kt - 1)`` taps (the three centre taps read the
same voxel; their weights are summed once when packing into ``(taps, Cin, Cout)``), and ONE fused kernel computes it:
each program owns ``BLOCK_V`` voxels (flattened over B, T, Z, Y, X) x ``BLOCK_O`` output channels and, for every tap,
adds ``x[shifted voxels, Cin] @ W[tap, Cin, Cout]`` into an fp32 accumulator: ``tl.dot`` over input-channel blocks
when both channel counts are >= 16 (tensor cores for bf16/fp16, TF32 for fp32 where cuDNN uses it; a runtime tap loop
over an offset table, which compiles fast and pipelines), an outer-product FMA loop over input channels otherwise (taps
unrolled with compile-time offsets). The input is read once from memory (the taps re-hit L1/L2), the output written
once. z, y, x pad with zeros (masks); time wraps (index mod T, any T). Strides are passed, so any memory layout works
without copies.

The weight gradient is a per-tap split-K GEMM: one program per (tap, chunk of voxels, (Cin, Cout) block), taps adjacent
in the launch order so the programs of one chunk share its tiles in L2; each reduces ``x[shifted]^T @ grad_out`` into
fp32 partials that are summed afterwards (deterministic, no atomics); the tap-0 programs also sum ``grad_out`` for the
bias gradient.

Example:
    >>> import torch
    >>> from tfus.kernels.triton_kernels.sep4d import pack_weights
    >>> x = torch.randn(1, 4, 3, 2, 8, 8, device="cuda")  # doctest: +SKIP
    >>> packed, ksize = pack_weights(torch.randn(5, 4, 3, 3, device="cuda"), None, None, x.dtype)  # doctest: +SKIP
    >>> apply_packed(x, packed, ksize, None).shape  # doctest: +SKIP
    torch.Size([1, 5, 3, 2, 8, 8])
"""

from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl

from tfus.kernels.triton_kernels._common import dot_precision, empty_like_layout, interpreting, next_pow2
from tfus.kernels.triton_kernels._masks import shifted_mask as _shifted_mask

__all__ = ["DOT_MIN_CHANNELS", "apply_packed", "grad_packed", "tap_offsets"]

DOT_MIN_CHANNELS = 16
"""Channel count (both Cin and Cout) from which the kernels use ``tl.dot``; below it, FMA loops (tl.dot needs >= 16)."""
_TARGET_PROGRAMS = 1056  # weight-gradient programs: 8 per SM on an H100
_MAX_BLOCK_I, _MAX_BLOCK_O = 32, 64  # channel blocks of the dot path (the FMA path takes half of _MAX_BLOCK_O)
_INTERPRETER_BLOCK_V = 4096  # the interpreter pays per operation, not per element: big voxel blocks (tests shrink it)
_PARTIAL_BYTES = 1 << 26  # cap on the weight-gradient partial sums



@triton.jit
def _voxels(v, T, Z, Y, X):
    """(b, t, z, y, x) of flat voxel indices ``v`` (row-major over B, T, Z, Y, X)."""
    xx = v % X
    r = v // X
    yy = r % Y
    r = r // Y
    zz = r % Z
    r = r // Z
    return r // T, r % T, zz, yy, xx


@triton.jit
def _offsets(bb, tt, zz, yy, xx, sb, st, sz, sy, sx):
    return (bb.to(tl.int64) * sb + tt.to(tl.int64) * st + zz.to(tl.int64) * sz + yy.to(tl.int64) * sy
            + xx.to(tl.int64) * sx)


@triton.jit
def _tap_source(base, vmask, tt, zz, yy, xx, T, Z, Y, X, st, sz, sy, sx,
                DT: tl.constexpr, DZ: tl.constexpr, DY: tl.constexpr, DX: tl.constexpr):
    """Offsets and mask of the voxels ``(t + DT mod T, z + DZ, y + DY, x + DX)`` (zero padding in z, y, x)."""
    m = _shifted_mask(_shifted_mask(_shifted_mask(vmask, zz, Z, DZ), yy, Y, DY), xx, X, DX)
    src = base + (DZ * sz + DY * sy + DX * sx)
    if DT != 0:
        shift = (DT % T + T) % T  # in [0, T) under both C and floor modulo; T may be smaller than |DT|
        t2 = tt + shift
        t2 = tl.where(t2 >= T, t2 - T, t2)
        src += (t2 - tt).to(tl.int64) * st
    return src, m


@triton.jit
def _mix_channels(acc, x_tap, m, w_tap, o, omask, CIN, COUT, sxc,
                  USE_DOT: tl.constexpr, DOT_F32: tl.constexpr, PREC: tl.constexpr, BLOCK_I: tl.constexpr):
    """``acc[v, o] += sum_i x_tap[v] (channel i) W_tap[i, o]``: tl.dot over channel blocks, or an FMA loop."""
    if USE_DOT:
        ii = tl.arange(0, BLOCK_I)
        for i0 in range(0, CIN, BLOCK_I):
            i = i0 + ii
            imask = i < CIN
            xt = tl.load(x_tap[:, None] + i[None, :].to(tl.int64) * sxc, mask=m[:, None] & imask[None, :], other=0.0)
            wt = tl.load(w_tap + (i[:, None] * COUT + o[None, :]), mask=imask[:, None] & omask[None, :], other=0.0)
            if DOT_F32:  # fp32 operands (the interpreter's bf16 dot is wrong)
                xt = xt.to(tl.float32)
                wt = wt.to(tl.float32)
            acc = tl.dot(xt, wt, acc, input_precision=PREC)
    else:
        xp = x_tap
        wp = w_tap + o
        for _ in range(CIN):
            xv = tl.load(xp, mask=m, other=0.0).to(tl.float32)
            wv = tl.load(wp, mask=omask, other=0.0).to(tl.float32)
            acc += xv[:, None] * wv[None, :]
            xp += sxc
            wp += COUT
    return acc


@triton.jit
def _static_tap(acc, x_ptr, w_ptr, base, vmask, tt, zz, yy, xx, T, Z, Y, X, sxc, sxt, sxz, sxy, sxx, o, omask, CIN,
                COUT, TAP: tl.constexpr, DT: tl.constexpr, DZ: tl.constexpr, DY: tl.constexpr, DX: tl.constexpr,
                USE_DOT: tl.constexpr, DOT_F32: tl.constexpr, PREC: tl.constexpr, BLOCK_I: tl.constexpr):
    """One tap with compile-time offsets (only the masks it needs)."""
    src, m = _tap_source(base, vmask, tt, zz, yy, xx, T, Z, Y, X, sxt, sxz, sxy, sxx, DT, DZ, DY, DX)
    return _mix_channels(acc, x_ptr + src, m, w_ptr + TAP * CIN * COUT, o, omask, CIN, COUT, sxc,
                         USE_DOT, DOT_F32, PREC, BLOCK_I)


@triton.jit
def _sep4d_fwd_kernel(
    x_ptr, w_ptr, off_ptr, b_ptr, out_ptr,
    N, T, Z, Y, X, CIN, COUT,
    sxb, sxc, sxt, sxz, sxy, sxx,
    sob, soc, sot, soz, soy, sox,
    KY: tl.constexpr, KX: tl.constexpr, KZ: tl.constexpr, KT: tl.constexpr, HAS_BIAS: tl.constexpr,
    USE_DOT: tl.constexpr, DOT_F32: tl.constexpr, PREC: tl.constexpr,
    BLOCK_V: tl.constexpr, BLOCK_I: tl.constexpr, BLOCK_O: tl.constexpr,
):
    v = tl.program_id(0) * BLOCK_V + tl.arange(0, BLOCK_V)
    vmask = v < N
    bb, tt, zz, yy, xx = _voxels(v, T, Z, Y, X)
    o = tl.program_id(1) * BLOCK_O + tl.arange(0, BLOCK_O)
    omask = o < COUT
    acc = tl.zeros([BLOCK_V, BLOCK_O], dtype=tl.float32)
    if USE_DOT:
        # matmul-bound per tap: a runtime tap loop (offsets from the table) compiles fast and software-pipelines
        for tap in range(KY * KX + KZ - 1 + KT - 1):
            t2 = tt + tl.load(off_ptr + tap * 4)  # dt mod T, in [0, T)
            t2 = tl.where(t2 >= T, t2 - T, t2)
            z2 = zz + tl.load(off_ptr + tap * 4 + 1)
            y2 = yy + tl.load(off_ptr + tap * 4 + 2)
            x2 = xx + tl.load(off_ptr + tap * 4 + 3)
            m = vmask & (z2 >= 0) & (z2 < Z) & (y2 >= 0) & (y2 < Y) & (x2 >= 0) & (x2 < X)
            x_tap = x_ptr + _offsets(bb, t2, z2, y2, x2, sxb, sxt, sxz, sxy, sxx)
            acc = _mix_channels(acc, x_tap, m, w_ptr + tap * CIN * COUT, o, omask, CIN, COUT, sxc,
                                USE_DOT, DOT_F32, PREC, BLOCK_I)
    else:
        # few channels: unrolled taps with compile-time offsets keep the index arithmetic minimal
        base = _offsets(bb, tt, zz, yy, xx, sxb, sxt, sxz, sxy, sxx)
        for p in tl.static_range(KY):  # in-plane taps (the centre one carries the z and t centre weights too)
            for q in tl.static_range(KX):
                acc = _static_tap(acc, x_ptr, w_ptr, base, vmask, tt, zz, yy, xx, T, Z, Y, X, sxc, sxt, sxz, sxy,
                                  sxx, o, omask, CIN, COUT, p * KX + q, 0, 0, p - KY // 2, q - KX // 2,
                                  USE_DOT, DOT_F32, PREC, BLOCK_I)
        for r in tl.static_range(KZ):
            if r != KZ // 2:
                acc = _static_tap(acc, x_ptr, w_ptr, base, vmask, tt, zz, yy, xx, T, Z, Y, X, sxc, sxt, sxz, sxy,
                                  sxx, o, omask, CIN, COUT, KY * KX + r - r // (KZ // 2 + 1), 0, r - KZ // 2, 0, 0,
                                  USE_DOT, DOT_F32, PREC, BLOCK_I)
        for s in tl.static_range(KT):
            if s != KT // 2:
                acc = _static_tap(acc, x_ptr, w_ptr, base, vmask, tt, zz, yy, xx, T, Z, Y, X, sxc, sxt, sxz, sxy,
                                  sxx, o, omask, CIN, COUT, KY * KX + KZ - 1 + s - s // (KT // 2 + 1),
                                  s - KT // 2, 0, 0, 0, USE_DOT, DOT_F32, PREC, BLOCK_I)
    if HAS_BIAS:
        acc += tl.load(b_ptr + o, mask=omask, other=0.0).to(tl.float32)[None, :]
    dst = _offsets(bb, tt, zz, yy, xx, sob, sot, soz, soy, sox)[:, None] + o[None, :].to(tl.int64) * soc
    tl.store(out_ptr + dst, acc.to(out_ptr.dtype.element_ty), mask=vmask[:, None] & omask[None, :])


@triton.jit
def _sep4d_wgrad_kernel(
    x_ptr, g_ptr, off_ptr, pw_ptr, pb_ptr,
    N, T, Z, Y, X, CIN, COUT, V_PER, n_o_blocks,
    sxb, sxc, sxt, sxz, sxy, sxx,
    sgb, sgc, sgt, sgz, sgy, sgx,
    HAS_BIAS: tl.constexpr, USE_DOT: tl.constexpr, DOT_F32: tl.constexpr, PREC: tl.constexpr,
    BLOCK_V: tl.constexpr, BLOCK_I: tl.constexpr, BLOCK_O: tl.constexpr,
):
    """Partial ``dW[tap, i, o] = sum_v x[i, v + offset(tap)] grad[o, v]`` over one chunk of voxels.

    Grid: (tap, voxel chunk, (Cin, Cout) block); the tap varies fastest, so the programs of one chunk run together and
    share its ``x`` and ``grad`` tiles in L2. Tap offsets come from ``off_ptr`` (``dt mod T, dz, dy, dx`` per tap):
    one small loop body, quick to compile.
    """
    tap = tl.program_id(0)
    pid_v = tl.program_id(1)
    pid_i = tl.program_id(2) // n_o_blocks
    o = (tl.program_id(2) % n_o_blocks) * BLOCK_O + tl.arange(0, BLOCK_O)
    omask = o < COUT
    dt = tl.load(off_ptr + tap * 4)
    dz = tl.load(off_ptr + tap * 4 + 1)
    dy = tl.load(off_ptr + tap * 4 + 2)
    dx = tl.load(off_ptr + tap * 4 + 3)
    if USE_DOT:
        i = pid_i * BLOCK_I + tl.arange(0, BLOCK_I)
        imask = i < CIN
        acc = tl.zeros([BLOCK_I, BLOCK_O], dtype=tl.float32)
    else:  # one input channel per program
        i = pid_i
        acc = tl.zeros([BLOCK_V, BLOCK_O], dtype=tl.float32)
    v_start = pid_v * V_PER
    v_end = tl.minimum(v_start + V_PER, N)
    for v0 in range(v_start, v_end, BLOCK_V):
        v = v0 + tl.arange(0, BLOCK_V)
        vmask = v < v_end
        bb, tt, zz, yy, xx = _voxels(v, T, Z, Y, X)
        g_off = _offsets(bb, tt, zz, yy, xx, sgb, sgt, sgz, sgy, sgx)[:, None] + o[None, :].to(tl.int64) * sgc
        gt = tl.load(g_ptr + g_off, mask=vmask[:, None] & omask[None, :], other=0.0)
        t2 = tt + dt
        t2 = tl.where(t2 >= T, t2 - T, t2)  # dt in [0, T): circular time
        z2 = zz + dz
        y2 = yy + dy
        x2 = xx + dx
        m = vmask & (z2 >= 0) & (z2 < Z) & (y2 >= 0) & (y2 < Y) & (x2 >= 0) & (x2 < X)
        src = _offsets(bb, t2, z2, y2, x2, sxb, sxt, sxz, sxy, sxx)
        if USE_DOT:
            xt = tl.load(x_ptr + (src[None, :] + i[:, None].to(tl.int64) * sxc), mask=imask[:, None] & m[None, :],
                         other=0.0)
            if DOT_F32:
                xt = xt.to(tl.float32)
                gt = gt.to(tl.float32)
            acc = tl.dot(xt, gt, acc, input_precision=PREC)
        else:
            xv = tl.load(x_ptr + (src + i.to(tl.int64) * sxc), mask=m, other=0.0).to(tl.float32)
            acc += xv[:, None] * gt.to(tl.float32)
    dst = pw_ptr + (pid_v.to(tl.int64) * tl.num_programs(0) + tap) * CIN * COUT
    if USE_DOT:
        tl.store(dst + i[:, None] * COUT + o[None, :], acc, mask=imask[:, None] & omask[None, :])
    else:
        tl.store(dst + i * COUT + o, tl.sum(acc, axis=0), mask=omask)
    if HAS_BIAS:
        if (tap == 0) & (pid_i == 0):  # one program per (chunk, output block) also sums grad_out for the bias
            bacc = tl.zeros([BLOCK_V, BLOCK_O], dtype=tl.float32)
            for v0 in range(v_start, v_end, BLOCK_V):
                v = v0 + tl.arange(0, BLOCK_V)
                vmask = v < v_end
                bb, tt, zz, yy, xx = _voxels(v, T, Z, Y, X)
                g_off = _offsets(bb, tt, zz, yy, xx, sgb, sgt, sgz, sgy, sgx)[:, None] + o[None, :].to(tl.int64) * sgc
                bacc += tl.load(g_ptr + g_off, mask=vmask[:, None] & omask[None, :], other=0.0).to(tl.float32)
            tl.store(pb_ptr + pid_v * COUT + o, tl.sum(bacc, axis=0), mask=omask)


@functools.lru_cache(maxsize=64)
def tap_offsets(ksize: tuple[int, int, int, int], nt: int, device: torch.device) -> torch.Tensor:
    """``(taps, 4)`` int32 table ``(dt mod T, dz, dy, dx)`` in the packing order of
    :func:`tfus.kernels.triton_kernels.sep4d.pack_weights` (in-plane, then non-centre z, then non-centre t taps).
    Cached per (kernel sizes, T, device): no host-to-device copy per call. Read-only."""
    ky, kx, kz, kt = ksize
    rows = [(0, 0, p - ky // 2, q - kx // 2) for p in range(ky) for q in range(kx)]
    rows += [(0, r - kz // 2, 0, 0) for r in range(kz) if r != kz // 2]
    rows += [((s - kt // 2) % nt, 0, 0, 0) for s in range(kt) if s != kt // 2]
    return torch.tensor(rows, dtype=torch.int32, device=device)


def _blocks(cin: int, cout: int, n_vox: int) -> dict[str, int | bool]:
    """Block sizes: 64 voxels x (<= 32 in) x (<= 64 out) channels per ``tl.dot``; 128 voxels x (<= 32 out) for FMA."""
    use_dot = min(cin, cout) >= DOT_MIN_CHANNELS
    block_i = min(_MAX_BLOCK_I, next_pow2(cin)) if use_dot else 1
    block_o = min(_MAX_BLOCK_O if use_dot else _MAX_BLOCK_O // 2, next_pow2(cout))
    block_v = min(_INTERPRETER_BLOCK_V, next_pow2(n_vox)) if interpreting() else (64 if use_dot else 128)
    return {"USE_DOT": use_dot, "BLOCK_V": max(block_v, 16), "BLOCK_I": block_i, "BLOCK_O": max(block_o, 1)}


def _dot_args(x: torch.Tensor) -> dict[str, bool | str]:
    return {"DOT_F32": x.dtype == torch.float32 or interpreting(), "PREC": dot_precision(x)}


def apply_packed(x: torch.Tensor, packed: torch.Tensor, ksize: tuple[int, int, int, int],
                 bias: torch.Tensor | None) -> torch.Tensor:
    """The fused stencil: ``x`` (B, Cin, T, Z, Y, X), packed weights (taps, Cin, Cout) -> (B, Cout, T, Z, Y, X)."""
    bsz, cin, nt, nz, ny, nx = x.shape
    cout = packed.shape[2]
    out = empty_like_layout(x, (bsz, cout, nt, nz, ny, nx))
    n_vox = bsz * nt * nz * ny * nx
    if out.numel() == 0:
        return out
    blocks = _blocks(cin, cout, n_vox)
    grid = (triton.cdiv(n_vox, blocks["BLOCK_V"]), triton.cdiv(cout, blocks["BLOCK_O"]))
    ky, kx, kz, kt = ksize
    offsets = tap_offsets(tuple(ksize), nt, x.device)
    _sep4d_fwd_kernel[grid](
        x, packed, offsets, packed if bias is None else bias, out,
        n_vox, nt, nz, ny, nx, cin, cout,
        *x.stride(), *out.stride(),
        KY=ky, KX=kx, KZ=kz, KT=kt, HAS_BIAS=bias is not None, **_dot_args(x), **blocks,
    )
    return out


def grad_packed(grad: torch.Tensor, x: torch.Tensor, ksize: tuple[int, int, int, int],
                need_bias: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """fp32 gradient of the packed weights ``(taps, Cin, Cout)`` and of the bias ``(Cout,)`` (split-K partials)."""
    bsz, cin, nt, nz, ny, nx = x.shape
    cout = grad.shape[1]
    offsets = tap_offsets(tuple(ksize), max(nt, 1), x.device)
    taps = offsets.shape[0]
    n_vox = bsz * nt * nz * ny * nx
    if n_vox == 0:
        return x.new_zeros((taps, cin, cout), dtype=torch.float32), x.new_zeros(cout, dtype=torch.float32)
    blocks = _blocks(cin, cout, n_vox)
    n_o = triton.cdiv(cout, blocks["BLOCK_O"])
    n_io = n_o * (triton.cdiv(cin, blocks["BLOCK_I"]) if blocks["USE_DOT"] else cin)
    n_vblocks = triton.cdiv(n_vox, blocks["BLOCK_V"])
    chunks = max(1, min(n_vblocks, triton.cdiv(_TARGET_PROGRAMS, taps * n_io),
                        _PARTIAL_BYTES // (4 * taps * cin * cout)))
    v_per = triton.cdiv(n_vblocks, chunks) * blocks["BLOCK_V"]
    chunks = triton.cdiv(n_vox, v_per)
    part_w = torch.empty((chunks, taps, cin, cout), dtype=torch.float32, device=x.device)
    part_b = torch.empty((chunks, cout) if need_bias else (1,), dtype=torch.float32, device=x.device)
    _sep4d_wgrad_kernel[(taps, chunks, n_io)](
        x, grad, offsets, part_w, part_b,
        n_vox, nt, nz, ny, nx, cin, cout, v_per, n_o,
        *x.stride(), *grad.stride(),
        HAS_BIAS=need_bias, **_dot_args(x), **blocks,
    )
    return part_w.sum(0), (part_b.sum(0) if need_bias else part_b)
