#!/usr/bin/env bash
# The GPU check on the device machine in one command: carried wheels -> tfus importable from the source tree without
# pip install -> `python -m tfus.workflows.bench.gpu_check` -> $OUT/gpu.json (+ the log and nvidia-smi's report).
#
# Before (here, once, with PyPI reachable; from the repository root):
#     bash workflows/bench/gpu_wheels.sh                   # -> .whl/ (~19 MB, git-ignored)
# The device tool's call (the tree that travels is the session's checkout, so this branch must be in it):
#     run(command="bash workflows/bench/gpu_run.sh", carry=[".whl"], timeout_s=570)
# The check's own budget is 480 s (BUDGET_S); each part is time-boxed, so gpu.json comes back even if a part hangs.
# Arguments are passed to the check (e.g. --parts kwave,kernels, --budget-s 300).
#
# Rehearsal here, on CPU (tiny sizes, CUDA legs recorded as skipped):
#     OUT=/tmp/out bash workflows/bench/gpu_run.sh --dry-run
# With PYTHON set to an interpreter that sees only the image's packages, this also checks the wheel list. Done on
# 2026-12-03 on a Python 3.11 host: a venv without system site-packages plus a .pth to a folder of symlinks to the
# host's copies of exactly the distributions KINDS.md lists for the image, PYVER=3.11 wheels in a copy of the tree
# (tracked + untracked files, as the tool sends it); the dry run passed with no other package. Not rehearsable here:
# the image's numpy 2.5.2 (no cp311 wheel; k-wave-python 0.6.2 declares numpy<2.3 but ran with 2.4.6 here) and CuPy.
#
# Environment: PYTHON (default python3: on the image, the one that holds torch), OUT (default /tmp/out), BUDGET_S
# (default 480), TFUS_SITE (wheel target, default /tmp/site), TFUS_NS (namespace folder, default /tmp/tfus-ns).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/out}
SITE=${TFUS_SITE:-/tmp/site}
NS=${TFUS_NS:-/tmp/tfus-ns}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

# 1. Carried wheels (the packages the image lacks) into a private folder; no registry, no dependency resolution.
shopt -s nullglob
wheels=("$REPO"/.whl/*.whl)
if ((${#wheels[@]})); then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}" \
        || { echo "error: installing the carried wheels failed (see above); rebuild .whl with gpu_wheels.sh"; exit 3; }
else
    echo "note: no .whl/*.whl carried; packages the image lacks will be reported missing"
fi

# 2. tfus without pip install: `tfus` is a PEP 420 namespace package whose subpackages live in top-level folders
#    (package-dir in pyproject.toml), so a folder `tfus/` of symlinks to them, put on PYTHONPATH, imports the same code.
rm -rf "$NS" && mkdir -p "$NS/tfus"
for d in pipeline surrogates kernels workflows data; do ln -s "$REPO/$d" "$NS/tfus/$d"; done
export PYTHONPATH="$SITE:$NS${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import os, sys, tfus.workflows.bench.gpu_check as m; \
p = os.path.realpath(m.__file__); assert p.startswith(os.path.realpath(sys.argv[1])), p; print('tfus from', p)" "$REPO" \
    || { echo "error: tfus does not import from $REPO (see above)"; exit 4; }

# 3. What the driver reports (read only), then the check.
if command -v nvidia-smi >/dev/null; then nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1; fi
"$PY" -m tfus.workflows.bench.gpu_check --out "$OUT/gpu.json" --budget-s "${BUDGET_S:-480}" "$@" 2>&1 \
    | tee "$OUT/gpu_check.log"
exit "${PIPESTATUS[0]}"
