"""``run_ablation`` (``tfus bench ablation``) on a tiny synthetic store: one row per variant, each variant really
trained with its path off (its checkpoint's config says so) and evaluated on the held-out split."""

from __future__ import annotations

import math

import pytest

from tests.helpers.synthetic_store import build_store
from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.checkpoint import load_checkpoint
from tfus.workflows.bench.ablation import run_ablation

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_ablation_rows_and_checkpoints(tmp_path):
    store = build_store(tmp_path / "s.zarr", n_heads=4)
    base = {"preset": "tiny", "free_field_prior": True}
    rows = run_ablation(store, tmp_path / "runs", base_model=base, epochs=1, variants=["full", "no free-field prior",
                                                                                        "no FiLM"], say=lambda m: None)
    assert [r["variant"] for r in rows] == ["full", "no free-field prior", "no FiLM"]
    full, no_prior, no_film = rows
    assert no_prior["parameters"] < full["parameters"] and no_film["parameters"] < full["parameters"]
    for row in rows:
        assert row["rel_l2"]["n"] == 2 and math.isfinite(row["rel_l2"]["mean"]) and row["train_seconds"] > 0
    configs = {p.name: load_checkpoint(p / "best.pt")["model_config"] for p in (tmp_path / "runs").iterdir()}
    assert configs["full"]["free_field_prior"] and configs["full"]["film"]
    assert not configs["no_free-field_prior"]["free_field_prior"]
    assert not configs["no_FiLM"]["film"] and configs["no_FiLM"]["free_field_prior"]


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(TfusInputError, match="no such path"):
        run_ablation(tmp_path / "none.zarr", tmp_path, base_model={}, epochs=1, variants=["no such path"])
