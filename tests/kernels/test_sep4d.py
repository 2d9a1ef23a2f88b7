"""Triton separable 4D conv (through the interpreter on CPU) against the PyTorch reference: forward, gradients wrt x,
the three weights and the bias, branches off, odd shapes, circular time wrap, layouts, both the FMA and the ``tl.dot``
paths, bf16, dispatch and torch.compile.

Tolerances: see tests/kernels/test_depthwise3d.py (fp32: 1e-5 of the largest sum of |terms|; both sides sum in
fp32 in different orders); half precision forward: ``eps sqrt(taps Cin)`` (eps = 2^-8 bf16, 2^-11 fp16; random-walk
growth over the summed terms, plus the z/t centre weights being rounded once, summed, instead of separately).
"""

from __future__ import annotations

import math

import pytest
import torch

from tfus.kernels import sep4d_conv
from tfus.kernels.reference import sep4d_conv_reference

FP32_TOL = 1e-5
BF16_EPS = 2.0**-8
GPU_FP32_TOL = 5e-5  # weight gradients sum ~3e4 voxels on the GPU test: fp32 rounding ~ 2^-24 sqrt(n) grows to ~1e-5

# (x shape B Cin T Z Y X, Cout, (ky, kx), kz or None, kt or None, bias, channels_last)
CASES = [
    ((1, 3, 3, 2, 5, 6), 2, (3, 3), 3, 3, True, False),
    ((2, 2, 4, 3, 4, 5), 3, (3, 1), None, 5, False, False),  # z branch off, kt = 5 wraps T = 4
    ((1, 3, 2, 2, 3, 4), 2, (1, 5), 3, None, True, True),  # time branch off, channels innermost
    ((1, 2, 1, 1, 1, 1), 2, (3, 3), 3, 3, True, False),  # all 1-sized dims (T = 1 = kt // 2)
    ((1, 2, 2, 3, 3, 3), 1, (1, 1), 1, 1, True, False),  # kernel 1 everywhere: all on the centre tap
    ((1, 16, 3, 2, 4, 4), 16, (3, 3), 3, 3, True, False),  # tl.dot path
    ((1, 16, 2, 2, 3, 4), 17, (3, 3), 3, 5, False, True),  # tl.dot path, ragged Cout, channels innermost, T = kt // 2
]


def _inputs(shape, cout, kplane, kz, kt, bias, channels_last, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cin = shape[1]
    x = torch.randn(shape, generator=gen)
    if channels_last:
        x = x.permute(0, 2, 3, 4, 5, 1).contiguous().permute(0, 5, 1, 2, 3, 4)
    w_plane = torch.randn(cout, cin, *kplane, generator=gen) / math.sqrt(cin)
    w_z = None if kz is None else torch.randn(cout, cin, kz, generator=gen)
    w_t = None if kt is None else torch.randn(cout, cin, kt, generator=gen)
    b = torch.randn(cout, generator=gen) if bias else None
    return [None if t is None else t.to(device) for t in (x, w_plane, w_z, w_t, b)]


def _leaf(t):
    return None if t is None else t.detach().clone().requires_grad_()


def _check_forward_and_grads(args, check, expected_fn=sep4d_conv_reference, tol=FP32_TOL):
    """Forward and all gradients vs ``expected_fn``; tolerances relative to the sums of |terms| (``expected_fn`` on
    absolute values), which bound fp32 rounding even where a result cancels to near zero."""
    mine, ref = [_leaf(t) for t in args], [_leaf(t) for t in args]
    out = sep4d_conv(*mine)
    expected = expected_fn(*ref)
    grad_out = torch.randn_like(expected)
    absolute = [_leaf(None if t is None else t.abs()) for t in args]
    out_scale = expected_fn(*absolute)
    check(out, expected, tol, "forward", out_scale)
    assert out.dtype == args[0].dtype
    names = [n for n, t in zip(("x", "w_plane", "w_z", "w_t", "bias"), args, strict=True) if t is not None]
    leaves, ref_leaves, abs_leaves = ([t for t in ts if t is not None] for ts in (mine, ref, absolute))
    for name, g, r, sc in zip(names, torch.autograd.grad(out, leaves, grad_out),
                              torch.autograd.grad(expected, ref_leaves, grad_out),
                              torch.autograd.grad(out_scale, abs_leaves, grad_out.abs()), strict=True):
        check(g, r, tol, f"grad {name}", sc)
    return out


@pytest.mark.parametrize(("shape", "cout", "kplane", "kz", "kt", "bias", "channels_last"), CASES)
def test_forward_and_grads_match_reference(triton_backend, assert_rel_close, shape, cout, kplane, kz, kt, bias,
                                           channels_last):
    args = _inputs(shape, cout, kplane, kz, kt, bias, channels_last, triton_backend)
    out = _check_forward_and_grads(args, assert_rel_close)
    if channels_last:
        assert out.stride(1) == 1, "a channels-innermost input gives a channels-innermost output"
    else:
        assert out.is_contiguous()


@pytest.mark.parametrize(("cin", "cout"), [(3, 10), (20, 18)])
def test_small_blocks_and_split_k(triton_backend, assert_rel_close, monkeypatch, cin, cout):
    """Several voxel, input- and output-channel blocks, and several voxel blocks per weight-gradient program."""
    from tfus.kernels.triton_kernels import _sep4d_kernels as mod

    monkeypatch.setattr(mod, "_INTERPRETER_BLOCK_V", 16)
    monkeypatch.setattr(mod, "_TARGET_PROGRAMS", 4)
    monkeypatch.setattr(mod, "_MAX_BLOCK_I", 16)
    monkeypatch.setattr(mod, "_MAX_BLOCK_O", 16)
    args = _inputs((1, cin, 2, 2, 3, 4), cout, (3, 3), 3, 3, True, False, triton_backend, seed=1)
    _check_forward_and_grads(args, assert_rel_close)


def _rolled_reference(x, w_plane, w_z, w_t, bias):
    """The time branch by definition: sum_s w_t[:, :, s] x[(t + s - kt // 2) mod T], for any T (in-plane 1x1)."""
    kt = w_t.shape[2]
    out = torch.einsum("oi,bitzyx->botzyx", w_plane[:, :, 0, 0], x)
    for s in range(kt):
        out = out + torch.einsum("oi,bitzyx->botzyx", w_t[:, :, s], torch.roll(x, shifts=kt // 2 - s, dims=2))
    return out


@pytest.mark.parametrize(("nt", "kt"), [(1, 5), (2, 7)])
def test_time_wraps_more_than_once(triton_backend, assert_rel_close, nt, kt):
    """T < kt // 2: the reference's circular pad refuses, the kernel wraps modulo T (the periodic definition)."""
    args = _inputs((1, 2, nt, 2, 2, 3), 3, (1, 1), None, kt, None, False, triton_backend, seed=2)
    _check_forward_and_grads(args, assert_rel_close, expected_fn=_rolled_reference)


def test_strided_input_and_broadcast_grad(triton_backend, assert_rel_close):
    """A non-dense view (every other time step) runs through the strides without a copy, and ``.sum()``'s
    stride-0 ``grad_out`` flows back through the strides too."""
    args = _inputs((1, 2, 6, 2, 3, 4), 2, (3, 3), 3, 3, True, False, triton_backend, seed=3)
    mine, ref = [_leaf(t) for t in args], [_leaf(t) for t in args]
    x_view = mine[0][:, :, ::2]
    assert not x_view.is_contiguous()
    loss = sep4d_conv(x_view, *mine[1:]).sum()
    ref_loss = sep4d_conv_reference(ref[0][:, :, ::2], *ref[1:]).sum()
    absolute = [_leaf(t.abs()) for t in args]  # sums of |terms|: the rounding scale (see _check_forward_and_grads)
    abs_loss = sep4d_conv_reference(absolute[0][:, :, ::2], *absolute[1:]).sum()
    assert_rel_close(loss, ref_loss, FP32_TOL, "strided forward", abs_loss)
    for name, g, r, sc in zip(("x", "w_plane", "w_z", "w_t", "bias"), torch.autograd.grad(loss, mine),
                              torch.autograd.grad(ref_loss, ref), torch.autograd.grad(abs_loss, absolute),
                              strict=True):
        assert_rel_close(g, r, FP32_TOL, f"grad {name}", sc)


@pytest.mark.parametrize(("cin", "dtype", "eps"), [(3, torch.bfloat16, BF16_EPS), (16, torch.bfloat16, BF16_EPS),
                                                   (3, torch.float16, 2.0**-11)])
def test_half_precision_forward(triton_backend, assert_rel_close, cin, dtype, eps):
    x, w_plane, w_z, w_t, b = _inputs((1, cin, 3, 2, 4, 5), cin, (3, 3), 3, 3, True, False, triton_backend, seed=4)
    out = sep4d_conv(x.to(dtype), w_plane, w_z, w_t, b)
    assert out.dtype == dtype
    rounded = [t.to(dtype).double() for t in (x, w_plane, w_z, w_t, b)]  # the reference rounds weights the same way
    exact = sep4d_conv_reference(*rounded)
    taps = 9 + 2 + 2
    assert_rel_close(out, exact, eps * math.sqrt(taps * cin), f"{dtype} forward")


def test_public_op_dispatches_to_the_custom_op(triton_backend, op_log):
    args = _inputs((1, 2, 2, 2, 3, 3), 2, (3, 3), 3, 3, True, False, triton_backend)
    with op_log() as log:
        sep4d_conv(*args)
    assert "tfus.sep4d_conv" in log.names
    doubles = [t.double() for t in args]
    with op_log() as log:  # float64 is not a kernel dtype: the reference runs
        out = sep4d_conv(*doubles)
    assert not any(name.startswith("tfus.") for name in log.names)
    torch.testing.assert_close(out, sep4d_conv_reference(*doubles))


def _compiled_matches_reference(args, backend, check):
    import tfus.kernels.triton_kernels.sep4d  # noqa: F401  (registers torch.ops.tfus.*)

    def f(x, w_plane, w_t, b):
        return torch.ops.tfus.sep4d_conv(x, w_plane, None, w_t, b).relu().sum()

    leaves = [_leaf(t) for t in args]
    torch._dynamo.reset()
    loss = torch.compile(f, fullgraph=True, backend=backend)(*leaves)
    grads = torch.autograd.grad(loss, leaves)
    ref_leaves = [_leaf(t) for t in args]
    ref_loss = sep4d_conv_reference(ref_leaves[0], ref_leaves[1], None, ref_leaves[2], ref_leaves[3]).relu().sum()
    check(loss, ref_loss, FP32_TOL, "loss")
    for g, r in zip(grads, torch.autograd.grad(ref_loss, ref_leaves), strict=True):
        check(g, r, FP32_TOL, "grad")


def test_torch_compile_fullgraph(triton_backend, assert_rel_close):
    """The custom ops trace under torch.compile with no graph break (fake impls, autograd), forward and backward."""
    x, w_plane, _, w_t, b = _inputs((1, 2, 2, 2, 3, 4), 3, (3, 3), None, 3, True, False, triton_backend, seed=5)
    _compiled_matches_reference([x, w_plane, w_t, b], "aot_eager", assert_rel_close)


@pytest.mark.slow
def test_torch_compile_inductor(triton_backend, assert_rel_close):
    """Inductor around the custom op (about a minute on 2 CPU cores)."""
    x, w_plane, _, w_t, b = _inputs((1, 2, 2, 2, 3, 4), 3, (3, 3), None, 3, True, False, triton_backend, seed=6)
    _compiled_matches_reference([x, w_plane, w_t, b], "inductor", assert_rel_close)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_reference_on_realistic_sizes(triton_backend, assert_rel_close):
    """Real kernels on a GPU: FMA and tl.dot paths, both layouts, fp32 gradients and bf16 forward."""
    for cin, cout, channels_last in ((4, 6, False), (32, 48, False), (24, 40, True)):
        args = _inputs((2, cin, 5, 7, 19, 23), cout, (3, 3), 3, 3, True, channels_last, "cuda", seed=7)
        _check_forward_and_grads(args, assert_rel_close, tol=GPU_FP32_TOL)
        out = sep4d_conv(args[0].bfloat16(), *args[1:])
        exact = sep4d_conv_reference(*[t.bfloat16().double() for t in args])
        assert_rel_close(out, exact, BF16_EPS * math.sqrt(13 * cin), "bf16 forward")
