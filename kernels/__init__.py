"""Volumetric operators: a pure-torch reference for each, Triton kernels beside it, one dispatch point.

* :func:`depthwise_conv3d` — one 3D filter per channel.
* :func:`cp_conv3d` — rank-R compressed 3D conv (sums of separable 1D filter triples).
* :func:`sep4d_conv` — separable 4D conv on (B, C, T, Z, Y, X): in-plane + z + circular-time branches.

Each public function checks its inputs and asks :func:`backend_for` which implementation runs: Triton
(:mod:`tfus.kernels.triton_kernels`) for CUDA tensors, the reference (:mod:`tfus.kernels.reference`) otherwise.

Example:
    >>> import torch
    >>> from tfus.kernels import depthwise_conv3d
    >>> depthwise_conv3d(torch.ones(1, 1, 3, 3, 3), torch.ones(1, 1, 1, 1, 1)).sum().item()
    27.0
"""

from tfus.kernels.dispatch import backend_for, triton_available
from tfus.kernels.ops import cp_conv3d, depthwise_conv3d, sep4d_conv
from tfus.kernels.reference import cp_weight

__all__ = ["backend_for", "cp_conv3d", "cp_weight", "depthwise_conv3d", "sep4d_conv", "triton_available"]
