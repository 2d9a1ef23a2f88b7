"""``tfus bench``: speed and validation benchmarks that print a table and a ratio against a same-run baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import err_console, print_json, user_errors

app = typer.Typer(help="Benchmarks: each prints a table and a ratio against a baseline measured in the same run.",
                  no_args_is_help=True)


@app.command("kwave-speed")
@user_errors
def kwave_speed(
    n: Annotated[int, typer.Option(help="Total grid points per axis (PML included)")] = 128,
    steps: Annotated[int, typer.Option(help="Timed steps per solver")] = 20,
    device: Annotated[str, typer.Option(help="cpu or gpu")] = "cpu",
    out: Annotated[Path | None, typer.Option(help="Also write the results as JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """Step time of the k-Wave engine vs plain k-wave-python and vs the FFT floor, same problem, same run.

    Example:

      tfus bench kwave-speed --n 128 --steps 20
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.workflows.bench.kwave_speed import SpeedConfig, run_speed_bench

    console = err_console()
    with console.status("benchmarking k-Wave steps ...", spinner="dots"):
        res = run_speed_bench(SpeedConfig(n=n, steps=steps, device=device), say=console.log)
    if out is not None:
        out.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    if as_json:
        print_json(res)
        return
    table = Table("solver", "ms / step", title=f"k-Wave step, grid {res['grid']}, {device}")
    for name, sec in res["seconds_per_step"].items():
        table.add_row(name, f"{1e3 * sec:.1f}")
    Console().print(table)
    Console().print(f"fast step / FFT floor: {res['fast_over_fft_floor']:.2f}x (target <= 1.3)   "
                    f"speed-up vs k-wave-python float64: {res['speedup_vs_kwave_float64']:.1f}x, float32: "
                    f"{res['speedup_vs_kwave_float32']:.1f}x (target >= 3)   max |diff| / max |p|: "
                    f"{res['max_rel_diff_vs_kwave_float64']:.1e} (target <= 1e-4)")
