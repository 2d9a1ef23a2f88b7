"""Rank-R compressed 3D conv on Triton, as ``torch.library`` custom ops (fake tensors and autograd registered, so
``torch.compile(fullgraph=True)`` traces through them):

* ``tfus::cp_conv3d(x, a, b, c, bias?)``: the forward (implicit GEMM, weight tiles built on the fly from the factors);
* ``tfus::cp_conv3d_grad_weight(grad_out, x, ksize, with_bias, chunks)``: the gradient of the dense-equivalent weight
  ``(Cout, Cin, kd, kh, kw)`` and of the bias, both fp32, reduced over voxels in Triton.

Backward: ``grad_x`` is the forward op on ``grad_out`` with the factors transposed and flipped; the factor gradients
follow from ``gW`` by the chain rule (``grad_a[r,o,i,p] = sum_{q,s} gW[o,i,p,q,s] b[r,o,i,q] c[r,o,i,s]``, a small
einsum). Kernel details: :mod:`tfus.kernels.triton_kernels._cp_conv3d_jit`.

Example:
    >>> import torch
    >>> f = torch.ones(2, 4, 3, 3)
    >>> cp_conv3d_triton(torch.ones(1, 3, 5, 5, 5), f, f, f).shape  # doctest: +SKIP  (CUDA or TRITON_INTERPRET=1)
    torch.Size([1, 4, 5, 5, 5])
"""

from __future__ import annotations

import torch

from tfus.kernels.reference._checks import require
from tfus.kernels.reference.cp_conv3d import check_cp_conv3d
from tfus.kernels.triton_kernels import _cp_conv3d_jit as jit
from tfus.kernels.triton_kernels._common import KERNEL_DTYPES, empty_like_layout

__all__ = ["cp_conv3d_triton"]

@torch.library.custom_op("tfus::cp_conv3d", mutates_args=(),
                         schema="(Tensor x, Tensor a, Tensor b, Tensor c, Tensor? bias) -> Tensor")
def _cp_conv3d_op(x, a, b, c, bias):
    return jit.fwd(x, a, b, c, bias)


@_cp_conv3d_op.register_fake
def _(x, a, b, c, bias):
    shape = (x.shape[0], a.shape[1], *x.shape[2:])
    return empty_like_layout(x, shape)


@torch.library.custom_op("tfus::cp_conv3d_grad_weight", mutates_args=(),
                         schema="(Tensor grad_out, Tensor x, int[] ksize, bool with_bias, int chunks) -> "
                                "(Tensor, Tensor)")
def _grad_weight_op(grad_out, x, ksize, with_bias, chunks):
    return jit.grad_weight(grad_out, x, tuple(ksize), with_bias, chunks)


@_grad_weight_op.register_fake
def _(grad_out, x, ksize, with_bias, chunks):
    gw = x.new_empty((grad_out.shape[1], x.shape[1], *ksize), dtype=torch.float32)
    return gw, x.new_empty((grad_out.shape[1],) if with_bias else (0,), dtype=torch.float32)


def _setup_context(ctx, inputs, output):
    x, a, b, c, bias = inputs
    ctx.save_for_backward(x, a, b, c)
    ctx.bias_dtype = None if bias is None else bias.dtype


def _backward(ctx, grad):
    x, a, b, c = ctx.saved_tensors
    need_x, need_a, need_b, need_c, need_bias = ctx.needs_input_grad
    gx = ga = gb = gc = gbias = None
    if need_x:
        gx = torch.ops.tfus.cp_conv3d(grad, jit.flipped_factors(a), jit.flipped_factors(b), jit.flipped_factors(c),
                                      None)
    if need_a or need_b or need_c or need_bias:
        ksize = [a.shape[3], b.shape[3], c.shape[3]]
        gw, gbias32 = torch.ops.tfus.cp_conv3d_grad_weight(grad, x, ksize, bool(need_bias), 0)
        af, bf, cf = a.float(), b.float(), c.float()
        if need_a:
            ga = torch.einsum("oipqs,roiq,rois->roip", gw, bf, cf).to(a.dtype)
        if need_b:
            gb = torch.einsum("oipqs,roip,rois->roiq", gw, af, cf).to(b.dtype)
        if need_c:
            gc = torch.einsum("oipqs,roip,roiq->rois", gw, af, bf).to(c.dtype)
        if need_bias:
            gbias = gbias32.to(ctx.bias_dtype)
    return gx, ga, gb, gc, gbias


_cp_conv3d_op.register_autograd(_backward, setup_context=_setup_context)


def cp_conv3d_triton(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                     bias: torch.Tensor | None = None) -> torch.Tensor:
    """Checked call of ``torch.ops.tfus.cp_conv3d`` (same contract as
    :func:`tfus.kernels.reference.cp_conv3d.cp_conv3d_reference`; x in fp32, bf16 or fp16, fp32 accumulation)."""
    check_cp_conv3d(x, a, b, c, bias)
    require(x.dtype in KERNEL_DTYPES, f"Triton cp_conv3d supports x in float32, bfloat16 or float16, got {x.dtype}")
    devices = {t.device for t in (x, a, b, c, bias) if t is not None}
    require(len(devices) == 1, f"x, a, b, c and bias must be on one device, got {sorted(map(str, devices))}")
    voxels = x.shape[2] * x.shape[3] * x.shape[4]
    require(max(x.shape[1], a.shape[1]) * voxels < 2**31,
            "one sample of x (and of the output) must have fewer than 2**31 elements; split the volume")
    return torch.ops.tfus.cp_conv3d(x, a, b, c, bias)
