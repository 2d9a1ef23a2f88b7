"""The public operators: each checks its inputs, asks :func:`tfus.kernels.dispatch.backend_for` which implementation
runs, and calls the Triton custom op (``torch.ops.tfus.*``) or the PyTorch reference."""

from tfus.kernels.ops.cp_conv3d import cp_conv3d
from tfus.kernels.ops.depthwise3d import depthwise_conv3d
from tfus.kernels.ops.sep4d import sep4d_conv

__all__ = ["cp_conv3d", "depthwise_conv3d", "sep4d_conv"]
