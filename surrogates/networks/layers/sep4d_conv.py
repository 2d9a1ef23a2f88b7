"""The separable 4D convolution as a layer: learned weights around :func:`tfus.kernels.sep4d_conv` (RSTAR4D-style,
layout ``(B, C, T, Z, Y, X)``; in-plane ``ky x kx`` + along-z ``kz`` + along-time ``kt`` branches summed).

* **z-branch switch** (Tetris training): with ``z_branch=False`` the layer holds no ``w_z`` at all (a 2D+t layer:
  every z slice is filtered on its own); :meth:`Sep4dConv.enable_z_branch` adds ``w_z`` initialised to **zero**, so
  the layer computes exactly what it computed before and fine-tuning starts from the 2D+t network.
* **time padding**: ``circular`` for snapshots of one period of a steady state (the cycle wraps around: the frame
  after the last is the first); ``zeros`` for a tone burst: the field before the first snapshot is zero by
  causality (the first snapshot is taken as the source starts) and the frames after the last are unknown, so
  treating them as silent is the honest choice, where wrapping would feed the late wave into the quiet start. The
  kernel pads circularly, so ``zeros`` pads ``kt // 2`` zero frames on each side, convolves and crops them off
  (``(T + kt - 1) / T`` of the work).
* **conv spec** (``conv``): ``dense`` (every branch a full ``Cout x Cin`` kernel: ``(ky kx + kz + kt) Cin Cout``
  weights) or ``cp:R``: the in-plane kernel of every channel pair is a sum of ``R`` separable terms
  ``a_r(ky) b_r(kx)`` (Boukraichi et al.'s a-priori compressed conv, the 2D case; the z and t kernels are 1D
  already), rebuilt each call and handed to the same kernel. ``cp:1`` is 6 instead of 9 in-plane weights at 3x3;
  any rank is accepted, as in the 3D layer (``cp:R`` with ``R (ky + kx) >= ky kx`` has no fewer weights than
  dense — at 3x3 only ``cp:1`` compresses, at 5x5 ``cp:1`` and ``cp:2`` — but stays a low-rank constraint).
* **init**: uniform in ``+-1/sqrt(fan_in)`` with ``fan_in = Cin (ky kx + kz + kt)`` (PyTorch's conv default for
  the summed receptive field), bias likewise.

Example:
    >>> import torch
    >>> conv = Sep4dConv(2, 3, z_branch=False)
    >>> x = torch.randn(1, 2, 4, 3, 5, 5)
    >>> before = conv(x)
    >>> conv.enable_z_branch()
    >>> torch.equal(conv(x), before), conv.w_z.shape
    (True, torch.Size([3, 2, 3]))
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from tfus.kernels import sep4d_conv
from tfus.pipeline.errors import TfusInputError

__all__ = ["SEP4D_CONV_KINDS", "Sep4dConv", "parse_sep4d_conv"]

#: conv specs a :class:`Sep4dConv` understands (``cp`` takes a rank: ``cp:2``).
SEP4D_CONV_KINDS = ("dense", "cp")


def parse_sep4d_conv(spec: str) -> tuple[str, int | None]:
    """``"dense"`` -> ``("dense", None)``, ``"cp:R"`` -> ``("cp", R)``; anything else is a one-line error.

    Example:
        >>> parse_sep4d_conv("cp:2")
        ('cp', 2)
    """
    if not isinstance(spec, str) or not spec.strip():
        raise TfusInputError(f"conv spec must be a string such as 'dense' or 'cp:2', got {spec!r}")
    name, _, arg = spec.strip().partition(":")
    if name not in SEP4D_CONV_KINDS:
        raise TfusInputError(f"the separable 4D conv has no {spec!r} variant; use one of: dense, cp:R")
    if name == "dense":
        if arg:
            raise TfusInputError(f"conv spec 'dense' takes no argument, got {spec!r}")
        return name, None
    if not arg.isdigit() or int(arg) < 1:
        raise TfusInputError(f"conv spec {spec!r}: the rank must be a positive integer, e.g. cp:1")
    return name, int(arg)


class Sep4dConv(nn.Module):
    """Separable 4D conv with learned weights (see the module docstring).

    Args:
        in_channels: ``Cin``.
        out_channels: ``Cout``.
        plane_kernel: ``(ky, kx)`` (odd; an int for both).
        z_kernel: ``kz`` (odd; 0: never a z-branch).
        t_kernel: ``kt`` (odd; 0: no time branch).
        z_branch: start with the z-branch on.
        time_padding: ``circular`` or ``zeros``.
        conv: ``dense`` or ``cp:R``.
        bias: learn a bias.
    """

    def __init__(self, in_channels: int, out_channels: int, plane_kernel: int | tuple[int, int] = 3,
                 z_kernel: int = 3, t_kernel: int = 3, z_branch: bool = True,
                 time_padding: Literal["circular", "zeros"] = "zeros", conv: str = "dense",
                 bias: bool = True) -> None:
        super().__init__()
        ky, kx = (plane_kernel, plane_kernel) if isinstance(plane_kernel, int) else tuple(plane_kernel)
        if any(k % 2 == 0 or k < 1 for k in (ky, kx)) or any(k % 2 == 0 and k != 0 for k in (z_kernel, t_kernel)):
            raise TfusInputError(f"sep4d kernels must be odd (plane {ky}x{kx}, z {z_kernel}, t {t_kernel}); 0 turns "
                                 "the z or t branch off")
        if time_padding not in ("circular", "zeros"):
            raise TfusInputError(f"time_padding must be circular or zeros, got {time_padding!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.plane_kernel, self.z_kernel, self.t_kernel = (ky, kx), int(z_kernel), int(t_kernel)
        self.time_padding = time_padding
        self.kind, self.rank = parse_sep4d_conv(conv)
        self.conv = conv
        cin, cout = self.in_channels, self.out_channels
        fan_in = cin * (ky * kx + self.z_kernel + self.t_kernel)
        self._bound = 1.0 / math.sqrt(fan_in)
        if self.kind == "dense":
            self.w_plane = nn.Parameter(self._uniform(cout, cin, ky, kx))
        else:  # rank R: w_plane[o, i] = sum_r a[o, i, r] (x) b[o, i, r], factors ~ U(-s, s) with s chosen so that
            # var(sum_r a b) = R (s^2 / 3)^2 equals the dense kernel's bound^2 / 3
            scale = (3 * self._bound ** 2 / self.rank) ** 0.25
            self.plane_a = nn.Parameter(torch.empty(cout, cin, self.rank, ky).uniform_(-1, 1) * scale)
            self.plane_b = nn.Parameter(torch.empty(cout, cin, self.rank, kx).uniform_(-1, 1) * scale)
        self.w_t = nn.Parameter(self._uniform(cout, cin, self.t_kernel)) if self.t_kernel else None
        self.w_z: nn.Parameter | None = None
        if z_branch and self.z_kernel:
            self.w_z = nn.Parameter(self._uniform(cout, cin, self.z_kernel))
        self.bias = nn.Parameter(self._uniform(cout)) if bias else None

    def _uniform(self, *shape: int) -> torch.Tensor:
        return torch.empty(*shape).uniform_(-self._bound, self._bound)

    @property
    def z_branch(self) -> bool:
        """Whether the z-branch is on."""
        return self.w_z is not None

    def enable_z_branch(self) -> None:
        """Add the z-branch with zero weights (the output is unchanged until it is trained); no-op if it is on."""
        if self.w_z is None and self.z_kernel:
            ref = self.w_t if self.w_t is not None else self.plane_weight()
            self.w_z = nn.Parameter(torch.zeros(self.out_channels, self.in_channels, self.z_kernel,
                                                dtype=ref.dtype, device=ref.device))

    def plane_weight(self) -> torch.Tensor:
        """The in-plane kernel ``(Cout, Cin, ky, kx)`` (rebuilt from the factors for ``cp:R``)."""
        if self.kind == "dense":
            return self.w_plane
        return torch.einsum("oiry,oirx->oiyx", self.plane_a, self.plane_b)

    def n_weights(self) -> int:
        """Trainable numbers of this layer."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, Cin, T, Z, Y, X)`` -> ``(B, Cout, T, Z, Y, X)``."""
        pad = self.t_kernel // 2 if (self.time_padding == "zeros" and self.w_t is not None) else 0
        if pad:
            x = F.pad(x, (0, 0, 0, 0, 0, 0, pad, pad))
        out = sep4d_conv(x, self.plane_weight(), self.w_z, self.w_t, self.bias)
        return out[:, :, pad: out.shape[2] - pad] if pad else out

    def extra_repr(self) -> str:
        z = self.z_kernel if self.z_branch else "off"
        return (f"{self.in_channels}, {self.out_channels}, plane={self.plane_kernel}, z={z}, t={self.t_kernel}, "
                f"time_padding={self.time_padding}, conv={self.conv}")
