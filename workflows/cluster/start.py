"""Start (or reach) the Dask cluster a run uses, and always tear it down.

:func:`start_cluster` yields a ``distributed.Client``: a LocalCluster of single-threaded worker processes, a
SLURM/PBS cluster of batch jobs (kept at ``jobs`` jobs by ``adapt``, so a killed or expired job is replaced), or a
client of an existing scheduler. On exit the client and the cluster are closed (batch jobs are cancelled).
:func:`wait_for_workers` fails with one line (and the queue state for batch jobs) when no worker shows up.

Example:
    >>> from tfus.workflows.cluster import ClusterConfig, start_cluster
    >>> with start_cluster(ClusterConfig(workers=2), wait=2) as client:  # doctest: +SKIP
    ...     print(dashboard_link(client), client.submit(sum, [1, 2]).result())
    http://127.0.0.1:40123/status 3
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tfus.pipeline.errors import TfusInputError
from tfus.workflows.cluster.batch import GPU_PRELOAD, has_bokeh, make_batch_cluster, queue_report, submit_errors
from tfus.workflows.cluster.config import ClusterConfig

logger = logging.getLogger(__name__)


@contextmanager
def start_cluster(config: ClusterConfig | None = None, *, wait: int = 0) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for ``config`` (default: a LocalCluster); close everything on exit.

    Args:
        config: where the workers come from.
        wait: if > 0, return only once this many workers joined (fails after ``config.worker_timeout``).
    """
    config = config or ClusterConfig()
    cluster = client = None
    try:
        if config.kind == "address":
            client = connect(config.address or "", config.connect_timeout)
        else:
            from distributed import Client

            cluster = make_local_cluster(config) if config.kind == "local" else make_batch_cluster(config)
            client = Client(cluster)
        if wait:
            wait_for_workers(client, wait, config.worker_timeout)
        yield client
    finally:
        _close(client)
        _close(cluster)


def make_local_cluster(config: ClusterConfig):
    """A LocalCluster of worker processes (one per CPU, or one per GPU with ``gpus_per_job``)."""
    from distributed import LocalCluster

    return LocalCluster(**local_cluster_kwargs(config))


def local_cluster_kwargs(config: ClusterConfig) -> dict[str, Any]:
    """LocalCluster arguments: processes, not threads; ``threads_per_worker`` threads each."""
    gpus = config.gpus_per_job
    if gpus and config.workers and config.workers != gpus:
        raise TfusInputError(f"cluster: workers {config.workers} with gpus_per_job {gpus}: local runs use one worker "
                             "process per GPU; drop workers")
    kw: dict[str, Any] = {
        "n_workers": gpus or config.workers or os.cpu_count() or 1,
        "threads_per_worker": config.threads_per_worker,
        "processes": True,
        "dashboard_address": ":0",  # a free port (the HTTP server runs even without bokeh: /health, /metrics)
    }
    if config.memory:
        kw["memory_limit"] = config.memory
    if config.local_directory:
        kw["local_directory"] = config.local_directory
    if config.scheduler_host:
        kw["host"] = config.scheduler_host
    if config.interface:
        kw["interface"] = config.interface
    if config.worker_lifetime:
        kw["lifetime"] = config.worker_lifetime
        kw["lifetime_stagger"] = config.lifetime_stagger or "0s"
        kw["lifetime_restart"] = True if config.lifetime_restart is None else config.lifetime_restart
    if gpus:
        kw["resources"] = {"GPU": 1}
        kw["preload"] = [GPU_PRELOAD]
    return kw


def connect(address: str, timeout: float = 10.0):
    """A client of an existing scheduler; one :class:`TfusInputError` line when it cannot be reached."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except OSError:  # refused, unresolvable, or TimeoutError (a subclass)
        raise TfusInputError(f"cannot reach the Dask scheduler at {address} (not reachable within {timeout:g} s); "
                             "start it or check the address") from None


def wait_for_workers(client, n: int = 1, timeout: float | None = 600.0, poll: float = 0.5) -> None:
    """Block until ``n`` workers joined; after ``timeout`` s raise a one-line error with the batch queue state.

    The waiting is ``distributed.Client.wait_for_workers``. For a batch cluster it waits in ``poll``-second spans, so
    that a worker job the batch system refused fails at once instead of after ``timeout``.

    Example:
        >>> with start_cluster(ClusterConfig(workers=1)) as client:  # doctest: +SKIP
        ...     wait_for_workers(client, 1, timeout=60)
    """
    if n < 1:
        return
    cluster = getattr(client, "cluster", None)
    batch = cluster is not None and getattr(cluster, "job_cls", None) is not None
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        refused = submit_errors(cluster)
        if refused:
            raise TfusInputError(f"the batch system refused the worker job: {refused[-1]}")
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TfusInputError(_too_few_workers(client, cluster, n, timeout))
        span = (poll if left is None else min(poll, left)) if batch else left
        try:
            client.wait_for_workers(n, timeout=span)
            return
        except TimeoutError:  # distributed's WorkerStartTimeoutError: check the batch queue and the deadline again
            continue


def _too_few_workers(client, cluster, n: int, timeout: float | None) -> str:
    """The one-line timeout message of :func:`wait_for_workers`."""
    have = len(client.nthreads())
    where = ""
    if cluster is not None and getattr(cluster, "job_cls", None) is not None:
        kind = cluster.job_cls.config_name
        where = f"; {queue_report(cluster)}; pending {kind} jobs wait for free resources: check the queue, " \
                "account and walltime, or raise worker_timeout"
    elif cluster is None:
        where = f"; is any worker connected to {client.scheduler.address}?"
    return f"only {have} of {n} Dask workers joined within {timeout:g} s{where}"


def dashboard_link(client) -> str | None:
    """The scheduler's dashboard URL, or ``None`` when it serves none (no bokeh here for a cluster started here)."""
    if getattr(client, "cluster", None) is not None and not has_bokeh():
        return None
    services = client.scheduler_info().get("services", {})
    if "dashboard" not in services:
        return None
    return client.dashboard_link


def _close(thing) -> None:
    if thing is None:
        return
    try:
        thing.close()
    except (OSError, RuntimeError) as err:  # a scheduler already gone: nothing left to release
        logger.warning("closing %s failed: %s", type(thing).__name__, err)

