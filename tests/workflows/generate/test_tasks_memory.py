"""Sample tasks undo Dask's ``MALLOC_TRIM_THRESHOLD_`` in their worker process: freed arrays are reused, not faulted
in again page by page."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from tfus.workflows.generate.tasks import keep_freed_memory
    keep_freed_memory()
a = np.ones(100)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    a = np.ones((96, 80, 72), np.float32)  # 2.2 MB, like one time-step temporary of a demo simulation
    a += 1
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_keep_freed_memory_stops_page_faults_under_dask_malloc_settings():
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what Dask's nanny sets for every worker

    def faults(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        return int(out.stdout.split()[-1])

    plain, kept = faults("plain"), faults("keep")
    assert plain > 20_000, plain  # ~540 pages per array, faulted in on every allocation
    assert kept < plain / 10, (kept, plain)
