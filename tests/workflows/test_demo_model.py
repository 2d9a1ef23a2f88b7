"""The DeepTFUS presets the demo and the benchmarks train: the benchmarks start from the ``demo`` preset, the demo's
training path trains the ``beam-has`` preset (the shipped model's architecture and prior)."""

from tfus.surrogates.networks.nets.deeptfus_config import PRESETS, DeepTFUSConfig
from tfus.workflows.demo import DemoConfig, demo_model


def test_benchmarks_start_from_the_demo_preset():
    expected = {"width": 8, "depth": 3, "n_experts": 2, "n_points": 512, "free_field_prior": True}
    assert PRESETS["demo"] == expected
    assert demo_model() == expected
    demo_model()["width"] = 99  # a copy: the preset is not changed by a caller
    assert PRESETS["demo"]["width"] == 8
    cfg = DeepTFUSConfig.from_mapping({"preset": "demo"})
    assert DeepTFUSConfig.from_mapping(demo_model()) == cfg
    assert (cfg.width, cfg.depth, cfg.n_experts, cfg.n_points, cfg.free_field_prior) == (8, 3, 2, 512, True)


def test_demo_training_path_trains_the_shipped_models_preset():
    import torch

    from tfus.pipeline.transducers.bowl import load_transducer
    from tfus.surrogates.shipped import shipped_model_for

    assert DemoConfig().model == {"preset": "beam-has"}
    DemoConfig().model["preset"] = "tiny"  # a fresh mapping per config
    assert DemoConfig().model == {"preset": "beam-has"}
    cfg = DeepTFUSConfig.from_mapping(DemoConfig().model)
    assert cfg == DeepTFUSConfig.from_mapping(PRESETS["beam-has"]) and cfg.beam_prior == "angular-spectrum"
    # the same architecture and prior as the model that ships
    shipped = torch.load(shipped_model_for(load_transducer("neurofus-ctx250")).checkpoint, weights_only=True)
    assert DeepTFUSConfig(**shipped["model_config"]) == cfg


def test_base_preset_is_the_defaults():
    assert DeepTFUSConfig.from_mapping({"preset": "base"}) == DeepTFUSConfig()
