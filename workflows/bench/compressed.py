"""The compressed-convolution trade-off: the same DeepTFUS, the same data, the same seed and epochs, with every
convolution dense or rank-R compressed (``conv: cp:R``, :mod:`tfus.surrogates.networks.layers.compressed_conv`).

Per variant:

* ``parameters``: trainable parameters of the network (pointwise convs stay dense under ``cp:R``);
* ``peak_train_bytes``: peak memory of the training run, measured in a fresh process
  (:mod:`tfus.workflows.bench.train_memory`: CUDA ``max_memory_allocated`` on a GPU, the peak-RSS rise on the CPU);
* ``saved_activation_bytes``: bytes of the tensors autograd saves in one training forward pass at the training
  batch size (``torch.autograd.graph.saved_tensors_hooks``, unique storages, parameters excluded) — a deterministic
  part of the peak above;
* ``infer_ms``: one network forward pass on one sample of the store's grid (batch 1, ``inference_mode``, median of
  ``repeats`` after 2 warm-ups); ``predict_seconds``: the whole ``tfus predict`` path per test sample (from
  :func:`tfus.surrogates.evaluation.evaluate`);
* held-out accuracy from :func:`~tfus.surrogates.evaluation.evaluate` (the metrics module of DeepTFUS): relative L2
  (%), focal error (mm), peak error (%), mean and median over the ``split`` samples;
* ratios of parameters, memory and time to the dense variant of the same run.

Training is the ordinary :func:`tfus.surrogates.training.train` (checkpoints in ``workdir/VARIANT``), evaluation
the ordinary ``evaluate``: nothing here duplicates that machinery.

Example:
    >>> variant_specs([1, 4])
    ['dense', 'cp:1', 'cp:4']
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tfus.pipeline.errors import TfusInputError

__all__ = ["compressed_table", "render_compressed", "run_compressed_bench", "saved_activation_bytes", "variant_specs"]

ACCURACY = ("rel_l2", "focal_error_mm", "peak_error", "focal_error_brain_mm")


def variant_specs(ranks: Sequence[int]) -> list[str]:
    """``dense`` then ``cp:R`` for every rank (positive, without repeats)."""
    ranks = [int(r) for r in ranks]
    if not ranks or min(ranks) < 1 or len(set(ranks)) != len(ranks):
        raise TfusInputError(f"--ranks {ranks} must be distinct positive integers, e.g. 1,2,4,8")
    return ["dense", *(f"cp:{r}" for r in ranks)]


def saved_activation_bytes(model, batch: int, shape: Sequence[int], n_points: int, device) -> int:
    """Bytes autograd saves for backward in one training-mode forward pass of ``model`` (unique storages, the
    model's own parameters excluded)."""
    import torch

    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    model.train()
    torch.manual_seed(0)
    ct, points = model.example_inputs(batch=batch, shape=tuple(shape), n_points=n_points)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(ct.to(device), points.to(device))
    del out
    return int(sum(seen.values()))


def _forward_ms(model, shape: Sequence[int], n_points: int, device, repeats: int) -> float:
    import torch

    model.eval()
    ct, points = model.example_inputs(batch=1, shape=tuple(shape), n_points=n_points)
    ct, points = ct.to(device), points.to(device)
    times = []
    with torch.inference_mode():
        for i in range(2 + repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(ct, points)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 2:
                times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def _check_store(store: Path, split: str) -> dict:
    from tfus.pipeline.store import open_store, split_samples, store_spec

    group = open_store(store)
    counts = {s: int(split_samples(group, s).size) for s in ("train", split)}
    if counts["train"] == 0 or counts[split] == 0:
        raise TfusInputError(f"{store} needs complete samples in the train and {split!r} splits (has {counts}); "
                             "finish `tfus generate` or give another --split")
    spec = store_spec(group)
    return {"grid": list(spec.grid_shape), "spacing_mm": spec.spacing_mm, "frequency_hz": spec.frequency_hz,
            "engines": list(group.attrs.get("engines", [])),
            "n_train": counts["train"], f"n_{split}": counts[split]}


def run_compressed_bench(store: str | Path, workdir: str | Path, *, base_model: dict,
                         ranks: Sequence[int] = (1, 2, 4, 8), epochs: int = 10, batch_size: int = 2, lr: float = 2e-3,
                         seed: int = 0, device: str = "cpu", split: str = "test", repeats: int = 5,
                         say: Callable[[str], None] = print) -> dict:
    """Train, measure and evaluate every variant (module docstring); return the results as plain JSON."""
    import torch

    from tfus.pipeline.device import torch_device
    from tfus.pipeline.version import versions
    from tfus.surrogates.checkpoint import load_checkpoint
    from tfus.surrogates.evaluation import evaluate
    from tfus.surrogates.registry import build_model_with_config, model_from_checkpoint
    from tfus.surrogates.training import TrainConfig
    from tfus.workflows.bench.train_memory import train_in_fresh_process

    specs = variant_specs(ranks)
    dev = torch_device(device)
    store, workdir = Path(store), Path(workdir)
    info = _check_store(store, split)
    rows = []
    for spec in specs:
        model_cfg = {**base_model, "conv": spec}
        model, resolved = build_model_with_config("deeptfus", model_cfg)
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        n_points = int(resolved["n_points"])
        cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, num_workers=0, model_name="deeptfus",
                          model=model_cfg, augment=True, val_split=None)
        run_dir = workdir / spec.replace(":", "")
        say(f"{spec}: training {epochs} epoch(s) in a fresh process ({n_params:,} parameters)")
        mem = train_in_fresh_process(store, run_dir, cfg.public(), device=device)
        trained = model_from_checkpoint(load_checkpoint(run_dir / "best.pt")).to(dev)
        saved = saved_activation_bytes(trained, batch_size, info["grid"], n_points, dev)
        infer_ms = _forward_ms(trained, info["grid"], n_points, dev, repeats)
        say(f"{spec}: trained in {mem['train_seconds']:.0f} s; evaluating on the {split} split")
        ev = evaluate(run_dir, store, split=split, device=device)
        rows.append({"variant": spec, "parameters": n_params, "train_seconds": mem["train_seconds"],
                     "peak_train_bytes": mem["peak_train_bytes"], "saved_activation_bytes": saved,
                     "infer_ms": infer_ms, "predict_seconds": ev["predict_seconds"],
                     **{k: ev[k] for k in ACCURACY}, "per_sample_rel_l2": [r["rel_l2"] for r in ev["per_sample"]],
                     "run": str(run_dir), "memory_method": mem["memory_method"]})
        del trained
    dense = rows[0]
    for row in rows:
        row["vs_dense"] = {k: row[k] / dense[k] if dense[k] else float("nan")
                           for k in ("parameters", "peak_train_bytes", "saved_activation_bytes", "infer_ms",
                                     "train_seconds")}
    return {"store": str(store), **info, "split": split, "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "seed": seed, "device": device, "threads": torch.get_num_threads(), "repeats": repeats,
            "base_model": base_model,
            "memory_method": dense["memory_method"], "rows": rows, "versions": versions()}


def compressed_table(res: dict):
    """The results of :func:`run_compressed_bench` as a rich ``Table`` and a one-paragraph note."""
    from rich.table import Table

    mib = 2.0 ** 20
    split = res["split"]
    model = res["base_model"].get("preset") or "demo model"
    table = Table("conv", "parameters (x dense)", "peak train MiB (x dense)", "saved act. MiB", "forward ms (x dense)",
                  "train s", "rel L2 %", "focal err mm", "peak err %", "intracranial focal err mm",
                  title=f"compressed conv vs dense: DeepTFUS {model}, {res['epochs']} epochs, seed {res['seed']}, "
                        f"{res['n_train']} train / {res[f'n_{split}']} {split} samples of {res['store']} "
                        f"({'/'.join(res['engines'])}, grid {res['grid']}), {res['device']}, {res['threads']} threads")

    def acc(r: dict, k: str) -> str:
        return f"{r[k]['mean']:.1f} / {r[k]['median']:.1f}"

    for r in res["rows"]:
        v = r["vs_dense"]
        table.add_row(r["variant"], f"{r['parameters']:,} ({v['parameters']:.2f})",
                      f"{r['peak_train_bytes'] / mib:.0f} ({v['peak_train_bytes']:.2f})",
                      f"{r['saved_activation_bytes'] / mib:.0f}", f"{r['infer_ms']:.0f} ({v['infer_ms']:.2f})",
                      f"{r['train_seconds']:.0f}", acc(r, "rel_l2"), acc(r, "focal_error_mm"), acc(r, "peak_error"),
                      acc(r, "focal_error_brain_mm"))
    note = (f"accuracy: mean / median over the {len(res['rows'][0]['per_sample_rel_l2'])} {split} samples (metrics "
            f"of `tfus evaluate`). Peak train memory: {res['memory_method']}. Saved act.: tensors autograd keeps in "
            f"one training forward pass (batch {res['batch_size']}). Forward: median of {res['repeats']}, batch 1, "
            "inference mode. Pointwise convs stay dense under cp:R.")
    return table, note


def render_compressed(res: dict) -> list:
    """The results of :func:`run_compressed_bench` as rich renderables: :func:`compressed_table` and its note."""
    return list(compressed_table(res))
