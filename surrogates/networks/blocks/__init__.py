"""Blocks: the transducer encoder (attention pooling), cross-attention, U-Net levels, the scale head and the
separable-4D residual block."""

from tfus.surrogates.networks.blocks.cross_attention import SpatialCrossAttention, grid_coordinates
from tfus.surrogates.networks.blocks.scale_head import ScaleHead
from tfus.surrogates.networks.blocks.sep4d_blocks import Pointwise, Sep4dNorm, Sep4dResBlock
from tfus.surrogates.networks.blocks.transducer_encoder import AttentionPooling, TransducerEncoder
from tfus.surrogates.networks.blocks.unet_blocks import DecoderBlock, EncoderBlock, make_act, make_norm

__all__ = ["AttentionPooling", "DecoderBlock", "EncoderBlock", "Pointwise", "ScaleHead", "Sep4dNorm", "Sep4dResBlock",
           "SpatialCrossAttention", "TransducerEncoder", "grid_coordinates", "make_act", "make_norm"]
