"""The planning report opened as a user would: headless Chromium (Debian package ``chromium``) loads the page from
disk with the network off, runs its scripts (NiiVue through SwiftShader's software WebGL2), and the test checks the
DOM it ends with (viewer ready, no script error, every flag cell) and the screenshot (the green / red flag colours
are on screen). Skipped where Chromium is not installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.safety_case import write_case

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                                   "(apt-get install chromium; data/setup.sh does)")]
FLAGS = ["--headless", "--no-sandbox", "--enable-unsafe-swiftshader", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--virtual-time-budget=30000", "--enable-logging=stderr", "--v=0"]
GREEN, RED = (0x3C, 0x9A, 0x34), (0xC6, 0x2E, 0x25)


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=240, check=False)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    from tfus.workflows.report import load_plan_inputs, write_plan_report

    root = tmp_path_factory.mktemp("browser")
    field, head = write_case(root / "case")
    out = root / "plan.html"
    write_plan_report(out, load_plan_inputs(field, head), "tbtus-zeng2022")
    return out


def test_page_renders_without_script_errors(page):
    run = _chromium("--dump-dom", page.as_uri(), cwd=page.parent)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-viewer="ready"' in body, body       # NiiVue attached, volumes loaded, scene drawn
    assert "data-js-errors" not in body, body
    assert not re.search(r"Uncaught|SyntaxError|ReferenceError|TypeError", run.stderr), run.stderr[-3000:]
    flags = re.findall(r'<td class="flag (ok|exceeded)">', dom)
    assert flags and set(flags) <= {"ok", "exceeded"}
    assert 'id="verdict"' in dom and "ITRUSST" in dom


def test_screenshot_shows_the_flags(page):
    from PIL import Image

    shot = page.parent / "shot.png"
    run = _chromium(f"--screenshot={shot}", "--window-size=1280,1100", page.as_uri(), cwd=page.parent)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    assert pixels.shape[0] == 1280 * 1100
    html = page.read_text(encoding="utf-8")
    for colour, cls in ((GREEN, "ok"), (RED, "exceeded")):
        on_screen = int((np.abs(pixels - colour).max(axis=1) <= 8).sum())
        if f"<td class='flag {cls}'>" in html:
            assert on_screen > 500, (cls, on_screen)   # each flag cell is ~80 x 20 px
