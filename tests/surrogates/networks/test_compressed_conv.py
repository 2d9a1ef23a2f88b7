"""The rank-R compressed convolution (``conv: cp:R``): shapes in 1/2/3D with strides, the same function as a dense
conv holding the rebuilt kernel, its parameter count, the dense conv's init variance (statistically), gradients,
DeepTFUS with ``cp:2`` (forward, backward, checkpoint round trip) and one-line errors for bad specs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tfus.kernels import cp_weight
from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.checkpoint import load_checkpoint, save_checkpoint
from tfus.surrogates.networks.layers import CompressedConv, DynamicConv, make_conv, parse_conv_spec
from tfus.surrogates.networks.nets import DeepTFUSConfig
from tfus.surrogates.registry import build_model_with_config, model_from_checkpoint


def _reference_weight(conv: CompressedConv) -> torch.Tensor:
    """The dense kernel through :func:`tfus.kernels.cp_weight`, padding 1D/2D factors with length-1 ones."""
    factors = list(conv.factors)
    ones = torch.ones(*factors[0].shape[:3], 1, dtype=factors[0].dtype)
    weight = cp_weight(*(factors + [ones] * (3 - len(factors))))
    return weight.reshape(*weight.shape[:2], *conv.kernel_size)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("stride", [1, 2])
def test_shapes_and_equal_to_dense_conv_with_the_rebuilt_kernel(dims, stride):
    torch.manual_seed(dims * 10 + stride)
    kernel = (3, 5, 1)[:dims]
    conv = CompressedConv(dims, 3, 4, kernel_size=kernel, rank=3, stride=stride).double()
    x = torch.randn(2, 3, *(9, 7, 6)[:dims], dtype=torch.float64)
    y = conv(x)
    assert y.shape == (2, 4, *(math.ceil(n / stride) for n in (9, 7, 6)[:dims]))
    dense = getattr(F, f"conv{dims}d")(x, _reference_weight(conv), conv.bias, stride=stride,
                                       padding=tuple(k // 2 for k in kernel))
    torch.testing.assert_close(y, dense, atol=1e-6, rtol=0)
    torch.testing.assert_close(conv.dense_weight(), _reference_weight(conv), atol=1e-12, rtol=0)


@pytest.mark.parametrize(("dims", "kernel", "rank"),
                         [(3, (3, 3, 3), 1), (3, (3, 5, 7), 4), (2, (3, 3), 2), (1, (5,), 8)])
def test_parameter_count(dims, kernel, rank):
    cin, cout = 5, 6
    conv = CompressedConv(dims, cin, cout, kernel, rank=rank)
    assert sum(p.numel() for p in conv.parameters()) == rank * sum(kernel) * cin * cout + cout
    nobias = CompressedConv(dims, cin, cout, kernel, rank=rank, bias=False)
    assert sum(p.numel() for p in nobias.parameters()) == rank * sum(kernel) * cin * cout


def _pooled_weight_variance(make, n_layers: int = 12) -> float:
    """Mean of the squared weights over ``n_layers`` freshly initialised layers (zero-mean weights)."""
    torch.manual_seed(1234)
    sq = []
    for _ in range(n_layers):
        layer = make()
        w = layer.dense_weight() if isinstance(layer, CompressedConv) else layer.weight
        sq.append(w.detach().double().pow(2).mean())
    return float(torch.stack(sq).mean())


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("rank", [1, 2, 4, 8])
def test_init_has_the_dense_default_weight_and_output_variance(dims, rank):
    cin, cout = 16, 16
    fan_in = cin * 3 ** dims
    target = 1.0 / (3.0 * fan_in)  # PyTorch's default conv init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    dense = _pooled_weight_variance(lambda: make_conv(dims, cin, cout, 3))
    cp = _pooled_weight_variance(lambda: CompressedConv(dims, cin, cout, 3, rank=rank))
    # 12 layers x 256 kernels; a product of three uniforms is heavy-tailed: ~4-5 % standard error for rank 1
    assert abs(dense / target - 1) < 0.05
    assert abs(cp / target - 1) < 0.15, (cp / target, rank)
    # and so the output variance on white noise: interior voxels, bias off, averaged over layers
    torch.manual_seed(99)
    x = torch.randn(4, cin, *([12] * dims))
    inner = (slice(None), slice(None), *([slice(1, -1)] * dims))

    def out_var(layer) -> float:
        with torch.no_grad():
            return float(layer(x)[inner].var())

    var_dense = sum(out_var(make_conv(dims, cin, cout, 3, bias=False)) for _ in range(8)) / 8
    var_cp = sum(out_var(CompressedConv(dims, cin, cout, 3, rank=rank, bias=False)) for _ in range(8)) / 8
    assert abs(var_dense / (fan_in * target) - 1) < 0.1
    assert abs(var_cp / var_dense - 1) < 0.2, (var_cp, var_dense)


def test_init_check_can_fail():
    """A factor bound 20 % too wide multiplies the 3D weight variance by 1.2^6 ~ 3: the check above would see it."""
    torch.manual_seed(0)
    conv = CompressedConv(3, 16, 16, 3, rank=2)
    with torch.no_grad():
        for f in conv.factors:
            f.mul_(1.2)
    ratio = float(conv.dense_weight().detach().pow(2).mean()) * 3 * conv.fan_in
    assert ratio > 1.5


@pytest.mark.parametrize(("dims", "stride"), [(3, 1), (3, 2), (2, 1)])
def test_gradients_reach_every_factor(dims, stride):
    torch.manual_seed(0)
    conv = CompressedConv(dims, 2, 3, 3, rank=2, stride=stride).double()
    x = torch.randn(1, 2, *([5] * dims), dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in conv.named_parameters()]

    def func(inp, *params):
        return torch.func.functional_call(conv, dict(zip(names, params, strict=True)), (inp,))

    assert torch.autograd.gradcheck(func, (x, *conv.parameters()), eps=1e-6, atol=1e-6, fast_mode=True)
    conv(x).square().mean().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_factory_builds_cp_for_spatial_kernels_and_dense_for_pointwise():
    conv = make_conv(3, 4, 8, kernel_size=3, stride=2, conv_spec="cp:4")
    assert isinstance(conv, CompressedConv) and conv.rank == 4 and conv.stride == (2, 2, 2)
    assert conv(torch.zeros(1, 4, 7, 7, 7)).shape == (1, 8, 4, 4, 4)
    point = make_conv(3, 4, 8, kernel_size=1, stride=2, conv_spec="cp:4")
    assert type(point) is nn.Conv3d and point.stride == (2, 2, 2)
    assert parse_conv_spec("cp:4") == ("cp", "4")
    dyn = DynamicConv(3, 2, 3, cond_dim=4, n_experts=2, conv_spec="cp:1")
    assert all(isinstance(e, CompressedConv) for e in dyn.experts)
    assert dyn(torch.randn(2, 2, 6, 6, 6), torch.randn(2, 4)).shape == (2, 3, 6, 6, 6)


@pytest.mark.parametrize("spec", ["cp:0", "cp:x", "cp", "cp:-2", "cp:2.5"])
def test_bad_rank_is_a_one_line_error(spec):
    for call in (lambda: make_conv(3, 1, 1, conv_spec=spec), lambda: parse_conv_spec(spec),
                 lambda: DeepTFUSConfig.from_mapping({"preset": "tiny", "conv": spec})):
        with pytest.raises(TfusInputError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and "positive integer rank" in message and repr(spec) in message


def test_deeptfus_with_cp_trains_and_round_trips_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model, cfg = build_model_with_config("deeptfus", {"preset": "tiny", "conv": "cp:2"})
    dense, _ = build_model_with_config("deeptfus", {"preset": "tiny"})
    assert cfg["conv"] == "cp:2"
    cps = [m for m in model.modules() if isinstance(m, CompressedConv)]
    assert cps and all(m.rank == 2 for m in cps)
    assert not any(isinstance(m, nn.Conv3d) and max(m.kernel_size) > 1 for m in model.modules())
    n_cp, n_dense = (sum(p.numel() for p in m.parameters()) for m in (model, dense))
    saved = sum(m.in_channels * m.out_channels * (27 - 2 * 9) for m in cps)  # per 3^3 kernel: 27 -> 2 x (3+3+3)
    assert n_dense - n_cp == saved > 0

    ct, pts = model.example_inputs(batch=2, shape=(8, 8, 8))
    out = model(ct, pts)
    assert out.field.shape == (2, 1, 8, 8, 8) and torch.isfinite(out.field).all()
    (out.field.square().mean() + out.log_peak.square().mean()).backward()
    for m in cps:
        assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in m.factors)

    path = tmp_path / "cp.pt"
    save_checkpoint(path, {"model": "deeptfus", "model_config": cfg, "normalization": {}, "data": {},
                           "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()}})
    loaded = model_from_checkpoint(load_checkpoint(path))
    assert any(k.endswith("factors.2") for k in loaded.state_dict())
    model.eval()
    loaded.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(ct, pts).field, model(ct, pts).field, atol=0, rtol=0)
    wrong = {"model": "deeptfus", "model_config": {**cfg, "conv": "cp:3"}, "normalization": {}, "data": {},
             "state_dict": model.state_dict()}
    with pytest.raises(TfusInputError, match="do not fit"):
        model_from_checkpoint(wrong)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_forward_and_backward_match_the_rebuilt_dense_conv():
    torch.manual_seed(0)
    conv = CompressedConv(3, 8, 16, 3, rank=4).cuda()
    x = torch.randn(2, 8, 12, 10, 14, device="cuda", requires_grad=True)
    y = conv(x)
    ref = F.conv3d(x, conv.dense_weight(), conv.bias, padding=1)
    torch.testing.assert_close(y, ref, atol=1e-4, rtol=1e-4)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, *conv.factors], g)
    ref_grads = torch.autograd.grad(ref, [x, *conv.factors], g)
    for a, b in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)
