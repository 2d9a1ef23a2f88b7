"""Cluster layer: config validation, ``--cluster`` values, jobqueue arguments and job scripts, a real LocalCluster
(compute, a worker killed mid-run, lifetime restarts, GPU pinning), an existing scheduler by address and an
unreachable one."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster

from tfus.pipeline.errors import TfusInputError
from tfus.workflows.cluster import (
    ClusterConfig,
    jobqueue_kwargs,
    local_cluster_kwargs,
    parse_cluster_option,
    start_cluster,
    wait_for_workers,
)
from tfus.workflows.cluster.config import walltime_seconds
from tfus.workflows.cluster.gpu import gpu_for_worker


# --- config -----------------------------------------------------------------------------------------------------------
def test_unknown_key_names_it_and_the_allowed_ones():
    with pytest.raises(TfusInputError) as info:
        ClusterConfig.from_mapping({"kind": "slurm", "partition": "gpu"})
    message = str(info.value)
    assert "'partition'" in message and "\n" not in message
    for allowed in ("queue", "account", "walltime", "gpus_per_job", "worker_lifetime", "job_prologue"):
        assert allowed in message


@pytest.mark.parametrize("data, needle", [
    ({"kind": "sge"}, "cluster.kind"),
    ({"workers": 0}, "cluster.workers"),
    ({"memory": "plenty"}, "memory 'plenty' is not a size"),
    ({"walltime": "one hour"}, "walltime 'one hour'"),
    ({"worker_lifetime": "soon"}, "duration 'soon'"),
    ({"walltime": "00:30:00", "worker_lifetime": "28m", "lifetime_stagger": "3m"}, "must end before walltime"),
    ({"lifetime_stagger": "2m"}, "lifetime_stagger needs worker_lifetime"),
    ({"kind": "address"}, "needs address"),
    ({"kind": "slurm", "address": "tcp://h:1"}, "only used with kind 'address'"),
    ({"address": "not an address"}, "not a scheduler address"),
    ({"gpus_per_job": 2, "processes": 4}, "one worker process per GPU"),
    ({"job_prologue": "module load cuda"}, "cluster.job_prologue"),
])
def test_bad_settings_are_one_line_errors(data, needle):
    with pytest.raises(TfusInputError) as info:
        ClusterConfig.from_mapping(data)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_not_a_mapping():
    with pytest.raises(TfusInputError, match="expected a mapping"):
        ClusterConfig.from_mapping(["slurm"])


def test_good_settings_and_defaults():
    assert ClusterConfig.from_mapping(None) == ClusterConfig()
    cfg = ClusterConfig.from_mapping({"kind": "slurm", "walltime": "1-00:00", "worker_lifetime": "23h",
                                      "lifetime_stagger": "10m", "job_prologue": ["module load cuda"], "jobs": 3})
    assert (cfg.kind, cfg.n_jobs, cfg.job_prologue) == ("slurm", 3, ("module load cuda",))
    assert ClusterConfig.from_mapping({"address": "10.0.0.1:8786"}).kind == "address"
    assert ClusterConfig(kind="pbs", workers=5).n_jobs == 5


@pytest.mark.parametrize("text, seconds", [
    ("30", 1800), ("05:30", 330), ("01:00:00", 3600), ("2-00", 172800), ("1-02:03", 93780), ("1-00:00:10", 86410)])
def test_walltime_formats(text, seconds):
    assert walltime_seconds(text) == seconds


@pytest.mark.parametrize("value, expected", [
    ("local", ("local", None)), ("SLURM", ("slurm", None)), ("pbs", ("pbs", None)),
    ("tcp://10.0.0.5:8786", ("address", "tcp://10.0.0.5:8786")), ("tls://node1:8786", ("address", "tls://node1:8786")),
    ("node7:8786", ("address", "tcp://node7:8786")),
])
def test_parse_cluster_option(value, expected):
    assert parse_cluster_option(value) == expected


@pytest.mark.parametrize("value", ["sge", "", "tcp://", "http//x:1", "node7"])
def test_parse_cluster_option_refuses(value):
    with pytest.raises(TfusInputError, match="expected local, slurm, pbs or a scheduler address"):
        parse_cluster_option(value)


def test_command_line_overrides_yaml():
    yaml_cfg = ClusterConfig.from_mapping({"kind": "slurm", "queue": "gpu", "jobs": 8})
    local = yaml_cfg.with_cli(cluster="local", workers=2)
    assert (local.kind, local.workers, local.queue) == ("local", 2, "gpu")
    remote = yaml_cfg.with_cli(cluster="tcp://h:9")
    assert (remote.kind, remote.address) == ("address", "tcp://h:9")
    assert remote.with_cli(cluster="pbs").address is None
    assert yaml_cfg.with_cli() == yaml_cfg
    with pytest.raises(TfusInputError, match="cluster.workers"):
        yaml_cfg.with_cli(workers=-1)


# --- jobqueue arguments and real job scripts -------------------------------------------------------------------------
def test_only_settings_given_are_passed_so_dask_config_applies():
    with dask.config.set({"jobqueue.slurm.cores": 8, "jobqueue.slurm.memory": "16GB", "jobqueue.slurm.queue": "long",
                          "jobqueue.slurm.job-script-prologue": ["module load site"]}):
        kw = jobqueue_kwargs(ClusterConfig(kind="slurm", walltime="02:00:00"))
        assert "queue" not in kw and "account" not in kw and "job_script_prologue" not in kw
        assert (kw["cores"], kw["memory"], kw["processes"], kw["walltime"]) == (8, "16GB", 1, "02:00:00")
        mine = jobqueue_kwargs(ClusterConfig(kind="slurm", queue="short", cores=2, memory="3GiB"))
        assert (mine["queue"], mine["cores"], mine["memory"]) == ("short", 2, "3GiB")
    bare = jobqueue_kwargs(ClusterConfig(kind="slurm", threads_per_worker=2))
    assert (bare["cores"], bare["processes"], bare["memory"]) == (2, 1, "4.00 GiB")


def test_slurm_job_script_with_gpus_lifetime_and_prologue(tmp_path):
    from dask_jobqueue import SLURMCluster

    cfg = ClusterConfig(kind="slurm", gpus_per_job=2, account="proj1", queue="gpu", walltime="01:00:00",
                        worker_lifetime="50m", lifetime_stagger="4m", job_prologue=["module load cuda/12"],
                        log_directory=str(tmp_path / "logs"), memory="32GiB")
    with SLURMCluster(**jobqueue_kwargs(cfg)) as cluster:
        script = cluster.job_script()
    for line in ("#SBATCH -p gpu", "#SBATCH -A proj1", "#SBATCH -t 01:00:00", "#SBATCH --gres=gpu:2",
                 "module load cuda/12", "export TFUS_GPU_PROCESSES=2", "--nworkers 2", "--nthreads 1",
                 "--lifetime 50m", "--lifetime-stagger 4m", "--resources GPU=1",
                 "--preload tfus.workflows.cluster.gpu", "--memory-limit 16.00GiB"):
        assert line in script, (line, script)
    assert "--lifetime-restart" not in script  # a batch job ends at its lifetime; adapt submits a fresh one


def test_pbs_job_script_requests_gpus(tmp_path):
    from dask_jobqueue import PBSCluster

    cfg = ClusterConfig(kind="pbs", gpus_per_job=1, queue="workq", memory="8GiB", walltime="00:20:00",
                        log_directory=str(tmp_path))
    with PBSCluster(**jobqueue_kwargs(cfg)) as cluster:
        script = cluster.job_script()
    assert "#PBS -q workq" in script and "#PBS -l walltime=00:20:00" in script
    assert "#PBS -l select=1:ncpus=1:mem=8192MB:ngpus=1" in script, script
    assert "--nworkers" not in script and "--resources GPU=1" in script


def test_gpu_index_of_each_worker():
    assert [gpu_for_worker(i, 1, "3,7") for i in range(2)] == ["3", "7"]
    assert [gpu_for_worker(f"SLURMCluster-12-{i}", 4, None) for i in range(4)] == ["0", "1", "2", "3"]
    assert gpu_for_worker("SLURMCluster-12", 1, "5") == "5"  # one process per job: the job's own GPU


# --- a real LocalCluster ---------------------------------------------------------------------------------------------
def _index_and_pid(i):
    return i, os.getpid()


def test_local_cluster_runs_processes_and_closes():
    cfg = ClusterConfig(workers=2, memory="1GiB")
    assert local_cluster_kwargs(cfg)["processes"] is True
    with start_cluster(cfg, wait=2) as client:
        cluster = client.cluster
        assert sorted(client.nthreads().values()) == [1, 1]
        results = client.gather(client.map(_index_and_pid, range(6)))
        assert sorted(r[0] for r in results) == list(range(6))
        assert os.getpid() not in {r[1] for r in results}
        assert set(client.run(os.getpid).values()) >= {r[1] for r in results}
    assert client.status == "closed" and cluster.status.name == "closed"


def _marked_task(i: int, marks: str, seconds: float):
    Path(marks, f"{i}-{os.getpid()}").touch()
    time.sleep(seconds)
    return i, os.getpid()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_local_worker_killed_mid_run_every_result_exactly_once(tmp_path):
    with start_cluster(ClusterConfig(workers=2), wait=2) as client:
        victim = sorted(client.run(os.getpid).values())[0]
        futures = client.map(_marked_task, range(10), marks=str(tmp_path), seconds=0.4, retries=2, pure=False)
        started = _wait_for(lambda: [p for p in tmp_path.iterdir() if p.name.endswith(f"-{victim}")], 30,
                            "a task on the victim worker")
        os.kill(victim, signal.SIGKILL)
        results = client.gather(futures)
        assert sorted(i for i, _ in results) == list(range(10))  # every task, exactly once
        interrupted = {int(p.name.split("-")[0]) for p in started}
        assert any(dict(results)[i] != victim for i in interrupted)  # the killed task ran again elsewhere
        _wait_for(lambda: len(client.nthreads()) == 2, 30, "the nanny to restart the worker")
        assert victim not in client.run(os.getpid).values()


def test_local_worker_lifetime_restarts_the_process():
    with start_cluster(ClusterConfig(workers=1, worker_lifetime="1s"), wait=1) as client:
        first = set(client.run(os.getpid).values())
        _wait_for(lambda: (pids := set(client.run(os.getpid).values())) and pids != first, 30, "a restart")
        assert client.submit(sum, [1, 2]).result() == 3


def test_local_gpu_workers_are_pinned_one_per_gpu():
    with start_cluster(ClusterConfig(gpus_per_job=2), wait=2) as client:
        pinned = client.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))
        assert sorted(pinned.values()) == ["0", "1"]
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        assert [w["resources"] for w in workers] == [{"GPU": 1}, {"GPU": 1}]
        assert client.submit(os.getpid, resources={"GPU": 1}).result() > 0


# --- an existing scheduler -------------------------------------------------------------------------------------------
def test_existing_scheduler_by_address_is_used_and_left_running():
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as external:
        cfg = ClusterConfig().with_cli(cluster=external.scheduler_address)
        with start_cluster(cfg, wait=1) as client:
            assert client.submit(sum, [2, 3]).result() == 5
        with Client(external) as again:  # still up: we close only what we started
            assert again.submit(sum, [1, 1]).result() == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_scheduler_is_a_fast_one_line_error():
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(TfusInputError) as info:
        with start_cluster(ClusterConfig(address=address, connect_timeout=1)):
            pass
    assert time.monotonic() - start < 10
    assert str(info.value).startswith(f"cannot reach the Dask scheduler at {address}")
    assert "start it or check the address" in str(info.value)


def test_wait_for_workers_times_out_with_a_clear_message():
    with LocalCluster(n_workers=0, dashboard_address=":0") as empty, Client(empty) as client:
        with pytest.raises(TfusInputError, match=r"only 0 of 1 Dask workers joined within 1 s"):
            wait_for_workers(client, 1, timeout=1)


def test_wait_for_workers_on_an_address_client_names_the_scheduler_and_returns_once_they_join():
    with LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        with Client(empty.scheduler_address) as client:  # a plain address client: no cluster object
            with pytest.raises(TfusInputError, match=r"only 0 of 1 Dask workers joined within 0.5 s; is any worker "
                                                     rf"connected to {empty.scheduler_address}\?"):
                wait_for_workers(client, 1, timeout=0.5)
            empty.scale(1)
            wait_for_workers(client, 1, timeout=60)
            assert len(client.nthreads()) == 1
