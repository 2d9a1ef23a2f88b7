"""The DeepTFUS network: shapes, config validation, every conditioning path switchable, the transducer actually
steering the output, and the conv factory reaching every convolution."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.layers import conv_factory
from tfus.surrogates.networks.nets import DeepTFUS, DeepTFUSConfig

PATHS = ("dynamic_conv", "cross_attention", "film")


def tiny(**kw) -> DeepTFUS:
    torch.manual_seed(0)
    return DeepTFUS(DeepTFUSConfig.from_mapping({"preset": "tiny", **kw}))


@pytest.mark.parametrize(("dims", "shape"), [(2, (16, 12)), (3, (8, 16, 8)), (2, (13, 10))])
def test_output_shapes(dims, shape):
    net = tiny(spatial_dims=dims)
    ct, pts = net.example_inputs(batch=2, shape=shape, n_points=7)
    out = net(ct, pts)
    assert out.field.shape == (2, 1, *shape) and out.log_peak.shape == (2,)
    assert torch.isfinite(out.field).all()
    assert tiny(spatial_dims=dims, predict_scale=False)(ct, pts).log_peak is None


def test_config_validation_is_one_line():
    with pytest.raises(TfusInputError, match="unknown model key 'widht'"):
        DeepTFUSConfig.from_mapping({"widht": 8})
    with pytest.raises(TfusInputError, match="channels must list depth"):
        DeepTFUSConfig.from_mapping({"depth": 2, "channels": [4, 8]})
    with pytest.raises(TfusInputError, match="attention_levels"):
        DeepTFUSConfig.from_mapping({"depth": 2, "attention_levels": [3]})
    with pytest.raises(TfusInputError, match="unknown conv spec"):
        DeepTFUSConfig.from_mapping({"conv": "cq:4"})
    with pytest.raises(TfusInputError, match="positive integer rank"):
        DeepTFUSConfig.from_mapping({"conv": "cp:4x"})
    with pytest.raises(TfusInputError, match="unknown model preset"):
        DeepTFUSConfig.from_mapping({"preset": "huge"})
    with pytest.raises(TfusInputError, match="too small"):
        tiny()(torch.zeros(1, 1, 2, 8, 8), torch.zeros(1, 3, 3))
    assert DeepTFUSConfig(depth=2, channels=(3, 5, 7)).level_channels == (3, 5, 7)


MARKERS = {"dynamic_conv": ("router", "experts"), "cross_attention": ("attention.",), "film": ("film",),
           "fourier_features": ("fourier",), "predict_scale": ("scale_head",), "coord_channels": ()}


@pytest.mark.parametrize("flag", sorted(MARKERS))
def test_each_flag_off_removes_its_parameters_and_runs(flag):
    on, off = tiny(), tiny(**{flag: False})
    names_on = set(on.state_dict())
    names_off = set(off.state_dict())
    for marker in MARKERS[flag]:
        assert any(marker in n for n in names_on) and not any(marker in n for n in names_off), marker
    assert off.n_parameters() < on.n_parameters() or flag == "fourier_features"
    ct, pts = off.example_inputs(batch=1, shape=(8, 8, 8))
    assert off(ct, pts).field.shape == (1, 1, 8, 8, 8)


def test_all_conditioning_off_is_a_plain_unet():
    net = tiny(dynamic_conv=False, cross_attention=False, film=False)
    assert net.transducer is None
    ct, pts = net.example_inputs(batch=1, shape=(8, 8, 8))
    out = net(ct, pts)
    assert torch.equal(out.field, net(ct, torch.rand_like(pts)).field)
    assert torch.equal(out.log_peak, net(ct).log_peak)


def _responds_to_points(net: DeepTFUS) -> bool:
    ct, pts = net.example_inputs(batch=1, shape=(8, 8, 8), n_points=12)
    return not torch.allclose(net(ct, pts).field, net(ct, torch.flip(pts, dims=[-1]) * 0.5).field, atol=1e-6)


@pytest.mark.parametrize("path", PATHS)
def test_each_path_alone_lets_the_points_steer_the_field(path):
    others = {p: False for p in PATHS if p != path}
    net = tiny(**others, film_zero_init=False)
    assert _responds_to_points(net)


def test_gradients_reach_the_transducer_encoder():
    net = tiny()
    ct, pts = net.example_inputs(batch=2, shape=(8, 8, 8))
    pts.requires_grad_(True)
    out = net(ct, pts)
    (out.field.square().mean() + out.log_peak.square().mean()).backward()
    for name, p in net.transducer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert pts.grad.abs().sum() > 0
    for name, p in net.named_parameters():  # FiLM starts as the identity but learns at once
        if "film" in name and name.endswith("weight"):
            assert p.grad.abs().sum() > 0, name


def test_conv_spec_reaches_every_convolution():
    class MarkedConv(nn.Conv3d):
        pass

    @conv_factory.register_conv("marked-test")
    def _build(dims, cin, cout, kernel, stride, padding, bias, arg):
        return MarkedConv(cin, cout, kernel, stride=stride, padding=padding, bias=bias)

    try:
        net = tiny(conv="marked-test")
        convs = [m for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd)]
        assert convs and all(isinstance(m, MarkedConv) for m in convs)
        ct, pts = net.example_inputs(batch=2, shape=(8, 8, 8))
        assert net(ct, pts).field.shape == (2, 1, 8, 8, 8)  # dynamic convs take the mixed-outputs path
    finally:
        conv_factory._BUILDERS.pop("marked-test", None)


def test_presets_build():
    assert DeepTFUSConfig.from_mapping({"preset": "large"}).level_channels == (32, 64, 128, 256, 320)
    assert DeepTFUS().config == DeepTFUSConfig()
