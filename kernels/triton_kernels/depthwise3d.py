"""Triton depthwise 3D convolution (stride 1, zero "same" padding, odd kernels), forward and backward, registered as
the custom ops ``torch.ops.tfus.depthwise_conv3d`` (+ ``_grad_input``, ``_grad_weight``) with fake implementations and
autograd, so it trains and compiles under ``torch.compile``.

Design: each program owns one (batch, channel block, BLOCK_D x BLOCK_H x BLOCK_W voxel tile) and sums the
``kd kh kw`` shifted, masked loads of its tile times the channel's weight in fp32 (taps are unrolled with compile-time
offsets; neighbouring taps re-hit L1/L2, so the input is read from memory about once). Strides are passed, so any
layout works without copies; with channels innermost (``channels_last_3d``) the tile is (voxels x channels) with
channels fastest, so loads stay coalesced. ``grad_x`` is the same kernel with the flipped filter. ``grad_w`` gives each
(tap, group of tiles stacked along depth) its own program, taps adjacent in the launch order so the programs of one
group share its tiles in L2; each reduces ``grad_out * shifted x`` into one fp32 partial sum per channel, summed
afterwards (deterministic, no atomics); the tap-0 programs also sum ``grad_out`` for ``grad_bias``.

Example:
    >>> import torch
    >>> x, w = torch.randn(1, 4, 8, 8, 8, device="cuda"), torch.randn(4, 1, 3, 3, 3, device="cuda")  # doctest: +SKIP
    >>> torch.ops.tfus.depthwise_conv3d(x, w, None).shape  # doctest: +SKIP
    torch.Size([1, 4, 8, 8, 8])
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from tfus.kernels.triton_kernels._common import empty_like_layout, interpreting, next_pow2
from tfus.kernels.triton_kernels._masks import shifted_mask as _shifted_mask

__all__ = ["depthwise_conv3d_triton"]

_TARGET_PROGRAMS = 8192  # weight-gradient programs (all taps): fill an H100's 132 SMs many times over
_INTERPRETER_VOXELS = 1 << 14  # the interpreter pays per operation, not per element: big tiles (tests shrink it)


@triton.jit
def _tile(pid_t, pid_bc, C, n_h_tiles, n_w_tiles, n_c_blocks,
          BLOCK_D: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr, BLOCK_C: tl.constexpr,
          C_INNER: tl.constexpr):
    """Batch index, broadcastable (d, h, w, channel) index tiles and the channel mask of one program."""
    b = pid_bc // n_c_blocks
    c0 = (pid_bc % n_c_blocks) * BLOCK_C
    w0 = (pid_t % n_w_tiles) * BLOCK_W
    h0 = ((pid_t // n_w_tiles) % n_h_tiles) * BLOCK_H
    d0 = (pid_t // (n_w_tiles * n_h_tiles)) * BLOCK_D
    v = tl.arange(0, BLOCK_D * BLOCK_H * BLOCK_W)
    cc = c0 + tl.arange(0, BLOCK_C)
    if C_INNER:  # (voxels, channels): channels fastest, matching a channels-innermost layout
        v = v[:, None]
        cc = cc[None, :]
    else:  # (channels, voxels): W fastest, matching the contiguous layout
        v = v[None, :]
        cc = cc[:, None]
    w = w0 + v % BLOCK_W
    h = h0 + (v // BLOCK_W) % BLOCK_H
    d = d0 + v // (BLOCK_W * BLOCK_H)
    return b, d, h, w, cc, cc < C



@triton.jit
def _dw3d_fwd_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr,
    C, D, H, W, n_h_tiles, n_w_tiles, n_c_blocks,
    sxb, sxc, sxd, sxh, sxw,
    sob, soc, sod, soh, sow,
    KD: tl.constexpr, KH: tl.constexpr, KW: tl.constexpr, HAS_BIAS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr, BLOCK_C: tl.constexpr,
    C_INNER: tl.constexpr,
):
    b, d, h, w, cc, cmask = _tile(tl.program_id(0), tl.program_id(1), C, n_h_tiles, n_w_tiles, n_c_blocks,
                                  BLOCK_D, BLOCK_H, BLOCK_W, BLOCK_C, C_INNER)
    out_mask = (d < D) & (h < H) & (w < W) & cmask
    # int64 for the (batch, channel, depth) part of the offsets: no int32 overflow on big volumes
    x_tile = x_ptr + (b.to(tl.int64) * sxb + cc.to(tl.int64) * sxc + d.to(tl.int64) * sxd + h * sxh + w * sxw)
    w_base = w_ptr + cc * (KD * KH * KW)
    acc = tl.zeros(out_mask.shape, dtype=tl.float32)
    for kd in tl.static_range(KD):
        m_d = _shifted_mask(out_mask, d, D, kd - KD // 2)
        p_d = x_tile + (kd - KD // 2) * sxd
        for kh in tl.static_range(KH):
            m_h = _shifted_mask(m_d, h, H, kh - KH // 2)
            p_h = p_d + (kh - KH // 2) * sxh
            for kw in tl.static_range(KW):
                m = _shifted_mask(m_h, w, W, kw - KW // 2)
                xv = tl.load(p_h + (kw - KW // 2) * sxw, mask=m, other=0.0)
                wt = tl.load(w_base + ((kd * KH + kh) * KW + kw), mask=cmask, other=0.0)
                acc += xv.to(tl.float32) * wt.to(tl.float32)
    if HAS_BIAS:
        acc += tl.load(b_ptr + cc, mask=cmask, other=0.0).to(tl.float32)
    o_tile = out_ptr + (b.to(tl.int64) * sob + cc.to(tl.int64) * soc + d.to(tl.int64) * sod + h * soh + w * sow)
    tl.store(o_tile, acc.to(out_ptr.dtype.element_ty), mask=out_mask)


@triton.jit
def _dw3d_wgrad_kernel(
    x_ptr, g_ptr, pw_ptr, pb_ptr,
    C, D, H, W, n_h_tiles, n_w_tiles, n_c_blocks, TILES_PER,
    sxb, sxc, sxd, sxh, sxw,
    sgb, sgc, sgd, sgh, sgw,
    KD: tl.constexpr, KH: tl.constexpr, KW: tl.constexpr, HAS_BIAS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr, BLOCK_C: tl.constexpr,
    C_INNER: tl.constexpr,
):
    """Partial ``dW[c, tap] = sum grad[c, v] x[c, v + offset(tap)]`` over TILES_PER tiles stacked along depth.

    Grid: (tap, tile group, batch x channel block); the tap varies fastest, so the programs of one tile group run
    together and share its ``x`` and ``grad`` tiles in L2 (memory is read about once); one accumulator per program.
    """
    tap = tl.program_id(0)
    pid_t = tl.program_id(1)
    pid_bc = tl.program_id(2)
    od = tap // (KH * KW) - KD // 2
    oh = (tap // KW) % KH - KH // 2
    ow = tap % KW - KW // 2
    n_hw = n_h_tiles * n_w_tiles
    first = (pid_t // n_hw) * (TILES_PER * n_hw) + pid_t % n_hw
    b, d, h, w, cc, cmask = _tile(first, pid_bc, C, n_h_tiles, n_w_tiles, n_c_blocks,
                                  BLOCK_D, BLOCK_H, BLOCK_W, BLOCK_C, C_INNER)
    row = (pid_bc // n_c_blocks) * tl.num_programs(1) + pid_t  # one row of partial sums per (batch, tile group)
    c1 = (pid_bc % n_c_blocks) * BLOCK_C + tl.arange(0, BLOCK_C)
    in_mask = (h < H) & (w < W) & cmask
    hh = h + oh
    ww = w + ow
    m_hw = in_mask & (hh >= 0) & (hh < H) & (ww >= 0) & (ww < W)
    g_j = g_ptr + (b.to(tl.int64) * sgb + cc.to(tl.int64) * sgc + d.to(tl.int64) * sgd + h * sgh + w * sgw)
    x_j = x_ptr + (b.to(tl.int64) * sxb + cc.to(tl.int64) * sxc + d.to(tl.int64) * sxd + h * sxh + w * sxw
                   + (od * sxd + oh * sxh + ow * sxw))
    dj = d
    acc = tl.zeros(in_mask.shape, dtype=tl.float32)
    bacc = tl.zeros(in_mask.shape, dtype=tl.float32)
    for _ in range(TILES_PER):  # int64 pointers stepped one depth tile at a time
        gv = tl.load(g_j, mask=in_mask & (dj < D), other=0.0).to(tl.float32)
        dd = dj + od
        xv = tl.load(x_j, mask=m_hw & (dj < D) & (dd >= 0) & (dd < D), other=0.0)
        acc += gv * xv.to(tl.float32)
        if HAS_BIAS:
            bacc += gv
        g_j += BLOCK_D * sgd
        x_j += BLOCK_D * sxd
        dj += BLOCK_D
    if C_INNER:
        part = tl.sum(acc, axis=0)
    else:
        part = tl.sum(acc, axis=1)
    tl.store(pw_ptr + (row * (KD * KH * KW) + tap) * C + c1, part, mask=c1 < C)
    if HAS_BIAS:
        if tap == 0:
            if C_INNER:
                bpart = tl.sum(bacc, axis=0)
            else:
                bpart = tl.sum(bacc, axis=1)
            tl.store(pb_ptr + row * C + c1, bpart, mask=c1 < C)


def _tiling(x: torch.Tensor) -> dict[str, int | bool]:
    """Tile shape for ``x`` (B, C, D, H, W): ~1024 (voxel, channel) pairs per program; W fastest (64 wide) for the
    contiguous layout, up to 32 channels fastest for a channels-innermost layout. The interpreter takes whole small
    volumes in one tile (it pays per operation, not per element)."""
    _, chans, depth, height, width = x.shape
    c_inner = x.stride(1) == 1 and chans > 1
    block_c = min(32, next_pow2(chans)) if c_inner else 1
    voxels = max(1, (_INTERPRETER_VOXELS if interpreting() else 1024) // block_c)
    block_w = min(next_pow2(width), voxels if interpreting() else (16 if c_inner else 64))
    block_h = min(next_pow2(height), max(1, voxels // block_w))
    block_d = min(next_pow2(depth), max(1, voxels // (block_w * block_h)))
    return {"BLOCK_D": block_d, "BLOCK_H": block_h, "BLOCK_W": block_w, "BLOCK_C": block_c, "C_INNER": c_inner}


def _tile_counts(x: torch.Tensor, tiles: dict[str, int | bool]) -> tuple[int, int, int, int]:
    """Tiles along D, H, W and channel blocks."""
    _, chans, depth, height, width = x.shape
    return (triton.cdiv(depth, tiles["BLOCK_D"]), triton.cdiv(height, tiles["BLOCK_H"]),
            triton.cdiv(width, tiles["BLOCK_W"]), triton.cdiv(chans, tiles["BLOCK_C"]))


def _launch_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    bsz, chans, depth, height, width = x.shape
    kd, kh, kw = weight.shape[2:]
    out = empty_like_layout(x, x.shape)
    if x.numel() == 0:
        return out
    tiles = _tiling(x)
    n_d, n_h, n_w, n_c = _tile_counts(x, tiles)
    w_flat = weight.reshape(chans, kd * kh * kw).contiguous()
    _dw3d_fwd_kernel[(n_d * n_h * n_w, bsz * n_c)](
        x, w_flat, w_flat if bias is None else bias, out,
        chans, depth, height, width, n_h, n_w, n_c,
        *x.stride(), *out.stride(),
        KD=kd, KH=kh, KW=kw, HAS_BIAS=bias is not None, **tiles,
    )
    return out


def _launch_grad_weight(grad: torch.Tensor, x: torch.Tensor, ksize: tuple[int, int, int],
                        need_bias: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """fp32 ``(taps, C)`` weight gradient and ``(C,)`` bias gradient (split-K partial sums, then ``sum``)."""
    bsz, chans, depth, height, width = x.shape
    kd, kh, kw = ksize
    taps = kd * kh * kw
    if x.numel() == 0:
        return x.new_zeros((taps, chans), dtype=torch.float32), x.new_zeros(chans, dtype=torch.float32)
    tiles = _tiling(x)
    n_d, n_h, n_w, n_c = _tile_counts(x, tiles)
    groups = max(1, min(n_d, triton.cdiv(_TARGET_PROGRAMS, taps * bsz * n_h * n_w * n_c)))  # depth groups per column
    tiles_per = triton.cdiv(n_d, groups)
    n_prog = triton.cdiv(n_d, tiles_per) * n_h * n_w
    part_w = torch.empty((bsz * n_prog, taps, chans), dtype=torch.float32, device=x.device)
    part_b = torch.empty((bsz * n_prog, chans) if need_bias else (1,), dtype=torch.float32, device=x.device)
    _dw3d_wgrad_kernel[(taps, n_prog, bsz * n_c)](
        x, grad, part_w, part_b,
        chans, depth, height, width, n_h, n_w, n_c, tiles_per,
        *x.stride(), *grad.stride(),
        KD=kd, KH=kh, KW=kw, HAS_BIAS=need_bias, **tiles,
    )
    return part_w.sum(0), (part_b.sum(0) if need_bias else part_b)


@torch.library.custom_op("tfus::depthwise_conv3d", mutates_args=(),
                         schema="(Tensor x, Tensor weight, Tensor? bias) -> Tensor")
def _depthwise_op(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return _launch_forward(x, weight, bias)


@_depthwise_op.register_fake
def _(x, weight, bias):
    return empty_like_layout(x, x.shape)


@torch.library.custom_op("tfus::depthwise_conv3d_grad_input", mutates_args=(),
                         schema="(Tensor grad, Tensor weight) -> Tensor")
def _grad_input_op(grad: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    # adjoint of a zero-padded odd "same" correlation = the same correlation with the flipped filter
    return _launch_forward(grad, weight.flip(2, 3, 4), None)


@_grad_input_op.register_fake
def _(grad, weight):
    return empty_like_layout(grad, grad.shape)


@torch.library.custom_op("tfus::depthwise_conv3d_grad_weight", mutates_args=(),
                         schema="(Tensor grad, Tensor x, Tensor weight, bool need_bias) -> (Tensor, Tensor)")
def _grad_weight_op(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                    need_bias: bool) -> tuple[torch.Tensor, torch.Tensor]:
    gw, gb = _launch_grad_weight(grad, x, tuple(weight.shape[2:]), need_bias)
    gw = gw.t().reshape(weight.shape).to(weight.dtype)
    return gw, (gb if need_bias else gb.new_empty(0))  # grad_bias stays fp32; backward casts to the bias dtype


@_grad_weight_op.register_fake
def _(grad, x, weight, need_bias):
    gb = weight.new_empty((weight.shape[0],) if need_bias else (0,), dtype=torch.float32)
    return torch.empty_like(weight, memory_format=torch.contiguous_format), gb


def _setup_context(ctx, inputs, output) -> None:
    x, weight, bias = inputs
    ctx.save_for_backward(x, weight)
    ctx.bias_dtype = None if bias is None else bias.dtype


def _backward(ctx, grad):
    x, weight = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad
    grad_x = grad_w = grad_b = None
    if need_x:
        grad_x = torch.ops.tfus.depthwise_conv3d_grad_input(grad, weight)
    if need_w or need_b:
        gw, gb = torch.ops.tfus.depthwise_conv3d_grad_weight(grad, x, weight, bool(need_b))
        grad_w = gw if need_w else None
        grad_b = gb.to(ctx.bias_dtype) if need_b else None
    return grad_x, grad_w, grad_b


_depthwise_op.register_autograd(_backward, setup_context=_setup_context)


def depthwise_conv3d_triton(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Depthwise 3D conv through the Triton custom op (inputs already checked by :func:`tfus.kernels.depthwise_conv3d`).

    Args:
        x: ``(B, C, D, H, W)``, fp32/bf16/fp16, any strides.
        weight: ``(C, 1, kd, kh, kw)``, odd sizes.
        bias: ``(C,)`` or None.

    Returns:
        ``(B, C, D, H, W)`` in ``x``'s dtype and memory layout.
    """
    return torch.ops.tfus.depthwise_conv3d(x, weight, bias)
