"""``tfus report``: the sonication planning report of a field (one self-contained HTML page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import HuMapping, check_output_file, err_console, print_json, user_errors


@user_errors
def report(
    field: Annotated[Path, typer.Argument(help="Pressure-amplitude NIfTI from `tfus simulate` or `tfus predict` "
                                               "(its .json record gives the transducer and pose)")],
    head: Annotated[Path, typer.Option(help="Head model folder the field was computed on")],
    protocol: Annotated[str, typer.Option(help="Sonication protocol: preset name (data/protocols) or YAML file")],
    out: Annotated[Path, typer.Option("--out", help="The HTML page to write")],
    transducer: Annotated[str | None, typer.Option(help="Preset or YAML [default: from the field's record]")] = None,
    position: Annotated[tuple[float, float, float] | None, typer.Option(help="Bowl apex X Y Z (world mm) "
                                                                             "[default: from the record]")] = None,
    target: Annotated[tuple[float, float, float] | None, typer.Option(help="Aim point X Y Z (world mm) "
                                                                           "[default: from the record]")] = None,
    mapping: Annotated[HuMapping | None, typer.Option(help="HU -> acoustic properties [default: the record's]")]
    = None,
    free_field: Annotated[Path | None, typer.Option("--free-field", help="A water simulation of the same transducer "
                                                    "(`tfus simulate --water`) for the free-field values [default: "
                                                    "O'Neil's closed form]")] = None,
    viewer: Annotated[bool, typer.Option(help="Include the interactive NiiVue slice viewer (+2.3 MB)")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the safety block as JSON on stdout")] = False,
) -> None:
    """Write a planning report: ITRUSST safety flags, temperature, slices and a slice viewer, in one HTML page.

    The field is scaled to the protocol's drive; the page opens offline in any browser.

    Examples:

      tfus report field.nii.gz --head heads/mni --protocol tbtus-zeng2022 --out plan.html

      tfus report pred.nii.gz --head heads/ct --protocol my_protocol.yaml --free-field water.nii.gz --out plan.html
    """
    from tfus.pipeline.safety.protocol import load_protocol
    from tfus.workflows.report import load_plan_inputs, write_plan_report

    check_output_file(out, (".html", ".htm"))
    plan = load_protocol(protocol)
    inputs = load_plan_inputs(field, head, transducer=transducer, position=position, target=target,
                              mapping=None if mapping is None else mapping.value, free_field_path=free_field)
    result = write_plan_report(out, inputs, plan, viewer=viewer)
    if as_json:
        print_json(result.to_dict())
    else:
        err_console().print(f"[green]wrote[/] {out}: {result.headline()}")
