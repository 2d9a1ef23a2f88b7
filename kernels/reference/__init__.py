"""Pure-PyTorch references of the volumetric operators: the definition each Triton kernel is tested against, and the
path every non-CUDA tensor takes."""

from tfus.kernels.reference.cp_conv3d import cp_conv3d_reference, cp_weight
from tfus.kernels.reference.depthwise3d import depthwise_conv3d_reference
from tfus.kernels.reference.sep4d import sep4d_conv_reference

__all__ = ["cp_conv3d_reference", "cp_weight", "depthwise_conv3d_reference", "sep4d_conv_reference"]
