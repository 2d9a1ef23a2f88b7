#!/usr/bin/env bash
# Download the wheels of the Python packages the GPU check imports that the GPU machine's image lacks.
#
# The device machine (nvidia-h200, image 'cuda': Python 3.12 at /opt/torch/.venv/bin/python3 with torch 2.11 cu130,
# Triton 3.6, CuPy 14 for CUDA 13, numpy, scipy, numba, h5py, matplotlib, opencv, PyYAML, rich, typer, filelock, ...)
# reaches no package registry. Run this HERE, where PyPI is reachable, from the repository root:
#
#     bash workflows/bench/gpu_wheels.sh            # -> .whl/*.whl (git-ignored by /.whl/ in .gitignore), ~20 MB
#
# then give the device tool's `run` carry=[".whl"] and the command in workflows/bench/gpu_run.sh. The list is what
# `tfus.workflows.bench.gpu_check` imports (k-Wave, the surrogates, the kernels, the store helpers they pull in) minus
# what the image holds (/work/.library/device/KINDS.md, "Python packages already there"); it was checked by running
# the check in a clean venv that sees only the image's packages plus these wheels (gpu_run.sh, "Rehearsal").
# One version of each (two stop the install); versions are the ones tfus is tested with. Not carried, because the
# check does not import them: SimpleITK (52 MB), pyfftw, scikit-fem, dask, distributed, dask-jobqueue.
#
# Environment: PYVER (default 3.12, the image's Python; 3.11 for a rehearsal on a 3.11 host), DEST (default .whl).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYVER=${PYVER:-3.12}
DEST=${DEST:-.whl}

PACKAGES=(
    # k-Wave (the native solver tfus steps) and what it imports that the image lacks
    k-wave-python==0.6.2 beartype==0.22.9 Deprecated==1.3.1
    # surrogates: network blocks (MONAI) and configs (pydantic)
    monai==1.6.1 pydantic==2.13.4 pydantic-core==2.46.4 annotated-types==0.7.0 typing-inspection==0.4.2
    # pipeline: images (nibabel), the Zarr store and its codecs, bundled-resource paths (platformdirs)
    nibabel==5.4.2 zarr==3.1.6 numcodecs==0.16.6 donfig==0.8.1.post1 google-crc32c==1.9.0 platformdirs==4.14.9
)

PLATFORMS=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    PLATFORMS+=(--platform "$p")
done
mkdir -p "$DEST"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
    "${PLATFORMS[@]}" -d "$DEST" "${PACKAGES[@]}"
grep -qx '/.whl/' .gitignore 2>/dev/null || echo "warning: /.whl/ is not in .gitignore; the wheels would be committed" >&2
du -sh "$DEST"
ls "$DEST"
