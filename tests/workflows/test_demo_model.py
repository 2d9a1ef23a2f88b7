"""The demo model is one named DeepTFUS preset, used by `tfus demo` and the benchmarks."""

from tfus.surrogates.networks.nets.deeptfus_config import PRESETS, DeepTFUSConfig
from tfus.workflows.demo import DemoConfig, demo_model


def test_demo_trains_the_demo_preset():
    expected = {"width": 8, "depth": 3, "n_experts": 2, "n_points": 512, "free_field_prior": True}
    assert PRESETS["demo"] == expected
    assert demo_model() == expected and DemoConfig().model == expected
    demo_model()["width"] = 99  # a copy: the preset is not changed by a caller
    assert PRESETS["demo"]["width"] == 8
    cfg = DeepTFUSConfig.from_mapping({"preset": "demo"})
    assert DeepTFUSConfig.from_mapping(DemoConfig().model) == cfg
    assert (cfg.width, cfg.depth, cfg.n_experts, cfg.n_points, cfg.free_field_prior) == (8, 3, 2, 512, True)


def test_base_preset_is_the_defaults():
    assert DeepTFUSConfig.from_mapping({"preset": "base"}) == DeepTFUSConfig()
