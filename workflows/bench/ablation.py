"""DeepTFUS ablation: the same training on the same store with each conditioning path switched off in turn, evaluated
on the held-out split — the table of issue 5 ("each conditioning path off, one at a time").

Example:
    >>> from tfus.workflows.bench.ablation import VARIANTS
    >>> list(VARIANTS)[:2]
    ['full', 'no dynamic conv']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

VARIANTS: dict[str, dict] = {
    "full": {},
    "no dynamic conv": {"dynamic_conv": False},
    "no cross-attention": {"cross_attention": False},
    "no FiLM": {"film": False},
    "no Fourier features": {"fourier_features": False},
    "no conditioning (plain U-Net + scale head)": {"dynamic_conv": False, "cross_attention": False, "film": False},
    "no free-field prior": {"free_field_prior": False},
}


#: evaluation keys each row keeps
ACCURACY = ("rel_l2", "focal_error_mm", "peak_error", "focal_error_brain_mm", "focal_dice")


def run_ablation(store: str | Path, workdir: str | Path, *, base_model: dict, epochs: int, batch_size: int = 2,
                 seed: int = 0, device: str = "cpu", split: str = "test", variants: list[str] | None = None,
                 say: Callable[[str], None] = print) -> list[dict]:
    """Train and evaluate every variant; return one row per variant (parameters, training seconds, metrics)."""
    from tfus.pipeline.errors import TfusInputError
    from tfus.surrogates.evaluation import evaluate
    from tfus.surrogates.registry import build_model_with_config
    from tfus.surrogates.training.config import TrainConfig
    from tfus.surrogates.training.run import train

    names = variants or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise TfusInputError(f"unknown ablation variant(s) {unknown}; choose from {list(VARIANTS)}")
    rows = []
    for name in names:
        model = {**base_model, **VARIANTS[name]}
        n_params = sum(p.numel() for p in build_model_with_config("deeptfus", model)[0].parameters())
        run_dir = Path(workdir) / name.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "")
        say(f"{name}: training {epochs} epochs ({n_params / 1e6:.2f} M parameters)")
        t0 = time.perf_counter()
        cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=2e-3, seed=seed, num_workers=0,
                          model_name="deeptfus", model=model, augment=True, val_split=None)
        train(store, run_dir, cfg, device=device, progress=False, say=None)
        train_s = time.perf_counter() - t0
        ev = evaluate(run_dir, store, split=split, device=device)
        rows.append({"variant": name, "parameters": n_params, "train_seconds": train_s,
                     **{k: ev[k] for k in ACCURACY if k in ev}})
    return rows


def render_ablation(rows: list[dict], epochs: int, store) -> list:
    """The rows of :func:`run_ablation` as a rich table.

    Example:
        >>> for item in render_ablation(rows, 12, "dataset.zarr"):  # doctest: +SKIP
        ...     Console().print(item)
    """
    from rich.table import Table

    table = Table("variant", "parameters", "train (s)", "rel. L2 % (mean / median)", "focal error mm",
                  "peak error %", "intracranial focal error mm", "focal Dice",
                  title=f"DeepTFUS ablation, {epochs} epochs, test split of {store}")

    def cell(r: dict, k: str) -> str:
        return f"{r[k]['mean']:.1f} / {r[k]['median']:.1f}" if k in r else "-"

    for r in rows:
        table.add_row(r["variant"], f"{r['parameters'] / 1e6:.2f} M", f"{r['train_seconds']:.0f}", cell(r, "rel_l2"),
                      cell(r, "focal_error_mm"), cell(r, "peak_error"), cell(r, "focal_error_brain_mm"),
                      f"{r['focal_dice']['mean']:.2f}" if "focal_dice" in r else "-")
    return [table]
