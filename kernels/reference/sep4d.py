"""Separable 4D convolution (RSTAR4D-style) on ``(B, C, T, Z, Y, X)``: three branches summed, not chained, each a full
``Cout x Cin`` channel mix, stride 1, "same" size:

* in-plane: a ``ky x kx`` kernel over (Y, X) for every (t, z), zero padding;
* along z: a ``kz`` kernel, zero padding;
* along time: a ``kt`` kernel with circular padding (a periodic steady-state cycle wraps around).

With 3-tap kernels that is 9 + 3 + 3 = 15 ``Cin Cout`` weights per layer instead of 81 for a dense 3^4 kernel. The z or
time branch may be switched off (``None``): "Tetris" training starts with the z-branch off.

Example:
    >>> import torch
    >>> x = torch.ones(1, 2, 4, 3, 5, 5)
    >>> out = sep4d_conv_reference(x, torch.ones(3, 2, 3, 3), torch.ones(3, 2, 3), torch.ones(3, 2, 3))
    >>> out.shape
    torch.Size([1, 3, 4, 3, 5, 5])
    >>> out[0, 0, 0, 1, 2, 2].item()   # 2 channels x (9 in-plane + 3 along z + 3 along t, time wraps)
    30.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tfus.kernels.reference._checks import check_bias, odd_kernel, require

__all__ = ["sep4d_conv_reference"]


def check_sep4d(x: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None, w_t: torch.Tensor | None,
                bias: torch.Tensor | None) -> None:
    """Shape checks of the separable 4D conv (shared by the reference and the Triton path)."""
    require(x.ndim == 6, f"x must be (B, C, T, Z, Y, X), got shape {tuple(x.shape)}")
    cin = x.shape[1]
    require(w_plane.ndim == 4 and w_plane.shape[1] == cin,
            f"w_plane must be (Cout, {cin}, ky, kx), got {tuple(w_plane.shape)}")
    cout = w_plane.shape[0]
    odd_kernel("in-plane", w_plane.shape[2:])
    for name, w in (("w_z", w_z), ("w_t", w_t)):
        if w is not None:
            require(w.ndim == 3 and w.shape[:2] == (cout, cin),
                    f"{name} must be ({cout}, {cin}, k), got {tuple(w.shape)}")
            odd_kernel(name, w.shape[2:])
    check_bias(bias, cout)


def sep4d_conv_reference(x: torch.Tensor, w_plane: torch.Tensor, w_z: torch.Tensor | None = None,
                         w_t: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Sum of the in-plane, z and (circular) time branches, plus ``bias``.

    Args:
        x: ``(B, Cin, T, Z, Y, X)``.
        w_plane: ``(Cout, Cin, ky, kx)``.
        w_z: ``(Cout, Cin, kz)`` or None (branch off).
        w_t: ``(Cout, Cin, kt)`` or None (branch off).
        bias: ``(Cout,)`` or None.

    Returns:
        ``(B, Cout, T, Z, Y, X)``.
    """
    check_sep4d(x, w_plane, w_z, w_t, bias)
    bsz, cin, nt, nz, ny, nx = x.shape
    cout = w_plane.shape[0]
    ky, kx = w_plane.shape[2:]
    plane = F.conv3d(x.reshape(bsz, cin, nt * nz, ny, nx), w_plane.to(x.dtype)[:, :, None],
                     None if bias is None else bias.to(x.dtype), padding=(0, ky // 2, kx // 2))
    out = plane.reshape(bsz, cout, nt, nz, ny, nx)
    flat = x.reshape(bsz, cin, nt, nz, ny * nx)
    if w_z is not None:
        kz = w_z.shape[2]
        out = out + F.conv3d(flat, w_z.to(x.dtype)[:, :, None, :, None],
                             padding=(0, kz // 2, 0)).reshape(out.shape)
    if w_t is not None:
        kt = w_t.shape[2]
        wrapped = F.pad(flat, (0, 0, 0, 0, kt // 2, kt // 2), mode="circular") if kt > 1 else flat
        out = out + F.conv3d(wrapped, w_t.to(x.dtype)[:, :, :, None, None]).reshape(out.shape)
    return out
