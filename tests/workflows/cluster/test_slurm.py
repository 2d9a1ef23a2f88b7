"""A real SLURM (the single node started by data/slurm/start_slurm.sh): Dask workers in sbatch jobs compute tasks, and
a worker job cancelled mid-run is replaced by ``adapt`` while every task still completes exactly once."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.workflows.cluster import ClusterConfig, job_ids, start_cluster
from tfus.workflows.cluster.local_slurm import ensure_local_slurm

pytestmark = pytest.mark.slurm
# Workers in batch jobs import this module to run its task functions: the job prologue puts it on their path.
_IMPORT_ROOT = Path(__file__).resolve().parents[__name__.count(".")]


@pytest.fixture(scope="session")
def slurm():
    """SLURM that takes jobs (started with the bundled script when down and we are root), else skip with the reason."""
    reason = ensure_local_slurm()
    if reason:
        pytest.skip(f"SLURM cannot run here: {reason}")


def _config(tmp_path: Path, **changes) -> ClusterConfig:
    base = {"kind": "slurm", "jobs": 2, "memory": "1GiB", "walltime": "00:10:00", "worker_timeout": 120,
            "log_directory": str(tmp_path / "logs"), "job_prologue": [f'export PYTHONPATH="{_IMPORT_ROOT}"']}
    return ClusterConfig.from_mapping({**base, **changes})


def _job_of_worker() -> str:
    return os.environ.get("SLURM_JOB_ID", "")


def _marked_task(i: int, marks: str, seconds: float):
    job = os.environ.get("SLURM_JOB_ID", "")
    Path(marks, f"{i}-{job}").touch()
    time.sleep(seconds)
    return i, job


def _squeue(ids: list[str]) -> str:
    return subprocess.run(["squeue", "-h", "-j", ",".join(ids), "-o", "%i %T"], capture_output=True, text=True,
                          check=False).stdout


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def test_tasks_run_in_two_sbatch_jobs_and_jobs_end_with_the_run(slurm, tmp_path):
    with start_cluster(_config(tmp_path), wait=2) as client:
        ids = job_ids(client.cluster)
        jobs_of_workers = set(client.run(_job_of_worker).values())
        assert len(jobs_of_workers) == 2 and jobs_of_workers == set(ids), (jobs_of_workers, ids)
        assert _squeue(ids).count("RUNNING") == 2
        results = client.gather(client.map(_marked_task, range(6), marks=str(tmp_path), seconds=0.2, pure=False))
        assert sorted(i for i, _ in results) == list(range(6))
        assert {job for _, job in results} <= jobs_of_workers
    _wait_for(lambda: "RUNNING" not in _squeue(ids), 30, "the worker jobs to be cancelled")
    assert any((tmp_path / "logs").iterdir())  # the jobs' stdout/stderr went where asked


def test_cancelled_worker_job_is_replaced_and_every_task_completes_once(slurm, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    with start_cluster(_config(tmp_path), wait=2) as client:
        victim = sorted(set(client.run(_job_of_worker).values()))[0]
        futures = client.map(_marked_task, range(8), marks=str(marks), seconds=1.5, retries=2, pure=False)
        started = _wait_for(lambda: [p for p in marks.iterdir() if p.name.endswith(f"-{victim}")], 60,
                            "a task in the victim job")
        subprocess.run(["scancel", victim], check=True)
        results = client.gather(futures)
        assert sorted(i for i, _ in results) == list(range(8))  # every task, exactly once
        interrupted = {int(p.name.split("-")[0]) for p in started}
        assert any(dict(results)[i] != victim for i in interrupted)  # the cancelled task ran again in another job

        def replaced():
            jobs = set(client.run(_job_of_worker).values())
            return jobs if len(jobs) == 2 and victim not in jobs else None

        assert len(_wait_for(replaced, 90, "adapt to replace the cancelled job")) == 2
        assert victim not in job_ids(client.cluster)


def test_refused_job_is_a_one_line_error(slurm, tmp_path):
    with pytest.raises(TfusInputError, match="SLURM refused the worker job: .*partition"):
        with start_cluster(_config(tmp_path, queue="no-such-partition")):
            pass
