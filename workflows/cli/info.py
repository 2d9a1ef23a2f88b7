"""``tfus info``: summary of a dataset store (heads, samples by status, grid, engines, splits, size)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import print_json, user_errors


@user_errors
def info(
    store: Annotated[Path, typer.Argument(help="Dataset store folder (Zarr), e.g. from `tfus data import-tfuscapes`")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout")] = False,
) -> None:
    """Summarise a dataset store: heads, samples (complete / failed / pending), grid, spacing, engines, splits, size.

    Examples:

      tfus info dataset.zarr

      tfus info dataset.zarr --json
    """
    from tfus.pipeline.store import store_info

    summary = store_info(store)
    if as_json:
        print_json(summary)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tfus store {store}", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value")
    t = summary["transducer"]
    rows = [
        ("heads", str(summary["heads"])),
        ("samples", str(summary["n_samples"])),
        ("complete", str(summary["n_complete"])),
        ("failed", str(summary["n_failed"])),
        ("pending", str(summary["n_pending"])),
        ("grid", " x ".join(str(s) for s in summary["grid_shape"])),
        ("spacing", f"{summary['spacing_mm']:g} mm"),
        ("frequency", f"{summary['frequency_hz'] / 1e3:g} kHz"),
        ("engines", ", ".join(f"{e} ({summary['complete_by_engine'].get(e, 0)} complete)"
                              for e in summary["engines"])),
        ("transducer", f"{t.get('name', '?')}: R {_mm(t.get('radius_of_curvature_mm'))}, aperture "
                       f"{_mm(t.get('aperture_mm', t.get('aperture_diameter_mm')))}" if t else "-"),
        *((f"split {name}", f"{s['heads']} heads, {s['samples']} complete samples")
          for name, s in summary["splits"].items()),
        ("phase / snapshots", f"{'yes' if summary['with_phase'] else 'no'} / {summary['n_snapshots']}"),
        ("size on disk", _size(summary["size_bytes"])),
        ("created", f"{summary['created']} (tfus {summary['tfus_version']}, schema {summary['schema_version']})"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


def _mm(value) -> str:
    return f"{value:.2f} mm" if isinstance(value, int | float) else "?"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
