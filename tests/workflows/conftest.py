"""CLI test helpers: an in-process runner with stdout and stderr kept apart, the user-error contract, and head models
built once per session through the CLI itself (the phantom CT and the bundled MNI T1, both at 2 mm)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tfus.workflows.cli import app


def _make_runner() -> CliRunner:
    """Click < 8.2 mixes stderr into stdout unless told not to; Click >= 8.2 always keeps them apart."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return _make_runner()


@pytest.fixture(scope="session")
def cli(runner) -> Callable:
    """``cli("head", "build", ...)`` -> click ``Result`` (arguments are converted to strings)."""

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


def _check_user_error(result, *needles: str) -> str:
    """The CLI's contract for a user error: exit code 2 via SystemExit (no exception escaped), exactly one line on
    stderr that starts with ``error:`` and names the problem (each of ``needles``, case-insensitive), nothing on
    stdout and no traceback anywhere. Returns the message."""
    output = result.output + result.stderr
    assert "Traceback" not in output, output
    assert isinstance(result.exception, SystemExit), (
        f"expected a clean exit, got {type(result.exception).__name__}: {result.exception!r}\n{output}")
    assert result.exit_code == 2, (result.exit_code, output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"stderr should be one line, got:\n{result.stderr}"
    message = lines[0]
    assert message.startswith("error: "), message
    for needle in needles:
        assert needle.lower() in message.lower(), f"{needle!r} not in {message!r}"
    assert result.stdout == "", result.stdout
    return message


@pytest.fixture(scope="session")
def user_error() -> Callable:
    """``user_error(result, "needle", ...)`` asserts the one-line user-error contract and returns the message."""
    return _check_user_error


def assert_nothing_written(path: Path) -> None:
    """An output folder that does not exist, or exists and is empty."""
    assert not path.exists() or (path.is_dir() and not any(path.iterdir())), sorted(path.rglob("*"))


@pytest.fixture(scope="session")
def nothing_written() -> Callable:
    return assert_nothing_written


@pytest.fixture(scope="session")
def built_ct(tmp_path_factory, cli, phantom_ct_file):
    """``tfus head build PHANTOM_CT --out DIR --spacing 2 --json``: (out dir, Result)."""
    out = tmp_path_factory.mktemp("built") / "ct_head"
    result = cli("head", "build", phantom_ct_file, "--out", out, "--spacing", 2, "--json")
    assert result.exit_code == 0, (result.exception, result.output, result.stderr)
    return out, result


@pytest.fixture(scope="session")
def built_mni(tmp_path_factory, cli, mni_t1):
    """``tfus head build MNI152_T1 --out DIR --spacing 2 --json``: (out dir, Result)."""
    out = tmp_path_factory.mktemp("built") / "mni_head"
    result = cli("head", "build", mni_t1, "--out", out, "--spacing", 2, "--json")
    assert result.exit_code == 0, (result.exception, result.output, result.stderr)
    return out, result


@pytest.fixture(scope="session")
def mni_head(built_mni) -> Path:
    """The folder of the MNI head model built through the CLI."""
    return built_mni[0]


def read_json_stdout(result):
    """Parse the command's stdout (it must hold JSON and nothing else)."""
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def stdout_json() -> Callable:
    return read_json_stdout
