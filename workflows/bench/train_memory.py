"""Peak memory of one training run, measured in a fresh Python process so earlier runs leave nothing behind.

The child process (``python -m tfus.workflows.bench.train_memory``, arguments as JSON on stdin) imports everything,
then runs :func:`tfus.surrogates.training.train` and reports:

* on a GPU: ``torch.cuda.max_memory_allocated()`` after resetting the peak just before training (tensors only: the
  caching allocator's reserve and the CUDA context are not counted);
* on the CPU: the rise of the process's peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``
  just before training) above its resident size at that moment: weights, gradients, optimizer state, activations,
  temporaries, the data being read and whatever the allocator keeps, i.e. what the training added to the process.
  Where ``clear_refs`` cannot be written (not Linux), ``ru_maxrss`` after minus the resident size before (an
  underestimate if the imports peaked higher).

Example:
    >>> peak_rss_supported() in (True, False)
    True
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.jsonio import write_json

__all__ = ["peak_rss_supported", "train_in_fresh_process"]

_RESULT = "train_memory.json"


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_supported() -> bool:
    """Whether this process can reset and read its peak resident set size (Linux ``clear_refs`` / ``VmHWM``)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def _current_rss_bytes() -> int:
    kib = _status_kib("VmRSS")
    if kib is not None:
        return 1024 * kib
    import resource

    return 1024 * resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child() -> None:
    args = json.loads(sys.stdin.read())
    import torch

    from tfus.surrogates.training import TrainConfig, train

    torch.set_num_threads(int(args["threads"]))
    cfg = TrainConfig.from_mapping(args["config"])
    out = Path(args["out"])
    cuda = args["device"] == "gpu"
    if cuda:
        torch.cuda.init()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        method = "torch.cuda.max_memory_allocated (tensors; allocator reserve and CUDA context excluded)"
    else:
        reset = peak_rss_supported()
        base = _current_rss_bytes()
        method = ("peak RSS rise of a fresh process (VmHWM reset before training)" if reset
                  else "ru_maxrss after training minus RSS before (fresh process)")
    t0 = time.perf_counter()
    try:
        train(args["store"], out, cfg, device=args["device"], overwrite=True, progress=False, say=None)
    except TfusInputError as err:
        write_json(out / _RESULT, {"error": str(err)}, indent=None)
        raise SystemExit(2) from None
    seconds = time.perf_counter() - t0
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        hwm = _status_kib("VmHWM") if reset else None
        if hwm is None:
            import resource

            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = 1024 * hwm - base
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / _RESULT, {"train_seconds": seconds, "peak_train_bytes": int(peak), "memory_method": method},
               indent=None)


def train_in_fresh_process(store: str | Path, out: str | Path, config: dict, device: str = "cpu",
                           threads: int | None = None) -> dict:
    """Train ``config`` (a :class:`~tfus.surrogates.training.TrainConfig` mapping) on ``store`` into ``out`` in a
    new process; return ``{"train_seconds", "peak_train_bytes", "memory_method"}``.

    Raises:
        TfusInputError: the training refused its inputs (the child's one-line message).
        RuntimeError: the child crashed (the end of its stderr).
    """
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / _RESULT).unlink(missing_ok=True)
    args = {"store": str(store), "out": str(out), "config": config, "device": device,
            "threads": int(threads or torch.get_num_threads())}
    proc = subprocess.run([sys.executable, "-m", "tfus.workflows.bench.train_memory"], input=json.dumps(args),
                          capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False)
    result = json.loads((out / _RESULT).read_text(encoding="utf-8")) if (out / _RESULT).is_file() else None
    if result is not None and "error" in result:
        raise TfusInputError(result["error"])
    if proc.returncode != 0 or result is None:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"training process for {out} failed (exit {proc.returncode}):\n{tail}")
    return result


if __name__ == "__main__":
    _child()
