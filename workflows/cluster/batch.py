"""Batch-job clusters through dask-jobqueue: the SLURMCluster/PBSCluster arguments and what the queue says.

Only what the user set (or what tfus must fix: one process per GPU, its resources and pinning) is passed on; the
rest comes from the Dask config (``jobqueue.slurm.*``/``jobqueue.pbs.*``). Where neither sets cores, memory or
processes, tfus uses ``processes=1``, ``cores=processes*threads_per_worker`` and 4 GiB per process.

Example:
    >>> from tfus.workflows.cluster import ClusterConfig
    >>> kw = jobqueue_kwargs(ClusterConfig(kind="slurm", gpus_per_job=2, walltime="01:00:00"))
    >>> kw["processes"], kw["job_extra_directives"]
    (2, ['--gres=gpu:2'])
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from tfus.pipeline.errors import TfusInputError
from tfus.workflows.cluster.config import ClusterConfig
from tfus.workflows.cluster.gpu import PROCESSES_ENV

DEFAULT_MEMORY_PER_PROCESS = "4GiB"
GPU_PRELOAD = "tfus.workflows.cluster.gpu"


def has_bokeh() -> bool:
    """Whether the Dask dashboard can be served (it needs bokeh)."""
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def jobqueue_kwargs(config: ClusterConfig) -> dict[str, Any]:
    """Keyword arguments for ``SLURMCluster``/``PBSCluster`` built from ``config`` on top of the Dask config."""
    import dask
    from dask.utils import format_bytes, parse_bytes

    kind = config.kind
    if kind not in ("slurm", "pbs"):
        raise ValueError(f"not a batch kind: {kind}")

    def from_dask(key: str, default: Any = None) -> Any:
        return dask.config.get(f"jobqueue.{kind}.{key}", default)

    gpus = config.gpus_per_job
    processes = gpus or config.processes or from_dask("processes") or 1
    cores = config.cores or from_dask("cores") or processes * config.threads_per_worker
    if cores < processes:
        raise TfusInputError(f"cluster: cores {cores} < processes {processes}; each worker process needs a core")
    memory = config.memory or from_dask("memory") or format_bytes(parse_bytes(DEFAULT_MEMORY_PER_PROCESS) * processes)
    kw: dict[str, Any] = {"processes": processes, "cores": cores, "memory": memory}
    for name in ("queue", "account", "walltime", "local_directory", "log_directory", "interface"):
        value = getattr(config, name)
        if value is not None:
            kw[name] = value

    prologue = list(config.job_prologue) or list(from_dask("job-script-prologue") or [])
    directives = list(config.job_extra_directives) or list(from_dask("job-extra-directives") or [])
    extra_args = list(from_dask("worker-extra-args") or [])
    if config.worker_lifetime:
        extra_args += ["--lifetime", config.worker_lifetime]
        if config.lifetime_stagger:
            extra_args += ["--lifetime-stagger", config.lifetime_stagger]
        if config.lifetime_restart:  # batch default: the job ends, adapt submits a fresh one with a full walltime
            extra_args += ["--lifetime-restart"]
    if gpus:
        extra_args += ["--resources", "GPU=1", "--preload", GPU_PRELOAD]
        prologue.append(f"export {PROCESSES_ENV}={processes}")
        if kind == "slurm":
            if not any("gres" in d or "gpus" in d for d in directives):
                directives.append(f"--gres=gpu:{gpus}")
        else:
            kw["resource_spec"] = _pbs_resource_spec(from_dask("resource-spec"), cores, memory, gpus)
    for name, key, value in (("job_script_prologue", "job-script-prologue", prologue),
                             ("job_extra_directives", "job-extra-directives", directives),
                             ("worker_extra_args", "worker-extra-args", extra_args)):
        if value != list(from_dask(key) or []):  # changed here: pass it; else the Dask config supplies it
            kw[name] = value

    scheduler_options = dict(from_dask("scheduler-options") or {})
    scheduler_options.setdefault("dashboard_address", ":0")  # a free port, not a clash on 8787
    if config.scheduler_host:
        scheduler_options["host"] = config.scheduler_host
    kw["scheduler_options"] = scheduler_options
    return kw


def _pbs_resource_spec(configured: str | None, cores: int, memory: str, gpus: int) -> str:
    from dask.utils import parse_bytes
    from dask_jobqueue.pbs import pbs_format_bytes_ceil

    spec = configured or f"select=1:ncpus={cores}:mem={pbs_format_bytes_ceil(parse_bytes(memory))}"
    return spec if "ngpus" in spec else f"{spec}:ngpus={gpus}"


def make_batch_cluster(config: ClusterConfig):
    """A SLURMCluster or PBSCluster kept at ``config.n_jobs`` jobs by ``adapt`` (killed/expired jobs are replaced).

    Before any job is submitted, a SLURM job script is checked with ``sbatch --test-only`` so a wrong partition,
    account or size fails at once with sbatch's own words; later submit failures are kept in
    ``cluster.job_cls.submit_errors`` for :func:`wait_for_workers`.
    """
    from dask_jobqueue import PBSCluster, SLURMCluster

    cls = SLURMCluster if config.kind == "slurm" else PBSCluster
    submit = "sbatch" if config.kind == "slurm" else "qsub"
    if shutil.which(submit) is None:
        raise TfusInputError(f"--cluster {config.kind}: `{submit}` not found on this machine; run on a "
                             f"{config.kind.upper()} login node or use --cluster local")
    kw = jobqueue_kwargs(config)
    try:
        cluster = cls(job_cls=_recording_job_cls(cls.job_cls), **kw)
    except ValueError as err:  # jobqueue's own checks (bad keyword, no cores/memory)
        raise TfusInputError(f"cluster: {config.kind} settings refused: {' '.join(str(err).split())}") from None
    try:
        if config.kind == "slurm":
            _check_slurm_script(cluster.job_script())
        cluster.adapt(minimum_jobs=config.n_jobs, maximum_jobs=config.n_jobs)
    except BaseException:
        cluster.close()
        raise
    return cluster


def submit_errors(cluster) -> list[str]:
    """What the batch system answered to the submits it refused (one line each), oldest first."""
    return list(getattr(getattr(cluster, "job_cls", None), "submit_errors", []))


def _recording_job_cls(base: type) -> type:
    """A subclass of the jobqueue Job class that keeps each refused submit (and marks that job failed)."""
    from distributed.core import Status

    errors: list[str] = []

    class RecordingJob(base):  # type: ignore[misc, valid-type]
        submit_errors = errors

        async def _submit_job(self, script_filename):
            try:
                return await super()._submit_job(script_filename)
            except (RuntimeError, OSError) as err:
                errors.append(_error_line(str(err)))
                self.status = Status.failed  # lets the cluster close cleanly
                raise

    RecordingJob.__name__ = RecordingJob.__qualname__ = base.__name__
    return RecordingJob


def _check_slurm_script(script: str) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="tfus-job-") as handle:
        handle.write(script)
        handle.flush()
        try:
            done = subprocess.run(["sbatch", "--test-only", handle.name], capture_output=True, text=True,
                                  timeout=60, check=False)
        except subprocess.TimeoutExpired:
            raise TfusInputError("sbatch --test-only gave no answer within 60 s: is slurmctld running? "
                                 "(`sinfo` should list the nodes)") from None
    if done.returncode != 0:
        raise TfusInputError(f"SLURM refused the worker job: {_error_line(done.stderr)}; check queue, account, "
                             "memory, cores and walltime")


def _error_line(text: str) -> str:
    """The batch system's error lines, joined on one line."""
    lines = [line.strip() for line in text.split("stderr:", 1)[-1].splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()] or lines or ["no error message"]
    return "; ".join(dict.fromkeys(errors))


def job_ids(cluster) -> list[str]:
    """Batch job ids the cluster has submitted and not yet closed."""
    return [str(job.job_id) for job in list(cluster.workers.values()) if getattr(job, "job_id", None)]


def queue_report(cluster) -> str:
    """One line on the cluster's batch jobs: ``SLURM jobs 12 PENDING (Resources), 13 RUNNING`` or why none."""
    ids = job_ids(cluster)
    kind = getattr(cluster.job_cls, "config_name", "batch")
    if not ids:
        return f"no {kind} job is queued (the submit command failed or was never run; check queue and account)"
    if kind == "slurm" and shutil.which("squeue"):
        try:
            out = subprocess.run(["squeue", "-h", "-j", ",".join(ids), "-o", "%i %T %r"], capture_output=True,
                                 text=True, timeout=15, check=False).stdout
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"SLURM jobs {', '.join(ids)} (squeue failed: {err})"
        states = []
        for line in out.splitlines():
            job, state, reason = (line.split(maxsplit=2) + ["", ""])[:3]
            states.append(f"{job} {state}" + (f" ({reason})" if reason and reason != "None" else ""))
        return "SLURM jobs " + (", ".join(states) if states else f"{', '.join(ids)} no longer in squeue")
    return f"{kind} jobs {', '.join(ids)} (see qstat)"
