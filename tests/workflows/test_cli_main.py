"""The ``tfus`` root command: --version, --help of every command (each shows an example), and ``tfus demo``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from tfus.workflows.demo import bundled_heads

COMMANDS = [(), ("head",), ("head", "build"), ("transducers",), ("transducers", "list"),
            ("transducers", "sample"), ("demo",)]


def test_version_matches_installed_metadata(cli):
    result = cli("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"tfus {metadata.version('tfus')}\n"


def test_version_is_eager(cli):
    """--version answers even when a subcommand with missing arguments follows."""
    result = cli("--version", "head", "build")
    assert result.exit_code == 0
    assert result.stdout.startswith("tfus ")


def test_console_script_version():
    exe = shutil.which("tfus")
    if exe is None:
        pytest.skip("the tfus console script is not on PATH")
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"tfus {metadata.version('tfus')}\n"


def test_importing_the_cli_is_light():
    """Heavy libraries load inside the commands, so `tfus --help` stays instant."""
    code = ("import sys, tfus.workflows.cli; "
            "print(','.join(m for m in ('numpy', 'scipy', 'torch', 'nibabel', 'SimpleITK', 'matplotlib', 'monai') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tfus")
def test_help_exits_zero_and_shows_an_example(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0, (result.exception, result.output)
    assert "Usage:" in result.stdout
    assert "Example" in result.stdout, result.stdout
    assert "Traceback" not in result.output


def test_root_help_lists_the_commands(cli):
    result = cli("--help")
    for name in ("head", "transducers", "demo", "--version"):
        assert name in result.stdout


@pytest.mark.parametrize("command", [("head", "build"), ("transducers", "sample")], ids=" ".join)
def test_help_lists_the_options(cli, command):
    result = cli(*command, "--help")
    for option in ("--out", "--json", "--png", "--seed"):
        assert option in result.stdout, option


def test_unknown_command_is_a_usage_error(cli):
    result = cli("frobnicate")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_demo_writes_a_report_row_per_bundled_head(cli, tmp_path):
    workdir = tmp_path / "demo"
    result = cli("demo", "--workdir", workdir, "--spacing", 3, "--poses", 2)
    assert result.exit_code == 0, (result.exception, result.output, result.stderr)
    report = workdir / "report.md"
    assert report.is_file()
    text = report.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| head ")]
    heads = bundled_heads()
    assert len(rows) == len(heads)
    for name in heads:
        row = next(line for line in rows if line.startswith(f"| {name} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] in ("ct", "t1")
        assert int(cells[6]) == 2  # poses per head
        assert (workdir / "heads" / name / "hu.nii.gz").is_file()
        assert (workdir / "heads" / name / "head.png").is_file()
        poses = (workdir / "heads" / name / "poses.csv").read_text().strip().splitlines()
        assert len(poses) == 1 + 2
    record = json.loads((workdir / "demo.json").read_text())
    assert record["config"]["spacing_mm"] == 3.0 and record["config"]["poses_per_head"] == 2
    assert set(record["timings_s"]) == set(heads)
    assert record["versions"]["tfus"] == metadata.version("tfus")
