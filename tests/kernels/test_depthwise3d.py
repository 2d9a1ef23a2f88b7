"""Triton depthwise 3D conv (through the interpreter on CPU) against the PyTorch reference: forward, gradients wrt x,
weight and bias, odd shapes, memory layouts, bf16, dispatch and torch.compile.

Tolerances: an fp32 result is compared against the largest sum of |terms| (the operator applied to absolute values:
the scale fp32 rounding is bounded by, which stays meaningful where a result cancels to near zero, e.g. a bias
gradient) with ``FP32_TOL = 1e-5``: both sides accumulate in fp32 and differ only in summation order, so for the
<= ~250-term sums here the difference is ~ sqrt(n) 2^-24 ~ 1e-6 of that scale (worst case n 2^-24 ~ 1.5e-5, which
random signs never line up), while a wrong or missing tap gives errors of order 1e-1. Half precision forward:
``eps sqrt(taps)`` of the largest output (eps = 2^-8 for bf16, 2^-11 for fp16; random-walk growth over the taps).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tfus.kernels import depthwise_conv3d
from tfus.kernels.reference import depthwise_conv3d_reference

FP32_TOL = 1e-5
BF16_EPS = 2.0**-8
GPU_FP32_TOL = 5e-5  # weight gradients sum ~1e5 voxels on the GPU test: fp32 rounding ~ 2^-24 sqrt(n) grows to ~2e-5

# (shape B C D H W, kernel, bias, channels_last)
CASES = [
    ((2, 2, 5, 6, 7), (3, 3, 3), True, False),
    ((1, 2, 3, 4, 9), (5, 1, 3), False, True),
    ((1, 1, 1, 1, 1), (3, 3, 3), True, False),  # 1-sized dims, kernel larger than the volume
    ((1, 2, 2, 3, 2), (1, 1, 1), True, False),  # kernel 1
    ((1, 2, 3, 4, 5), (5, 5, 5), True, True),  # kernel 5 (125 taps) > D, H
    ((1, 33, 2, 3, 3), (3, 3, 1), True, True),  # two channel blocks (32 + 1) in the channels-innermost tiling
]


def _inputs(shape, kernel, bias, channels_last, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen)
    w = torch.randn(shape[1], 1, *kernel, generator=gen)
    b = torch.randn(shape[1], generator=gen) if bias else None
    x = x.to(device)
    if channels_last:
        x = x.to(memory_format=torch.channels_last_3d)
    return x, w.to(device), None if b is None else b.to(device)


def _leaf(t):
    return None if t is None else t.detach().clone().requires_grad_()


def _magnitudes(x, w, b, grad_out, view):
    """The reference on absolute values: per output / gradient entry, the sum of |terms| (the rounding scale)."""
    leaves = [_leaf(t.abs()) if t is not None else None for t in (x, w, b)]
    out = depthwise_conv3d_reference(view(leaves[0]), leaves[1], leaves[2])
    return out, torch.autograd.grad(out, [t for t in leaves if t is not None], grad_out.abs())


def _check_forward_and_grads(x, w, b, check, view=lambda t: t, tol=FP32_TOL):
    """Forward and all gradients of the Triton path vs the reference; ``view`` maps the x leaf to the input."""
    mine, ref = [_leaf(t) for t in (x, w, b)], [_leaf(t) for t in (x, w, b)]
    out = depthwise_conv3d(view(mine[0]), mine[1], mine[2])
    expected = depthwise_conv3d_reference(view(ref[0]), ref[1], ref[2])
    grad_out = torch.randn_like(expected)
    out_scale, grad_scales = _magnitudes(x, w, b, grad_out, view)
    check(out, expected, tol, "forward", out_scale)
    assert out.dtype == x.dtype
    leaves = [t for t in mine if t is not None]
    ref_leaves = [t for t in ref if t is not None]
    for name, g, r, sc in zip(("x", "weight", "bias"), torch.autograd.grad(out, leaves, grad_out),
                              torch.autograd.grad(expected, ref_leaves, grad_out), grad_scales, strict=False):
        check(g, r, tol, f"grad {name}", sc)
    return out


@pytest.mark.parametrize(("shape", "kernel", "bias", "channels_last"), CASES)
def test_forward_and_grads_match_reference(triton_backend, assert_rel_close, shape, kernel, bias, channels_last):
    x, w, b = _inputs(shape, kernel, bias, channels_last, triton_backend)
    out = _check_forward_and_grads(x, w, b, assert_rel_close)
    if channels_last:
        assert out.stride(1) == 1, "a channels-innermost input gives a channels-innermost output"
    else:
        assert out.is_contiguous()


def test_small_tiles_and_depth_groups(triton_backend, assert_rel_close, monkeypatch):
    """Many tiles per volume, ragged edges, and several depth tiles per weight-gradient program."""
    from tfus.kernels.triton_kernels import depthwise3d as mod

    monkeypatch.setattr(mod, "_INTERPRETER_VOXELS", 8)  # 8-voxel tiles in the interpreter
    monkeypatch.setattr(mod, "_TARGET_PROGRAMS", 1)  # one weight-gradient program reduces all depth tiles
    for channels_last, kernel in ((False, (3, 1, 3)), (True, (3, 3, 1))):  # tiles of 8 voxels (4 x 2 channels)
        x, w, b = _inputs((1, 2 if channels_last else 1, 2, 2, 10), kernel, True, channels_last, triton_backend,
                          seed=1)
        _check_forward_and_grads(x, w, b, assert_rel_close)


def test_strided_input(triton_backend, assert_rel_close):
    """A non-dense view (every other depth slice) runs through the strides without a copy."""
    x, w, b = _inputs((1, 2, 8, 4, 5), (3, 3, 3), True, False, triton_backend, seed=2)
    out = _check_forward_and_grads(x, w, b, assert_rel_close, view=lambda t: t[:, :, ::2])
    assert out.shape == (1, 2, 4, 4, 5)


@pytest.mark.parametrize(("dtype", "eps"), [(torch.bfloat16, BF16_EPS), (torch.float16, 2.0**-11)])
def test_half_precision_forward(triton_backend, assert_rel_close, dtype, eps):
    x, w, b = _inputs((1, 3, 4, 5, 6), (3, 3, 3), True, False, triton_backend, seed=3)
    xh, wh, bh = x.to(dtype), w.to(dtype), b.to(dtype)
    out = depthwise_conv3d(xh, wh, bh)
    assert out.dtype == dtype
    exact = F.conv3d(xh.double(), wh.double(), bh.double(), padding=1, groups=3)  # same rounded inputs, float64 sums
    assert_rel_close(out, exact, eps * math.sqrt(27), f"{dtype} forward")


def test_public_op_dispatches_to_the_custom_op(triton_backend, op_log):
    x, w, b = _inputs((1, 2, 3, 3, 3), (3, 3, 3), True, False, triton_backend)
    with op_log() as log:
        depthwise_conv3d(x, w, b)
    assert "tfus.depthwise_conv3d" in log.names
    with op_log() as log:  # float64 is not a kernel dtype: the reference runs
        out = depthwise_conv3d(x.double(), w.double(), b.double())
    assert not any(name.startswith("tfus.") for name in log.names)
    torch.testing.assert_close(out, depthwise_conv3d_reference(x.double(), w.double(), b.double()))


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
def test_torch_compile_fullgraph(triton_backend, assert_rel_close):
    """The public entry (dispatch + custom op) traces under torch.compile with no graph break (fake impls, autograd),
    forward and backward; tests/kernels/test_sep4d.py compiles the raw ``torch.ops.tfus`` op."""
    x, w, b = _inputs((1, 2, 3, 3, 4), (3, 3, 3), True, False, triton_backend, seed=4)
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]

    def f(x, w, b):
        return depthwise_conv3d(x, w, b).square().sum()

    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    loss = compiled(*leaves)
    grads = torch.autograd.grad(loss, leaves)
    ref_leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    ref_loss = depthwise_conv3d_reference(*ref_leaves).square().sum()
    assert_rel_close(loss, ref_loss, FP32_TOL, "loss")
    for g, r in zip(grads, torch.autograd.grad(ref_loss, ref_leaves), strict=True):
        assert_rel_close(g, r, FP32_TOL, "grad")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_reference_on_realistic_sizes(triton_backend, assert_rel_close):
    """Real kernels on a GPU: many tiles, both layouts, fp32 gradients and bf16 forward."""
    for channels_last in (False, True):
        x, w, b = _inputs((2, 40, 19, 33, 70), (3, 3, 3), True, channels_last, "cuda", seed=5)
        _check_forward_and_grads(x, w, b, assert_rel_close, tol=GPU_FP32_TOL)
        out = depthwise_conv3d(x.bfloat16(), w.bfloat16(), b.bfloat16())
        exact = F.conv3d(x.bfloat16().double(), w.bfloat16().double(), b.bfloat16().double(), padding=1, groups=40)
        assert_rel_close(out, exact, BF16_EPS * math.sqrt(27), "bf16 forward")
