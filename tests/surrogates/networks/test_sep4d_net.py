"""The separable-4D layer and U-Net: the layer is the kernel reference with its weights (dense and rank-R in-plane
kernels, circular and zero time padding checked against a direct time convolution), a zero-initialised z-branch
leaves layer and network unchanged (Tetris), shapes and gradients of the network (also on single z slices), weight
loading from a 2D+t checkpoint, and one-line config errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tfus.kernels.reference.sep4d import sep4d_conv_reference
from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.checkpoint import load_checkpoint, save_checkpoint
from tfus.surrogates.networks.layers.sep4d_conv import Sep4dConv
from tfus.surrogates.networks.nets import Sep4dConfig, Sep4dUNet
from tfus.surrogates.registry import build_model_with_config, model_from_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _x(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("z_branch", [True, False])
def test_layer_is_the_kernel_reference_with_its_weights(z_branch):
    conv = Sep4dConv(3, 5, z_branch=z_branch, time_padding="circular").double()
    x = _x(2, 3, 4, 5, 6, 7)
    ref = sep4d_conv_reference(x, conv.w_plane, conv.w_z, conv.w_t, conv.bias)
    torch.testing.assert_close(conv(x), ref, rtol=0, atol=0)
    assert (conv.w_z is not None) == z_branch
    assert conv.n_weights() == (15 if z_branch else 12) * 3 * 5 + 5  # 9 + 3 + 3 taps per channel pair


def test_zero_time_padding_is_a_zero_padded_time_convolution():
    conv = Sep4dConv(2, 3, z_branch=False, time_padding="zeros").double()
    x = _x(1, 2, 5, 3, 4, 4, seed=1)
    b, c, t, z, y, xx = x.shape
    direct = F.conv3d(x.reshape(b, c, t, z, y * xx), conv.w_t[:, :, :, None, None], padding=(1, 0, 0))
    expected = sep4d_conv_reference(x, conv.w_plane, None, None, conv.bias) + direct.reshape(b, 3, t, z, y, xx)
    torch.testing.assert_close(conv(x), expected)
    # differs from the circular conv exactly at the first and last frame
    circular = sep4d_conv_reference(x, conv.w_plane, None, conv.w_t, conv.bias)
    same = torch.isclose(conv(x), circular).all(dim=(0, 1, 3, 4, 5))
    assert same.tolist() == [False, True, True, True, False]


def test_rank_r_in_plane_kernels():
    torch.manual_seed(0)
    conv = Sep4dConv(2, 3, conv="cp:1", time_padding="circular").double()
    w = conv.plane_weight()
    assert w.shape == (3, 2, 3, 3) and int(torch.linalg.matrix_rank(w).max()) == 1
    x = _x(1, 2, 3, 4, 5, 5, seed=2)
    torch.testing.assert_close(conv(x), sep4d_conv_reference(x, w, conv.w_z, conv.w_t, conv.bias))
    assert conv.n_weights() == 3 * 2 * (3 + 3 + 3 + 3) + 3  # a, b (rank 1) + z + t kernels + bias
    dense = Sep4dConv(2, 3)
    ratio = conv.plane_weight().detach().var() / dense.w_plane.detach().var()
    assert 0.3 < float(ratio) < 3  # the factor init keeps the dense kernel's variance (statistically)
    assert Sep4dConv(2, 3, plane_kernel=5, conv="cp:2").plane_weight().shape == (3, 2, 5, 5)
    assert Sep4dConv(2, 3, conv="cp:4").plane_weight().shape == (3, 2, 3, 3)  # any rank, as in the 3D layer
    for bad, needle in (("cp:0", "positive integer"), ("cp:x", "positive integer"),
                        ("fft", "no 'fft' variant"), ("dense:2", "no argument")):
        with pytest.raises(TfusInputError, match=needle):
            Sep4dConv(2, 3, conv=bad)


def test_zero_initialised_z_branch_changes_nothing_and_then_learns():
    conv = Sep4dConv(2, 2, z_branch=False)
    x = torch.randn(1, 2, 3, 4, 5, 5)
    before = conv(x).detach()
    conv.enable_z_branch()
    assert torch.equal(conv(x), before) and torch.count_nonzero(conv.w_z) == 0
    conv(x).square().sum().backward()
    assert conv.w_z.grad is not None and conv.w_z.grad.abs().sum() > 0


def test_network_shapes_gradients_and_single_slices():
    torch.manual_seed(0)
    net = Sep4dUNet(Sep4dConfig.from_mapping({"preset": "tiny", "depth": 2}))
    ct, geometry, wave = net.example_inputs(batch=2, shape=(4, 6, 9, 7))
    out = net(ct, geometry, wave)
    assert out.field.shape == (2, 1, 4, 6, 9, 7) and out.log_peak.shape == (2,)
    (out.field.square().mean() + out.log_peak.square().mean()).backward()
    assert all(p.grad is not None for p in net.parameters())
    one = net(*net.example_inputs(batch=1, shape=(4, 1, 8, 8)))  # 2D+t: a single z slice is never pooled in z
    assert one.field.shape == (1, 1, 4, 1, 8, 8)
    with pytest.raises(TfusInputError, match="geometry input"):
        net(ct, geometry[:, :1], wave)


def test_zero_z_branches_give_the_2d_plus_t_network():
    torch.manual_seed(0)
    flat = Sep4dUNet(Sep4dConfig.from_mapping({"preset": "tiny", "z_branch": False}))
    torch.manual_seed(1)
    full = Sep4dUNet(Sep4dConfig.from_mapping({"preset": "tiny"}))
    zeroed = full.load_init_weights(flat.state_dict())
    assert zeroed and all(k.endswith(".w_z") for k in zeroed)
    assert len(zeroed) == len(full.sep4d_convs())
    inputs = flat.example_inputs(batch=1, shape=(3, 6, 8, 8))
    flat.eval(), full.eval()
    torch.testing.assert_close(full(*inputs).field, flat(*inputs).field, rtol=0, atol=0)
    flat.enable_z_branch()  # in place: the same
    torch.testing.assert_close(flat(*inputs).field, full(*inputs).field, rtol=0, atol=0)
    with pytest.raises(TfusInputError, match="do not fit"):  # 4D weights into a 2D+t network: unexpected w_z
        Sep4dUNet(Sep4dConfig.from_mapping({"preset": "tiny", "z_branch": False})).load_init_weights(
            full.state_dict())
    with pytest.raises(TfusInputError, match="do not fit"):
        Sep4dUNet(Sep4dConfig.from_mapping({"preset": "tiny", "width": 6})).load_init_weights(flat.state_dict())


def test_registry_config_and_checkpoint_round_trip(tmp_path):
    model, cfg = build_model_with_config("sep4d", {"preset": "tiny", "conv": "cp:1", "time_padding": "circular"})
    assert cfg["conv"] == "cp:1" and cfg["width"] == 4
    save_checkpoint(tmp_path / "m.pt", {"model": "sep4d", "model_config": cfg, "normalization": {}, "data": {},
                                        "state_dict": model.state_dict()})
    again = model_from_checkpoint(load_checkpoint(tmp_path / "m.pt"))
    inputs = model.example_inputs(1, (2, 4, 4, 4))
    torch.testing.assert_close(again(*inputs).field, model(*inputs).field)
    for bad, needle in (({"widht": 3}, "unknown sep4d model key 'widht'"), ({"z_kernel": 2}, "odd"),
                        ({"conv": "cp:0"}, "positive integer"), ({"preset": "huge"}, "unknown sep4d preset"),
                        ({"depth": 1, "channels": [4]}, r"depth \+ 1")):
        with pytest.raises(TfusInputError, match=needle):
            build_model_with_config("sep4d", bad)
