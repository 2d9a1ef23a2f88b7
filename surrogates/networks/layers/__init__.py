"""Single layers: the conv factory (``dense`` and the rank-R compressed ``cp:R``), Fourier features, FiLM, dynamic
convolution and the separable 4D convolution."""

from tfus.surrogates.networks.layers.compressed_conv import CompressedConv  # registers the ``cp`` conv spec
from tfus.surrogates.networks.layers.conv_factory import (
    ConvBuilder,
    conv_spec_names,
    make_conv,
    parse_conv_spec,
    register_conv,
)
from tfus.surrogates.networks.layers.dynamic_conv import DynamicConv
from tfus.surrogates.networks.layers.film import FiLM
from tfus.surrogates.networks.layers.fourier import FourierFeatures
from tfus.surrogates.networks.layers.sep4d_conv import Sep4dConv

__all__ = ["CompressedConv", "ConvBuilder", "DynamicConv", "FiLM", "FourierFeatures", "conv_spec_names", "make_conv",
           "parse_conv_spec", "register_conv", "Sep4dConv"]
