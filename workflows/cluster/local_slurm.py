"""The single-node SLURM of CI and tests (``data/slurm/start_slurm.sh``): is it up, and start it where we may.

:func:`ensure_local_slurm` answers ``None`` when ``sinfo`` shows a node that takes jobs (starting SLURM with the
bundled script first when it is down and this process is root), else the reason SLURM cannot run here, for
``pytest.skip``. It exports ``SLURM_CONF`` into this process when the config is not at the default path, so the
``sbatch``/``squeue``/``scancel`` calls of dask-jobqueue find it.

Example:
    >>> reason = ensure_local_slurm(start=False)  # doctest: +SKIP
    >>> reason is None or "SLURM" in reason  # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tfus.pipeline.resources import data_path

STATE_DIR = Path(os.environ.get("TFUS_SLURM_DIR", "/var/tmp/tfus-slurm"))
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
READY_STATES = ("idle", "mix", "alloc", "completing")


def start_script() -> Path:
    """The bundled start script (``data/slurm/start_slurm.sh``)."""
    return data_path("slurm", "start_slurm.sh")


def slurm_problem() -> str | None:
    """``None`` when ``sinfo`` lists a node that takes jobs, else what is wrong."""
    _export_conf()
    if shutil.which("sinfo") is None:
        return "SLURM is not installed (no `sinfo`)"
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "`sinfo` gave no answer within 30 s (slurmctld not running?)"
    if done.returncode != 0:
        return f"`sinfo` failed: {_last_line(done.stderr)}"
    states = done.stdout.split()
    if not any(state.startswith(READY_STATES) for state in states):
        return f"no SLURM node takes jobs (node states: {', '.join(states) or 'none'})"
    return None


def ensure_local_slurm(start: bool = True, timeout: float = 900) -> str | None:
    """``None`` when SLURM is usable (after starting it with the bundled script if needed and allowed), else why not."""
    problem = slurm_problem()
    if problem is None or not start:
        return problem
    if os.geteuid() != 0:
        return f"{problem}; starting it needs root"
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        return f"{problem}; no apt-get to install it"
    try:
        done = subprocess.run(["bash", str(start_script())], capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return f"{problem}; {start_script().name} did not finish within {timeout:g} s"
    if done.returncode != 0:
        return f"{problem}; {start_script().name} failed: {_last_line(done.stderr)}"
    for line in done.stdout.splitlines():
        if line.startswith("export SLURM_CONF="):
            os.environ["SLURM_CONF"] = line.split("=", 1)[1].strip()
    return slurm_problem()


def _export_conf() -> None:
    ours = STATE_DIR / "slurm.conf"
    if "SLURM_CONF" not in os.environ and not DEFAULT_CONF.exists() and ours.is_file():
        os.environ["SLURM_CONF"] = str(ours)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
