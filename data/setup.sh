#!/usr/bin/env bash
# Set up tfus on a fresh Debian/Ubuntu machine: CPU torch, the project (editable, with dev tools), the Debian data
# packages, and the real head volumes built from them (data/heads/built/).
#   bash data/setup.sh            # everything
#   TFUS_SKIP_APT=1 bash data/setup.sh   # no apt (not root, or packages already there)
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install -q "torch==2.13.0"   # a CPU build; an unpinned torch pulls several GB of CUDA
python -m pip install -q -e ".[dev]"

if [ "${TFUS_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq invesalius-examples mricron-data >/dev/null
fi

python -m tfus.data.build_heads
