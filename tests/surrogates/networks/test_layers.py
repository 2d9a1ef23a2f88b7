"""Layers and blocks of the surrogate networks: conv factory, Fourier features, FiLM, dynamic conv, transducer
encoder, cross-attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.blocks import SpatialCrossAttention, TransducerEncoder, grid_coordinates
from tfus.surrogates.networks.layers import DynamicConv, FiLM, FourierFeatures, make_conv, parse_conv_spec


@pytest.mark.parametrize("dims", [2, 3])
def test_make_conv_keeps_size_and_strides(dims):
    x = torch.randn(2, 3, *([9] * dims))
    assert make_conv(dims, 3, 5)(x).shape == (2, 5, *([9] * dims))
    assert make_conv(dims, 3, 5, kernel_size=1, stride=2)(x).shape == (2, 5, *([5] * dims))


def test_conv_spec_errors():
    assert parse_conv_spec("dense") == ("dense", None)
    with pytest.raises(TfusInputError, match="unknown conv spec 'nope:3'"):
        make_conv(3, 1, 1, conv_spec="nope:3")
    with pytest.raises(TfusInputError, match="odd"):
        make_conv(3, 1, 1, kernel_size=2)
    with pytest.raises(TfusInputError, match="takes no argument"):
        make_conv(3, 1, 1, conv_spec="dense:2")


def test_fourier_features_are_seeded_buffers():
    a, b = FourierFeatures(3, 8, 5.0, seed=1), FourierFeatures(3, 8, 5.0, seed=1)
    x = torch.rand(4, 3)
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), FourierFeatures(3, 8, 5.0, seed=2)(x))
    assert list(a.parameters()) == [] and "freqs" in dict(a.named_buffers())
    out = a(x)
    assert out.shape == (4, 19) and torch.equal(out[:, :3], x)
    assert torch.allclose(out[:, 3:11] ** 2 + out[:, 11:] ** 2, torch.ones(4, 8), atol=1e-5)


def test_film_identity_at_zero_init_and_affine_after():
    film = FiLM(3, cond_dim=2)
    x, z = torch.randn(2, 3, 4, 4, 4), torch.randn(2, 2)
    assert torch.equal(film(x, z), x)
    with torch.no_grad():
        film.proj.bias.copy_(torch.tensor([1.0, 0.0, -1.0, 0.5, 0.0, 2.0]))  # gamma (1, 0, -1), beta (.5, 0, 2)
    y = film(x, z)
    assert torch.allclose(y[:, 0], 2 * x[:, 0] + 0.5) and torch.allclose(y[:, 1], x[:, 1])
    assert torch.allclose(y[:, 2], torch.full_like(x[:, 2], 2.0))
    assert not torch.equal(FiLM(3, 2, zero_init=False)(x, z), x)


@pytest.mark.parametrize("dims", [2, 3])
def test_dynamic_conv_with_fixed_kernel_is_a_plain_conv(dims):
    torch.manual_seed(0)
    conv = DynamicConv(dims, 3, 4, cond_dim=5, n_experts=3, stride=2)
    with torch.no_grad():  # router off: the predicted kernel is the experts' mean whatever z is
        conv.router.weight.zero_()
        conv.router.bias.zero_()
    weight = torch.stack([e.weight for e in conv.experts]).mean(0)
    bias = torch.stack([e.bias for e in conv.experts]).mean(0)
    x = torch.randn(2, 3, *([8] * dims))
    expected = getattr(F, f"conv{dims}d")(x, weight, bias, stride=2, padding=1)
    assert torch.allclose(conv(x, torch.randn(2, 5)), expected, atol=1e-5)
    single = DynamicConv(dims, 3, 4, cond_dim=5, n_experts=1)
    assert torch.allclose(single(x, torch.randn(2, 5)), single.experts[0](x), atol=1e-5)


def test_dynamic_conv_per_sample_kernels_and_both_paths_agree():
    torch.manual_seed(0)
    conv = DynamicConv(3, 2, 3, cond_dim=4, n_experts=4)
    x, z = torch.randn(2, 2, 6, 6, 6), torch.randn(2, 4) * 3
    fast = conv(x, z)
    conv._grouped = False  # per-expert outputs mixed: the path taken by non-dense conv kinds
    slow = conv(x, z)
    assert torch.allclose(fast, slow, atol=1e-5)
    # each sample uses its own mixture: sample 0 alone gives the same output
    assert torch.allclose(conv(x[:1], z[:1]), fast[:1], atol=1e-5)
    assert not torch.allclose(conv(x[:1], z[1:]), fast[:1], atol=1e-3)


def test_transducer_encoder_masks_and_ignores_order():
    torch.manual_seed(0)
    enc = TransducerEncoder(embed_dim=16, n_frequencies=8, n_tokens=3, n_heads=2)
    pts = torch.rand(1, 10, 3) * 2 - 1
    tokens, z = enc(pts)
    assert tokens.shape == (1, 3, 16) and z.shape == (1, 16)
    _, z_perm = enc(pts[:, torch.randperm(10)])
    assert torch.allclose(z, z_perm, atol=1e-5)
    padded = torch.cat([pts, torch.full((1, 5, 3), 0.9)], dim=1)
    mask = torch.arange(15)[None] < 10
    assert torch.allclose(enc(padded, mask)[1], z, atol=1e-5)
    assert not torch.allclose(enc(padded)[1], z, atol=1e-4)
    with pytest.raises(TfusInputError, match="no valid point"):
        enc(padded, torch.zeros(1, 15, dtype=torch.bool))
    with pytest.raises(TfusInputError, match="shape"):
        enc(torch.rand(1, 10, 2))


def test_cross_attention_depends_on_tokens_and_position():
    torch.manual_seed(0)
    block = SpatialCrossAttention(2, channels=8, context_dim=6, head_dim=4)
    x, ctx = torch.randn(1, 8, 5, 7), torch.randn(1, 3, 6)
    y = block(x, ctx)
    assert y.shape == x.shape and not torch.allclose(y, block(x, ctx + 1.0))
    const = torch.ones(1, 8, 5, 7)  # same features everywhere: only the position term makes voxels differ
    out = block(const, ctx)
    assert not torch.allclose(out[..., 0, 0], out[..., 4, 6])
    assert torch.allclose(SpatialCrossAttention(2, 8, 6, position=False)(const, ctx).std(dim=(2, 3)),
                          torch.zeros(1, 8), atol=1e-5)


def test_grid_coordinates_corners():
    g = grid_coordinates((4, 3, 2))
    assert g.shape == (4, 3, 2, 3)
    assert g[0, 0, 0].tolist() == [-1, -1, -1] and g[-1, -1, -1].tolist() == [1, 1, 1]
