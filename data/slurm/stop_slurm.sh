#!/usr/bin/env bash
# Stop the single-node SLURM started by start_slurm.sh: cancel every job first (stopping slurmd does not kill running
# jobs), wait for them to leave the queue, then stop slurmd and slurmctld by their pid files. munged keeps running
# (other programs may use it) unless --with-munge is given.
#   bash data/slurm/stop_slurm.sh [--with-munge]
set -euo pipefail

DIR="${TFUS_SLURM_DIR:-/var/tmp/tfus-slurm}"
export SLURM_CONF="${SLURM_CONF:-$DIR/slurm.conf}"
log() { echo "[tfus-slurm] $*" >&2; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop_pid() {
  alive "$1" || return 0
  local pid; pid="$(cat "$1")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

if alive "$DIR/slurmctld.pid" && [ -f "$SLURM_CONF" ]; then
  jobs="$(squeue -h -o %i 2>/dev/null || true)"
  if [ -n "$jobs" ]; then
    log "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
    echo "$jobs" | xargs -r scancel || true
    for _ in $(seq 60); do [ -z "$(squeue -h -o %i 2>/dev/null || true)" ] && break; sleep 0.5; done
  fi
fi
stop_pid "$DIR/slurmd.pid"
stop_pid "$DIR/slurmctld.pid"
if [ "${1:-}" = "--with-munge" ] && [ -s /run/munge/munged.pid ]; then
  stop_pid /run/munge/munged.pid
fi
log "SLURM stopped"
