"""``tfus evaluate``: accuracy of a trained surrogate on a split of a dataset store, per sample and aggregated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import DeviceChoice, Split, check_json_out, emit, err_console, user_errors

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
    split: Annotated[Split, typer.Option(help="Head split to evaluate")] = Split.TEST,
    device: Annotated[DeviceChoice, typer.Option(help="Prediction device")] = DeviceChoice.CPU,
    out: Annotated[Path | None, typer.Option(help="Also write the full result (with per-sample rows) as JSON here "
                                                  "(a .json file)")] = None,
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
    from tfus.surrogates.evaluation import evaluate as run_evaluation

    check_json_out(out)
    console = err_console()
    with console.status(f"evaluating on the {split} split ...", spinner="dots"):
        result = run_evaluation(run, store, split=split.value, device=device.value, say=console.log)
    if result["train_heads_evaluated"]:
        console.print(f"[yellow]warning:[/] the model was trained on {', '.join(result['train_heads_evaluated'])}, "
                      f"which the {split} split holds; these numbers flatter it")
    emit(result, out, as_json, lambda res: _render(res, run, store, split.value, console))


def _render(result: dict, run: Path, store: Path, split: str, console) -> list:
    """The aggregate table; metrics no sample could give are named on ``console`` (stderr)."""
    from rich.table import Table

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
    if empty:
        why = (" (the store's heads have no intracranial label)" if any("intracranial" in e for e in empty) else "")
        console.print(f"not computed: {', '.join(empty)}{why}")
    return [table]
