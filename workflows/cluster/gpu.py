"""One worker process per GPU: a Dask worker preload that pins each worker process to its own GPU.

The cluster starts ``gpus_per_job`` worker processes per job (or local machine) and loads this module in each
(``--preload tfus.workflows.cluster.gpu``). Before any task runs, :func:`dask_setup` sets ``CUDA_VISIBLE_DEVICES`` to
the one device of this process: the i-th of the devices the batch system gave the job (``CUDA_VISIBLE_DEVICES`` set
by SLURM), or device ``i`` when none is given. The index ``i`` comes from the worker name: a LocalCluster names its
workers ``0, 1, ...``; ``dask worker --nworkers N`` appends ``-0 ... -{N-1}`` to the job's name; with one process
per job it is 0. The cluster exports ``TFUS_GPU_PROCESSES`` (processes per job) for batch jobs.

Example:
    >>> gpu_for_worker("SLURMCluster-3-1", processes=2, visible="4,5")
    '5'
    >>> gpu_for_worker(2, processes=4, visible=None)
    '2'
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)
PROCESSES_ENV = "TFUS_GPU_PROCESSES"
PINNED_ENV = "TFUS_PINNED_GPU"


def local_index(name: object, processes: int) -> int:
    """Index of this worker process among the ``processes`` of its job (or machine)."""
    if isinstance(name, int):
        return name
    text = str(name)
    if text.isdigit():
        return int(text)
    if processes > 1:
        suffix = text.rsplit("-", 1)[-1]
        if suffix.isdigit():
            return int(suffix)
    return 0


def gpu_for_worker(name: object, processes: int, visible: str | None) -> str:
    """The ``CUDA_VISIBLE_DEVICES`` value for worker ``name``."""
    devices = [d.strip() for d in visible.split(",") if d.strip()] if visible else []
    index = local_index(name, processes)
    if not devices:
        return str(index)
    return devices[index % len(devices)]


def dask_setup(worker) -> None:
    """Dask preload hook: pin this worker process to one GPU before it runs any task."""
    processes = int(os.environ.get(PROCESSES_ENV, "1") or 1)
    device = gpu_for_worker(worker.name, processes, os.environ.get("CUDA_VISIBLE_DEVICES"))
    os.environ["CUDA_VISIBLE_DEVICES"] = device
    os.environ[PINNED_ENV] = device
    logger.info("worker %s pinned to GPU %s", worker.name, device)
