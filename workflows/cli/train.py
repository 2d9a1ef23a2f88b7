"""``tfus train``: train a learned surrogate on a dataset store into a run folder (best.pt, last.pt, log.csv,
config.json); re-running it on a run folder with ``last.pt`` resumes where the run stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.surrogates.registry import MODELS, model_entry
from tfus.workflows.cli._common import Device, check_output_dir, err_console, print_json, user_errors

#: the registered models in ``--help`` (the registry imports no torch, so the help stays fast).
_MODEL_HELP = "Registered model, one of: " + "; ".join(f"{e.name} ({e.summary})" for e in MODELS.values()) + \
    " [default: deeptfus]"


@user_errors
def train(
    store: Annotated[Path, typer.Option("--store", help="Dataset store (Zarr) from `tfus generate` or "
                                                        "`tfus data import-tfuscapes`")],
    out: Annotated[Path, typer.Option("--out", help="Run folder; one holding last.pt is resumed")],
    config: Annotated[Path | None, typer.Option("--config", help="Training config YAML (epochs, batch_size, lr, "
                                                                 "model overrides, loss weights, ...)")] = None,
    model: Annotated[str | None, typer.Option("--model", help=_MODEL_HELP)] = None,
    conv: Annotated[str | None, typer.Option("--conv", help="Convolution of the model, overriding its config: dense "
                                                            "(full) or cp:R (rank-R CP-compressed, e.g. cp:4)")]
    = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Total epochs (overrides the config)")] = None,
    device: Annotated[Device, typer.Option("--device", help="auto: gpu when CUDA is visible")] = Device.AUTO,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Discard an earlier run in --out")] = False,
    stop_after: Annotated[int | None, typer.Option("--stop-after", min=1,
                                                   help="Train at most N epochs now (job time limits); re-run "
                                                        "to continue")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a summary as JSON on stdout")] = False,
) -> None:
    """Train a surrogate (DeepTFUS by default) on a store's train split, validating on its val split.

    --model picks a registered model (listed under the option below); a time-resolved one (sep4d) needs a store
    generated with snapshots (`tfus generate demo-4d`). --conv picks the convolution: dense or cp:R.

    Checkpoints carry the model config, the normalisation and the data description, so `tfus predict` and
    `tfus evaluate` need nothing else. Multi-GPU / multi-node: launch with torchrun, e.g.
    `torchrun --nproc_per_node 4 -m tfus.workflows.cli train --store ds.zarr --out runs/r1 --device gpu`.

    Examples:

      tfus train --store dataset.zarr --out runs/deeptfus --epochs 50 --device gpu

      tfus train --store dataset.zarr --out runs/tiny --config train.yaml --device cpu

      tfus train --store dataset.zarr --out runs/cp4 --conv cp:4 --epochs 50

      tfus train --store demo4d.zarr --out runs/sep4d --model sep4d --epochs 20
    """
    from tfus.pipeline.device import resolve_device
    from tfus.pipeline.errors import TfusInputError
    from tfus.surrogates.training import load_train_config
    from tfus.surrogates.training import train as run_training

    if model is not None:
        model_entry(model)  # an unknown name is one line listing the registered models, before any other check
    resolve_device(device)
    check_output_dir(out)
    cfg = (load_train_config(config, model_name=model)
           if config is not None or model is not None or conv is not None else None)
    if conv is not None:  # part of the model config: a resumed run must be given the same
        from tfus.surrogates.networks.layers import parse_conv_spec
        from tfus.surrogates.training import TrainConfig

        parse_conv_spec(conv)
        cfg = TrainConfig.from_mapping({**cfg.public(), "model": {**cfg.model, "conv": conv.strip()}})
    console = err_console()
    try:
        result = run_training(store, out, cfg, epochs=epochs, device=device, overwrite=overwrite,
                              stop_after=stop_after, progress=not quiet,
                              say=lambda msg: console.print(msg, markup=False, highlight=False, soft_wrap=True))
    except TfusInputError:
        if not _is_main():  # every process meets the same error: only the main one prints it
            raise typer.Exit(code=2) from None
        raise
    if not _is_main():
        return
    if as_json:
        last = result.history[-1] if result.history else {}
        print_json({"out": str(result.out), "epoch": result.epoch, "step": result.step,
                    "best_epoch": result.best_epoch, "best_loss": result.best_loss,
                    "resumed_from": result.resumed_from, "world_size": result.world_size, "last": last})


def _is_main() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0
