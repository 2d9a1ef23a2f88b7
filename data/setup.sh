#!/usr/bin/env bash
# Set up tfus on a fresh Debian/Ubuntu machine, the stock system Python included (PEP 668 refuses system-wide pip):
#   1. Python: $TFUS_PYTHON, else the active virtual environment's / conda env's, else python3 (3.11 or newer).
#   2. Environment: the active virtual environment or conda env if there is one; otherwise a venv at $TFUS_VENV
#      (default: .venv in the checkout), made with python3-venv (installed from apt when missing).
#   3. CPU torch, then tfus: editable with the dev tools when the checkout is writable, else a regular install.
#   4. The Debian data packages and the real head volumes built from them (see data/README.md).
# It ends by printing the command that runs the demo.
#   bash data/setup.sh                        # everything
#   TFUS_SKIP_APT=1 bash data/setup.sh        # no apt (not root, or packages already there)
#   TFUS_VENV=~/venvs/tfus bash data/setup.sh # the venv elsewhere (e.g. a read-only checkout)
set -euo pipefail

die() {
  echo "error: $*" >&2
  exit 2
}

here="$PWD"
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$root/pyproject.toml" ] || die "$root is not a tfus checkout (no pyproject.toml): run data/setup.sh from the checkout"

# apt as root, or through sudo; fails (non-zero) where there is no apt or it is switched off
apt_install() {
  [ "${TFUS_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null || return 1
  local sudo=""
  if [ "$(id -u)" != "0" ]; then
    command -v sudo >/dev/null || return 1
    sudo="sudo"
  fi
  if [ -z "${apt_updated:-}" ]; then
    $sudo apt-get update -qq || return 1
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# 1. the Python that makes (or is) the environment
active=""
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  active="$VIRTUAL_ENV"
elif [ -n "${CONDA_PREFIX:-}" ] && [ -x "$CONDA_PREFIX/bin/python" ]; then
  active="$CONDA_PREFIX"
fi
if [ -n "${TFUS_PYTHON:-}" ]; then
  py="$TFUS_PYTHON"
elif [ -n "$active" ]; then
  py="$active/bin/python"
else
  py="$(command -v python3 || true)"
fi
[ -n "$py" ] || die "no python3 found: install Python 3.11 or newer (apt-get install python3 python3-venv), or set TFUS_PYTHON"
"$py" -c "" 2>/dev/null || die "$py does not run: point TFUS_PYTHON at a working Python 3.11 or newer"
pyver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$py is Python $pyver; tfus needs 3.11 or newer: install one (apt-get install python3.11 python3.11-venv) and rerun with TFUS_PYTHON=/usr/bin/python3.11"

# 2. the environment tfus goes into
created=""
cleanup() {
  local rc=$?
  if [ "$rc" != "0" ] && [ -n "$created" ]; then
    rm -rf "$created"
    echo "error: setup failed (exit $rc); the unfinished environment $created was removed" >&2
  fi
}
trap cleanup EXIT

if [ -n "$active" ] && [ -z "${TFUS_PYTHON:-}" ]; then
  envpy="$active/bin/python"
  where="the active environment $active"
else
  venv="${TFUS_VENV:-$root/.venv}"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "using the existing virtual environment $venv"
  else
    if ! "$py" -c "import ensurepip, venv" 2>/dev/null; then
      echo "installing python3-venv (Python's venv module is missing)"
      apt_install python3-venv "python$pyver-venv" 2>/dev/null || apt_install python3-venv || true
      "$py" -c "import ensurepip, venv" 2>/dev/null \
        || die "Python's venv module is missing and apt could not install it: run 'apt-get install python$pyver-venv' as root, or activate a virtual environment first"
    fi
    if [ -e "$venv" ] && [ -n "$(ls -A "$venv" 2>/dev/null)" ]; then
      [ -f "$venv/pyvenv.cfg" ] \
        || die "$venv exists and is not a virtual environment: remove it, or set TFUS_VENV to another folder"
      echo "replacing the broken virtual environment $venv"
      rm -rf "$venv"
    fi
    mkdir -p "$venv" 2>/dev/null && touch "$venv/.tfus-setup" 2>/dev/null \
      || die "cannot create the virtual environment $venv (no write access): set TFUS_VENV to a writable folder, e.g. TFUS_VENV=\$HOME/.venvs/tfus, or activate a virtual environment first"
    rm -f "$venv/.tfus-setup"
    created="$venv"
    echo "creating the virtual environment $venv ($py, Python $pyver)"
    "$py" -m venv "$venv"
  fi
  envpy="$venv/bin/python"
  where="the virtual environment $venv"
fi

# 3. torch (a CPU build where one lies on the machine; an unpinned torch pulls several GB of CUDA), then tfus
"$envpy" -m pip install -q "torch==2.13.0"
if [ -w "$root" ]; then
  "$envpy" -m pip install -q -e "$root[dev]"
else
  # a read-only checkout: the build writes beside the sources, so build from a copy; heads then go to the user's
  # data folder (tfus.pipeline.resources.built_data_dir)
  tmp="$(mktemp -d)"
  cp -r "$root/." "$tmp/src"
  rm -rf "$tmp/src/.venv" "$tmp/src/.git"
  "$envpy" -m pip install -q "$tmp/src"
  rm -rf "$tmp"
fi

# 4. the Debian data packages and the real head volumes (each source optional: a missing one is reported)
if [ "${TFUS_SKIP_APT:-0}" != "1" ]; then
  apt_install invesalius-examples mricron-data \
    || echo "note: could not apt-get install invesalius-examples mricron-data (no apt, or not root and no sudo); the CT and Colin27 heads are skipped"
  # headless Chromium opens `tfus report` pages in the browser test (tests/workflows/report); optional
  command -v chromium >/dev/null || apt_install chromium \
    || echo "note: could not apt-get install chromium; the browser test of tfus report is skipped"
fi
"$envpy" -m tfus.data.build_heads
"$(dirname "$envpy")/tfus" --version >/dev/null
created=""

# the command that runs the demo, as the user would type it from where they started
if [ -n "$active" ] && [ -z "${TFUS_PYTHON:-}" ]; then
  tfus_cmd="tfus"
else
  tfus_cmd="$venv/bin/tfus"
  case "$tfus_cmd" in "$here"/*) tfus_cmd="${tfus_cmd#"$here"/}" ;; esac
fi
echo "tfus is installed in $where."
echo "Run the demo:  $tfus_cmd demo"
if [ -z "$active" ] || [ -n "${TFUS_PYTHON:-}" ]; then
  echo "For later sessions, activate it:  source ${tfus_cmd%/bin/tfus}/bin/activate   (then plain 'tfus ...')"
fi
