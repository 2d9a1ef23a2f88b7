"""The Triton rank-R compressed 3D conv (``torch.ops.tfus.cp_conv3d``) against the PyTorch reference: forward and the
gradients wrt x, a, b, c and bias. On a machine without CUDA the kernels run in Triton's CPU interpreter (slow: tiny
shapes, few taps).

Tolerance: both sides accumulate in fp32 over ``taps x Cin x R`` products (at most ~150 here) of O(1) values, so the
difference is a few fp32 roundings of the largest partial sums; 1e-5 of the largest magnitude leaves ~100x margin over
the ~1e-7 measured, and a wrong tap, flip or mask gives O(1) errors.
"""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():  # before any Triton kernel is defined (tests/kernels/conftest.py may do it too)
    os.environ.setdefault("TRITON_INTERPRET", "1")

pytest.importorskip("triton")

from tfus.kernels import cp_conv3d  # noqa: E402
from tfus.kernels.reference.cp_conv3d import cp_conv3d_reference, cp_weight  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture
def triton_backend(monkeypatch):
    """Force the Triton path (on CPU tensors through the interpreter)."""
    monkeypatch.setenv("TFUS_KERNELS", "triton")


def _factors(rank: int, cout: int, cin: int, ksize, gen, device=DEVICE, dtype=torch.float32):
    return [torch.randn(rank, cout, cin, k, generator=gen).to(device, dtype).requires_grad_() for k in ksize]


def _rel(u: torch.Tensor, v: torch.Tensor) -> float:
    return ((u.float() - v.float()).abs().max() / v.float().abs().max().clamp_min(1e-30)).item()


def _check_against_reference(x, factors, bias, tol):
    grad_out = torch.randn(x.shape[0], factors[0].shape[1], *x.shape[2:], generator=torch.Generator().manual_seed(1))
    grad_out = grad_out.to(x.device, x.dtype)
    inputs = [x, *factors] + ([] if bias is None else [bias])
    out = cp_conv3d(x, *factors, bias)
    grads = torch.autograd.grad(out, inputs, grad_out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFUS_KERNELS", "reference")
        ref = cp_conv3d_reference(x, *factors, bias)
        ref_grads = torch.autograd.grad(ref, inputs, grad_out)
    assert out.shape == ref.shape and out.dtype == x.dtype
    assert _rel(out, ref) < tol
    for name, g, rg in zip(("x", "a", "b", "c", "bias"), grads, ref_grads, strict=False):
        assert g.shape == rg.shape and g.dtype == rg.dtype, name
        assert _rel(g, rg) < tol, (name, _rel(g, rg))
    return out


@pytest.mark.parametrize("shape, rank, ksize, channels_last, with_bias", [
    ((2, 3, 5, 6, 7), 1, (3, 3, 3), False, True),   # 420 voxels: a partial last block that straddles two samples
    ((1, 4, 3, 5, 9), 3, (1, 3, 5), True, False),   # anisotropic kernel, channels-last input, no bias
])
def test_matches_reference(triton_backend, shape, rank, ksize, channels_last, with_bias):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=gen).to(DEVICE)
    if channels_last:
        x = x.to(memory_format=torch.channels_last_3d)
    x.requires_grad_()
    factors = _factors(rank, 5, shape[1], ksize, gen)
    bias = torch.randn(5, generator=gen).to(DEVICE).requires_grad_() if with_bias else None
    out = _check_against_reference(x, factors, bias, tol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last_3d if channels_last else torch.contiguous_format)


def test_channel_blocks_chunks_and_broadcast_grad(triton_backend):
    """> 64 channels each way (two channel blocks), the weight gradient in 3 voxel chunks, a stride-0 grad_out."""
    import tfus.kernels.triton_kernels.cp_conv3d  # noqa: F401  (registers torch.ops.tfus.*)

    gen = torch.Generator().manual_seed(2)
    cin, cout, ksize = 66, 70, (1, 1, 3)
    x = torch.randn(1, cin, 2, 3, 5, generator=gen).to(DEVICE)
    a, b, c = (f.detach() for f in _factors(2, cout, cin, ksize, gen))
    out = torch.ops.tfus.cp_conv3d(x, a, b, c, None)
    assert _rel(out, cp_conv3d_reference(x, a, b, c)) < 1e-5

    grad_out = torch.ones(()).to(DEVICE).expand(out.shape)  # what out.sum().backward() hands over
    gw, gbias = torch.ops.tfus.cp_conv3d_grad_weight(grad_out, x, list(ksize), True, 3)
    weight = cp_weight(a, b, c).requires_grad_()
    ref = torch.nn.functional.conv3d(x, weight, padding=(0, 0, 1))
    (ref_gw,) = torch.autograd.grad(ref, weight, grad_out)
    assert _rel(gw, ref_gw) < 1e-5
    assert torch.allclose(gbias, torch.full((cout,), float(x[0, 0].numel()), device=DEVICE))


def test_float64_takes_the_reference(triton_backend):
    f = torch.ones(1, 2, 1, 3, dtype=torch.float64)
    out = cp_conv3d(torch.ones(1, 1, 1, 1, 4, dtype=torch.float64), f, f, f)
    assert out.dtype == torch.float64 and out[0, 0, 0, 0].tolist() == [2.0, 3.0, 3.0, 2.0]


def test_torch_compile_fullgraph(triton_backend):
    """The custom op, its fake and its autograd trace into one graph (aot_eager: no C++ compiler needed)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 3, 4, 5, generator=gen).to(DEVICE).requires_grad_()
    factors = _factors(2, 3, 2, (1, 1, 3), gen)
    bias = torch.randn(3, generator=gen).to(DEVICE).requires_grad_()

    def loss(x, a, b, c, bias):
        return (cp_conv3d(x, a, b, c, bias) ** 2).sum()

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    got = torch.autograd.grad(compiled(x, *factors, bias), [x, *factors, bias])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFUS_KERNELS", "reference")
        want = torch.autograd.grad(loss(x, *factors, bias), [x, *factors, bias])
    for g, w in zip(got, want, strict=True):
        assert _rel(g, w) < 1e-5


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("channels_last", [False, True])
def test_cuda_fp32_and_bf16(triton_backend, channels_last):
    gen = torch.Generator().manual_seed(4)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    x = torch.randn(2, 24, 9, 10, 11, generator=gen).cuda().to(memory_format=fmt).requires_grad_()
    factors = _factors(3, 40, 24, (3, 3, 3), gen, device="cuda")
    bias = torch.randn(40, generator=gen).cuda().requires_grad_()
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # exact fp32 on both sides (the kernel follows this flag)
    try:
        _check_against_reference(x, factors, bias, tol=1e-5)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    xb = x.detach().bfloat16().requires_grad_()
    _check_against_reference(xb, factors, bias, tol=2e-2)  # bf16 inputs and outputs, fp32 accumulation
