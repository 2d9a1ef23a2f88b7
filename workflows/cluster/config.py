"""Where the Dask workers come from: :class:`ClusterConfig`, validated at the boundary, and the ``--cluster`` option.

One config covers the four backends: ``local`` (a LocalCluster of worker processes on this machine, the default),
``slurm`` and ``pbs`` (dask-jobqueue batch jobs, kept at ``jobs`` jobs by ``adapt`` so killed or expired jobs are
replaced) and ``address`` (an existing scheduler). Settings left unset (``None``) are not passed on, so the Dask
config (``jobqueue.slurm.*``, ``jobqueue.pbs.*``, e.g. in ``~/.config/dask/jobqueue.yaml``) supplies them; tfus only
falls back on its own defaults where Dask has none (1 process and 1 thread per worker, 4 GiB per process).

Example:
    >>> from tfus.workflows.cluster import ClusterConfig, parse_cluster_option
    >>> parse_cluster_option("tcp://10.0.0.5:8786")
    ('address', 'tcp://10.0.0.5:8786')
    >>> cfg = ClusterConfig.from_mapping({"kind": "slurm", "jobs": 4, "walltime": "01:00:00", "worker_lifetime": "50m"})
    >>> cfg.with_cli(cluster="local", workers=2).kind
    'local'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tfus.pipeline.errors import TfusInputError, validation_message

Kind = Literal["local", "slurm", "pbs", "address"]
BATCH_KINDS = ("slurm", "pbs")
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d+$")
_WALLTIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


class ClusterConfig(BaseModel):
    """Cluster settings (YAML section ``cluster:``). Unknown keys are refused.

    Attributes:
        kind: ``local`` | ``slurm`` | ``pbs`` | ``address``.
        address: scheduler address for ``kind: address`` (``tcp://HOST:PORT``); giving it implies that kind.
        workers: local worker processes (default: one per CPU, or one per GPU); for batch kinds the number of jobs
            when ``jobs`` is unset.
        jobs: batch jobs kept running (slurm/pbs; default ``workers`` or 1).
        threads_per_worker: threads in each worker process (1: one simulation per process).
        cores: cores per batch job (default ``processes * threads_per_worker``); local: cores all simulations share
            (default: every core of the machine), each simulation getting ``cores // concurrent simulations`` threads.
        memory: memory per batch job, or per local worker process (``"8GiB"``).
        processes: worker processes per batch job (default 1; with GPUs one per GPU).
        queue, account, walltime: batch queue/partition, account, job walltime (``HH:MM:SS`` or ``D-HH:MM:SS``).
        gpus_per_job: GPUs per job (local: GPUs to use); > 0 requests them (``--gres=gpu:N`` / ``ngpus=N``), runs one
            worker process per GPU, pins each to its GPU and gives each the Dask resource ``{"GPU": 1}``.
        job_prologue: shell lines run in each job before the worker starts (``module load ...``).
        worker_lifetime, lifetime_stagger: workers leave after this time (``"50m"``), +- the stagger, before the
            walltime kills them; batch jobs then end and ``adapt`` submits fresh ones.
        lifetime_restart: restart the worker process at the end of its lifetime (default: local yes, batch no).
        local_directory, log_directory: worker scratch folder; folder of the batch jobs' stdout/stderr.
        job_extra_directives: extra ``#SBATCH``/``#PBS`` lines (``["--constraint=a100"]``).
        interface: network interface for scheduler and workers (``ib0``).
        scheduler_host: address the scheduler listens on and advertises (default: Dask's choice, this machine's IP).
        connect_timeout: seconds to reach an existing scheduler.
        worker_timeout: seconds to wait for the first worker before failing (``None``: wait forever).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind = "local"
    address: str | None = None
    workers: int | None = Field(None, ge=1)
    jobs: int | None = Field(None, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    cores: int | None = Field(None, ge=1)
    memory: str | None = None
    processes: int | None = Field(None, ge=1)
    queue: str | None = None
    account: str | None = None
    walltime: str | None = None
    gpus_per_job: int = Field(0, ge=0)
    job_prologue: tuple[str, ...] = ()
    worker_lifetime: str | None = None
    lifetime_stagger: str | None = None
    lifetime_restart: bool | None = None
    local_directory: str | None = None
    log_directory: str | None = None
    job_extra_directives: tuple[str, ...] = ()
    interface: str | None = None
    scheduler_host: str | None = None
    connect_timeout: float = Field(10.0, gt=0)
    worker_timeout: float | None = Field(600.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _address_implies_kind(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("address") and "kind" not in data:
            data = {**data, "kind": "address"}
        return data

    @field_validator("address")
    @classmethod
    def _check_address(cls, value: str | None) -> str | None:
        return None if value is None else normalize_address(value)

    @field_validator("memory")
    @classmethod
    def _check_memory(cls, value: str | None) -> str | None:
        if value is not None:
            from dask.utils import parse_bytes

            try:
                parse_bytes(value)
            except ValueError:
                raise ValueError(f"memory {value!r} is not a size; write e.g. '8GiB' or '16GB'") from None
        return value

    @field_validator("worker_lifetime", "lifetime_stagger")
    @classmethod
    def _check_duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value

    @field_validator("walltime")
    @classmethod
    def _check_walltime(cls, value: str | None) -> str | None:
        if value is not None:
            walltime_seconds(value)
        return value

    @model_validator(mode="after")
    def _check_combination(self) -> ClusterConfig:
        if self.kind == "address" and not self.address:
            raise ValueError("kind 'address' needs address: tcp://HOST:PORT")
        if self.address and self.kind != "address":
            raise ValueError(f"address is only used with kind 'address', not {self.kind!r}; remove one of them")
        if self.gpus_per_job and self.processes not in (None, self.gpus_per_job):
            raise ValueError(f"processes {self.processes} with gpus_per_job {self.gpus_per_job}: tfus runs one worker "
                             "process per GPU; drop processes")
        if self.lifetime_stagger and not self.worker_lifetime:
            raise ValueError("lifetime_stagger needs worker_lifetime")
        if self.worker_lifetime and self.walltime:
            end = duration_seconds(self.worker_lifetime) + duration_seconds(self.lifetime_stagger or "0s")
            if end >= walltime_seconds(self.walltime):
                raise ValueError(f"worker_lifetime {self.worker_lifetime} (+ stagger {self.lifetime_stagger or '0s'})"
                                 f" must end before walltime {self.walltime} so workers leave before the job is "
                                 "killed; shorten it")
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "cluster") -> ClusterConfig:
        """Validate a YAML section; any problem is one :class:`TfusInputError` line naming ``where.key``."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise TfusInputError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as err:
            raise TfusInputError(validation_message(err, cls, where=where)) from None

    def updated(self, **changes: Any) -> ClusterConfig:
        """A validated copy with ``changes`` applied; ``None`` values leave a setting as it is."""
        data = self.model_dump(exclude_unset=True)
        changes = {key: value for key, value in changes.items() if value is not None}
        if changes.get("kind", "address") != "address":
            data.pop("address", None)  # switching away from an existing scheduler
        data.update(changes)
        return ClusterConfig.from_mapping(data)

    def with_cli(self, cluster: str | None = None, workers: int | None = None, jobs: int | None = None,
                 ) -> ClusterConfig:
        """Apply the command line (``--cluster local|slurm|pbs|tcp://HOST:PORT --workers N --jobs N``) on top."""
        changes: dict[str, Any] = {"workers": workers, "jobs": jobs}
        if cluster is not None:
            kind, address = parse_cluster_option(cluster)
            changes.update(kind=kind, address=address)
        return self.updated(**changes)

    @property
    def n_jobs(self) -> int:
        """Batch jobs to keep running."""
        return self.jobs or self.workers or 1


def parse_cluster_option(value: str) -> tuple[Kind, str | None]:
    """``--cluster`` value -> ``(kind, address)``; ``address`` is ``None`` unless kind is ``"address"``.

    Example:
        >>> parse_cluster_option("slurm"), parse_cluster_option("10.1.2.3:8786")
        (('slurm', None), ('address', 'tcp://10.1.2.3:8786'))
    """
    text = str(value).strip()
    if text.lower() in ("local", "slurm", "pbs"):
        return text.lower(), None  # type: ignore[return-value]
    try:
        return "address", normalize_address(text)
    except ValueError:
        raise TfusInputError(f"--cluster {value!r}: expected local, slurm, pbs or a scheduler address like "
                             "tcp://HOST:PORT") from None


def normalize_address(value: str) -> str:
    """``tcp://HOST:PORT`` (also tls, ws, wss, ucx, inproc); a bare ``HOST:PORT`` gets ``tcp://``."""
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if sep and scheme in _SCHEMES and rest:
        return text
    if not sep and _HOST_PORT.match(text):
        return f"tcp://{text}"
    raise ValueError(f"address {value!r} is not a scheduler address; write tcp://HOST:PORT")


def duration_seconds(value: str) -> float:
    """Seconds in a Dask duration (``"50m"``, ``"1h"``, ``"90s"``, a number of seconds)."""
    from dask.utils import parse_timedelta

    try:
        return float(parse_timedelta(value, default="seconds"))
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"duration {value!r} is not a time; write e.g. '50m', '1h' or '90s'") from None


def walltime_seconds(value: str) -> int:
    """Seconds in a batch walltime: ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM`` or ``D-HH:MM:SS``."""
    match = _WALLTIME.match(str(value).strip())
    if not match:
        raise ValueError(f"walltime {value!r} is not HH:MM:SS or D-HH:MM:SS")
    days, *parts = match.groups()
    numbers = [int(p) for p in parts if p is not None]
    if days is not None:  # D-HH[:MM[:SS]]
        hours, minutes, seconds = (numbers + [0, 0])[:3]
        return ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds
    if len(numbers) == 3:
        return (numbers[0] * 60 + numbers[1]) * 60 + numbers[2]
    if len(numbers) == 2:  # MM:SS
        return numbers[0] * 60 + numbers[1]
    return numbers[0] * 60  # MM
