"""``tfus evaluate``: accuracy of a trained surrogate on a split of a dataset store, per sample and aggregated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import check_output_file, err_console, print_json, user_errors

#: table rows: JSON key, label, format
_ROWS = (("rel_l2", "relative L2 (%)", "{:.2f}"), ("rel_l2_log", "relative L2 of log maps (%)", "{:.2f}"),
         ("focal_error_mm", "focal position error (mm)", "{:.2f}"), ("peak_error", "peak pressure error (%)", "{:.2f}"),
         ("focal_error_brain_mm", "intracranial focal position error (mm)", "{:.2f}"),
         ("peak_error_brain", "intracranial peak pressure error (%)", "{:.2f}"),
         ("focal_dice", "-6 dB focal Dice", "{:.3f}"), ("focal_iou", "-6 dB focal IoU", "{:.3f}"),
         ("focal_volume_error", "focal volume error (%)", "{:.1f}"), ("predict_seconds", "prediction time (s)",
                                                                       "{:.3f}"))
#: rows of time-resolved models (sep4d), shown when the result has them
_TIME_ROWS = (("time_rel_l2", "relative L2 over all snapshots (%)", "{:.2f}"),
              ("peak_negative_error", "peak negative pressure error (%)", "{:.2f}"),
              ("mi_pred", "mechanical index, predicted", "{:.3f}"),
              ("mi_true", "mechanical index, simulated", "{:.3f}"))


@user_errors
def evaluate(
    run: Annotated[Path, typer.Argument(help="Training run folder (best.pt) or checkpoint file from `tfus train`")],
    store: Annotated[Path, typer.Option(help="Dataset store (.zarr) from `tfus generate` or `tfus data import-*`")],
    split: Annotated[str, typer.Option(help="train, val or test")] = "test",
    device: Annotated[str, typer.Option(help="cpu or gpu")] = "cpu",
    out: Annotated[Path | None, typer.Option(help="Also write the full result (with per-sample rows) as JSON here")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout")] = False,
) -> None:
    """Predict every complete sample of a split's heads and compare with the simulated fields.

    Metrics per sample and their mean / median: relative L2 (%), focal position error (mm), peak pressure error (%)
    (over the whole field, and inside the intracranial voxels), -6 dB focal Dice / IoU and volume error. A
    time-resolved (sep4d) run is compared on the peak-pressure map of the stored snapshots and adds the relative
    L2 over all snapshots, the peak negative pressure error and the MI. --json prints them (keys rel_l2,
    focal_error_mm, peak_error, focal_error_brain_mm, ... each with mean, median, n) plus per_sample.

    Example:

      tfus evaluate runs/demo --store demo.zarr --split test --json
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.surrogates.evaluation import evaluate as run_evaluation

    if out is not None:
        check_output_file(out, (".json",))
    console = err_console()
    with console.status(f"evaluating on the {split} split ...", spinner="dots"):
        result = run_evaluation(run, store, split=split, device=device, say=console.log)
    if result["train_heads_evaluated"]:
        console.print(f"[yellow]warning:[/] the model was trained on {', '.join(result['train_heads_evaluated'])}, "
                      f"which the {split} split holds; these numbers flatter it")
    if out is not None:
        from tfus.pipeline.io.atomic import atomic_write_text

        atomic_write_text(out, json.dumps(result, indent=2, default=str) + "\n")
    if as_json:
        print_json(result)
        return
    table = Table("metric", "mean", "median", "samples",
                  title=f"{result['model']['model']} {run} on {store} ({split}: {result['n_samples']} samples, "
                        f"heads {', '.join(result['heads'])})")
    empty = []
    for key, label, fmt in _ROWS + tuple(row for row in _TIME_ROWS if row[0] in result):
        agg = result[key]
        if agg["n"] == 0:
            empty.append(label)
            continue
        table.add_row(label, fmt.format(agg["mean"]), fmt.format(agg["median"]), str(agg["n"]))
    Console().print(table)
    if empty:
        why = (" (the store's heads have no intracranial label)" if any("intracranial" in e for e in empty) else "")
        console.print(f"not computed: {', '.join(empty)}{why}")
