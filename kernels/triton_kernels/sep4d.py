"""Triton separable 4D convolution on ``(B, C, T, Z, Y, X)``: the custom ops ``torch.ops.tfus.sep4d_conv``
(+ ``_grad_input``, ``_grad_weight``) with fake implementations and autograd, so it trains and compiles under
``torch.compile``. The kernels are in :mod:`tfus.kernels.triton_kernels._sep4d_kernels`.

The three branches are packed into one tap table ``(taps, Cin, Cout)``: the ``ky kx`` in-plane taps, then the
``kz - 1`` non-centre z taps, then the ``kt - 1`` non-centre time taps; the z and t centre weights are added to the
in-plane centre (all three read the same voxel). ``grad_x`` runs the same kernel on ``grad_out`` with the filters
transposed (Cin <-> Cout) and flipped; a centre tap's weight gradient is shared by the three branches.

Example:
    >>> import torch
    >>> packed, ksize = pack_weights(torch.ones(3, 2, 3, 3), torch.ones(3, 2, 3), None, torch.float32)
    >>> tuple(packed.shape), ksize           # 9 in-plane + 2 z taps; centre = 1 + 1
    ((11, 2, 3), (3, 3, 3, 1))
    >>> packed[4, 0, 0].item()
    2.0
"""

from __future__ import annotations

import torch

from tfus.kernels.triton_kernels._common import empty_like_layout
from tfus.kernels.triton_kernels._sep4d_kernels import apply_packed, grad_packed

__all__ = ["pack_weights", "sep4d_conv_triton", "unpack_grads"]

KSize = tuple[int, int, int, int]


def _branch_rows(ky: int, kx: int, k: int, start: int) -> list[int]:
    """Rows of the tap table holding a z or time kernel of size ``k`` whose non-centre taps start at ``start``."""
    centre = (ky // 2) * kx + kx // 2
    return [centre if r == k // 2 else start + r - (r > k // 2) for r in range(k)]


def pack_weights(w_plane: torch.Tensor, w_z: torch.Tensor | None, w_t: torch.Tensor | None,
                 dtype: torch.dtype) -> tuple[torch.Tensor, KSize]:
    """The tap table ``(taps, Cin, Cout)`` in ``dtype`` (summed in fp32) and ``(ky, kx, kz, kt)`` (1 = branch off)."""
    cout, cin, ky, kx = w_plane.shape
    kz = 1 if w_z is None else w_z.shape[2]
    kt = 1 if w_t is None else w_t.shape[2]
    packed = torch.zeros((ky * kx + kz - 1 + kt - 1, cin, cout), dtype=torch.float32, device=w_plane.device)
    packed[: ky * kx] = w_plane.detach().float().permute(2, 3, 1, 0).reshape(ky * kx, cin, cout)
    for w, k, start in ((w_z, kz, ky * kx), (w_t, kt, ky * kx + kz - 1)):
        if w is not None:
            rows = torch.tensor(_branch_rows(ky, kx, k, start), device=w_plane.device)
            packed.index_add_(0, rows, w.detach().float().permute(2, 1, 0))
    return packed.to(dtype).contiguous(), (ky, kx, kz, kt)


def unpack_grads(grad_packed: torch.Tensor, ksize: KSize, has_z: bool,
                 has_t: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``(taps, Cin, Cout)`` gradient -> gradients of ``w_plane`` ``(Cout, Cin, ky, kx)``, ``w_z``, ``w_t``."""
    ky, kx, kz, kt = ksize
    cin, cout = grad_packed.shape[1:]
    g_plane = grad_packed[: ky * kx].reshape(ky, kx, cin, cout).permute(3, 2, 0, 1)
    out = []
    for has, k, start in ((has_z, kz, ky * kx), (has_t, kt, ky * kx + kz - 1)):
        rows = _branch_rows(ky, kx, k, start)
        out.append(grad_packed[rows].permute(2, 1, 0) if has else None)
    return g_plane, out[0], out[1]


def _flipped_transposed(w: torch.Tensor | None) -> torch.Tensor | None:
    return None if w is None else w.transpose(0, 1).flip(2)


@torch.library.custom_op("tfus::sep4d_conv", mutates_args=(),
                         schema="(Tensor x, Tensor w_plane, Tensor? w_z, Tensor? w_t, Tensor? bias) -> Tensor")
def _sep4d_op(x: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None, w_t: torch.Tensor | None,
              bias: torch.Tensor | None) -> torch.Tensor:
    packed, ksize = pack_weights(w_plane, w_z, w_t, x.dtype)
    return apply_packed(x, packed, ksize, bias)


@_sep4d_op.register_fake
def _(x, w_plane, w_z, w_t, bias):
    return empty_like_layout(x, (x.shape[0], w_plane.shape[0], *x.shape[2:]))


@torch.library.custom_op("tfus::sep4d_conv_grad_input", mutates_args=(),
                         schema="(Tensor grad, Tensor w_plane, Tensor? w_z, Tensor? w_t) -> Tensor")
def _grad_input_op(grad: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None,
                   w_t: torch.Tensor | None) -> torch.Tensor:
    # adjoint: the same stencil with Cin <-> Cout and every tap offset negated (zero padding and circular wrap alike)
    packed, ksize = pack_weights(w_plane.transpose(0, 1).flip(2, 3), _flipped_transposed(w_z),
                                 _flipped_transposed(w_t), grad.dtype)
    return apply_packed(grad, packed, ksize, None)


@_grad_input_op.register_fake
def _(grad, w_plane, w_z, w_t):
    return empty_like_layout(grad, (grad.shape[0], w_plane.shape[1], *grad.shape[2:]))


@torch.library.custom_op(
    "tfus::sep4d_conv_grad_weight", mutates_args=(),
    schema="(Tensor grad, Tensor x, Tensor w_plane, Tensor? w_z, Tensor? w_t, bool need_bias) "
           "-> (Tensor, Tensor, Tensor, Tensor)")
def _grad_weight_op(grad: torch.Tensor, x: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None,
                    w_t: torch.Tensor | None, need_bias: bool
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of (w_plane, w_z, w_t) in their dtypes and of the bias in fp32; empty tensors for absent ones."""
    ksize = (*w_plane.shape[2:], 1 if w_z is None else w_z.shape[2], 1 if w_t is None else w_t.shape[2])
    g_packed, g_bias = grad_packed(grad, x, ksize, need_bias)
    g_plane, g_z, g_t = unpack_grads(g_packed, ksize, w_z is not None, w_t is not None)
    def empty() -> torch.Tensor:  # a fresh one per return: custom-op outputs must not alias each other
        return g_bias.new_empty(0)

    return (g_plane.to(w_plane.dtype).contiguous(),
            empty() if w_z is None else g_z.to(w_z.dtype).contiguous(),
            empty() if w_t is None else g_t.to(w_t.dtype).contiguous(),
            g_bias if need_bias else empty())


@_grad_weight_op.register_fake
def _(grad, x, w_plane, w_z, w_t, need_bias):
    def like(w: torch.Tensor | None) -> torch.Tensor:
        if w is None:
            return w_plane.new_empty(0, dtype=torch.float32)
        return torch.empty_like(w, memory_format=torch.contiguous_format)

    return (like(w_plane), like(w_z), like(w_t),
            w_plane.new_empty((w_plane.shape[0],) if need_bias else (0,), dtype=torch.float32))


def _setup_context(ctx, inputs, output) -> None:
    x, w_plane, w_z, w_t, bias = inputs
    ctx.save_for_backward(x, w_plane, w_z, w_t)
    ctx.bias_dtype = None if bias is None else bias.dtype


def _backward(ctx, grad):
    x, w_plane, w_z, w_t = ctx.saved_tensors
    need_x, need_plane, need_z, need_t, need_b = ctx.needs_input_grad
    grads = [None] * 5
    if need_x:
        grads[0] = torch.ops.tfus.sep4d_conv_grad_input(grad, w_plane, w_z, w_t)
    if need_plane or need_z or need_t or need_b:
        g_plane, g_z, g_t, g_b = torch.ops.tfus.sep4d_conv_grad_weight(grad, x, w_plane, w_z, w_t, bool(need_b))
        grads[1:] = [g_plane if need_plane else None, g_z if need_z else None, g_t if need_t else None,
                     g_b.to(ctx.bias_dtype) if need_b else None]
    return tuple(grads)


_sep4d_op.register_autograd(_backward, setup_context=_setup_context)


def sep4d_conv_triton(x: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None = None,
                      w_t: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Separable 4D conv through the Triton custom op (inputs already checked by :func:`tfus.kernels.sep4d_conv`).

    Args:
        x: ``(B, Cin, T, Z, Y, X)``, fp32/bf16/fp16, any strides.
        w_plane: ``(Cout, Cin, ky, kx)``; ``w_z``: ``(Cout, Cin, kz)`` or None; ``w_t``: ``(Cout, Cin, kt)`` or None.
        bias: ``(Cout,)`` or None.

    Returns:
        ``(B, Cout, T, Z, Y, X)`` in ``x``'s dtype and dimension order in memory.
    """
    return torch.ops.tfus.sep4d_conv(x, w_plane, w_z, w_t, bias)
