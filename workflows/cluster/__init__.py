"""Cluster backends for dataset generation: LocalCluster (default), SLURM and PBS through dask-jobqueue, or an
existing scheduler by address.

Example:
    >>> from tfus.workflows.cluster import ClusterConfig, start_cluster, wait_for_workers
    >>> config = ClusterConfig.from_mapping({"kind": "local", "workers": 2}).with_cli(cluster="local")
    >>> with start_cluster(config) as client:  # doctest: +SKIP
    ...     wait_for_workers(client, 1, config.worker_timeout)
    ...     client.submit(pow, 2, 10).result()
    1024
"""

from __future__ import annotations

from tfus.workflows.cluster.batch import job_ids, jobqueue_kwargs, make_batch_cluster, queue_report, submit_errors
from tfus.workflows.cluster.config import BATCH_KINDS, ClusterConfig, Kind, parse_cluster_option
from tfus.workflows.cluster.start import (
    connect,
    dashboard_link,
    local_cluster_kwargs,
    make_local_cluster,
    start_cluster,
    wait_for_workers,
)

__all__ = [
    "BATCH_KINDS",
    "ClusterConfig",
    "Kind",
    "connect",
    "dashboard_link",
    "job_ids",
    "jobqueue_kwargs",
    "local_cluster_kwargs",
    "make_batch_cluster",
    "make_local_cluster",
    "parse_cluster_option",
    "queue_report",
    "start_cluster",
    "submit_errors",
    "wait_for_workers",
]
