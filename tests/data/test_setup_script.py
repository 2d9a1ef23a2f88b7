"""``data/setup.sh`` on bad input: one ``error:`` line naming the fix, a non-zero exit, and no environment left behind.

The full run (system Python, PEP 668, a ``.venv`` in the checkout) is what ``.ci/run`` does on its clean clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[2] / "data" / "setup.sh"
pytestmark = pytest.mark.skipif(not SETUP.is_file(), reason="data/setup.sh is not in an installed package")


def _run(env_update: dict[str, str], path: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "TFUS_PYTHON")}
    env.update(env_update)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([shutil.which("bash") or "/bin/bash", str(SETUP)], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def _assert_one_line_error(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode != 0, res.stdout
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_old_python_is_refused(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\n"
                    "case \"$2\" in *version_info\\ \\<*) exit 1 ;; *'print('*) echo 3.10 ;; esac\nexit 0\n")
    fake.chmod(0o755)
    res = _run({"TFUS_PYTHON": str(fake), "TFUS_VENV": str(tmp_path / "venv")})
    _assert_one_line_error(res, "Python 3.10", "3.11 or newer", "TFUS_PYTHON=")
    assert not (tmp_path / "venv").exists()


def test_missing_python3_names_the_package(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("dirname", "id", "mkdir", "rm"):
        (bindir / tool).symlink_to(shutil.which(tool))
    res = _run({"TFUS_VENV": str(tmp_path / "venv")}, path=str(bindir))
    _assert_one_line_error(res, "no python3 found", "apt-get install python3")


def test_unwritable_venv_location_names_the_variable(tmp_path):
    # /proc refuses new folders even to root, so this holds in CI too
    res = _run({"TFUS_PYTHON": sys.executable, "TFUS_VENV": "/proc/tfus-venv"})
    _assert_one_line_error(res, "/proc/tfus-venv", "TFUS_VENV")


def test_missing_venv_module_without_apt(tmp_path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "ensurepip.py").write_text("raise ImportError('no ensurepip here, as on a stock Debian')\n")
    res = _run({"TFUS_PYTHON": sys.executable, "TFUS_VENV": str(tmp_path / "venv"), "TFUS_SKIP_APT": "1",
                "PYTHONPATH": str(shadow)})
    _assert_one_line_error(res, "venv module is missing", "-venv")
    assert not (tmp_path / "venv").exists()


def test_failed_install_removes_the_new_environment(tmp_path):
    # no package index at all: the venv is made, then the torch install fails
    res = _run({"TFUS_PYTHON": sys.executable, "TFUS_VENV": str(tmp_path / "venv"), "TFUS_SKIP_APT": "1",
                "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": os.devnull})
    assert res.returncode != 0
    assert "was removed" in res.stderr.splitlines()[-1]
    assert not (tmp_path / "venv").exists()
    assert "Run the demo" not in res.stdout


def test_existing_folder_that_is_not_a_venv_is_left_alone(tmp_path):
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "mine.txt").write_text("do not delete")
    res = _run({"TFUS_PYTHON": sys.executable, "TFUS_VENV": str(keep)})
    _assert_one_line_error(res, "is not a virtual environment", "TFUS_VENV")
    assert (keep / "mine.txt").read_text() == "do not delete"
