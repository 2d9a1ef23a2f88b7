"""Single layers: the conv factory, Fourier features, FiLM and dynamic convolution."""

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

__all__ = ["ConvBuilder", "DynamicConv", "FiLM", "FourierFeatures", "conv_spec_names", "make_conv", "parse_conv_spec",
           "register_conv"]
