#!/usr/bin/env bash
# Start a real single-node SLURM on this machine (Debian/Ubuntu, as root): munge, slurmctld and slurmd, one node
# `localhost` with this machine's CPUs, one default partition `debug`. Idempotent: run it again and it only checks.
#   bash data/slurm/start_slurm.sh        # install if missing, configure, start, wait until the node is idle
#   bash data/slurm/stop_slurm.sh         # cancel every job, then stop the daemons
# Environment: TFUS_SLURM_DIR (state, spool, logs, config; default /var/tmp/tfus-slurm), TFUS_SLURM_OVERSUBSCRIBE
# (partition OverSubscribe, default FORCE:4 so tiny test jobs never queue behind each other on a 2-core machine;
# NO for one job per core), TFUS_SLURM_SKIP_APT=1 (never call apt-get).
# The config goes to $TFUS_SLURM_DIR/slurm.conf and, unless a foreign one is there, to /etc/slurm/slurm.conf (the
# path sbatch/squeue/scancel read with no environment); the last line printed is the SLURM_CONF export that works
# in every case. See README.md here.
set -euo pipefail

DIR="${TFUS_SLURM_DIR:-/var/tmp/tfus-slurm}"
CONF="$DIR/slurm.conf"
ETC_CONF=/etc/slurm/slurm.conf
MARKER="# written by tfus data/slurm/start_slurm.sh"
log() { echo "[tfus-slurm] $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = "0" ] || die "run as root (the daemons and the munge key need it)"

# --- packages -------------------------------------------------------------------------------------------------------
missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "${TFUS_SLURM_SKIP_APT:-0}" != "1" ] || die "missing ${missing[*]} and TFUS_SLURM_SKIP_APT=1"
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  log "installing slurm-wlm slurmctld slurmd slurm-client munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  packages=(slurm-wlm slurmctld slurmd slurm-client munge)
  # Fresh package lists (as in .ci/run) need no update; else update once and retry.
  apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq "${packages[@]}" >/dev/null; }
fi

# --- munge ----------------------------------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  install -d -o munge -g munge -m 0700 /etc/munge
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged (user munge)"
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munged does not answer; see /var/log/munge/munged.log"
fi

# --- config ---------------------------------------------------------------------------------------------------------
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
cpus="$(nproc)"
mem_mb="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
real_mb=$(( mem_mb - (mem_mb / 10 > 1024 ? mem_mb / 10 : 1024) ))   # keep 10% (at least 1 GiB) for the OS
[ "$real_mb" -ge 512 ] || real_mb=512
gres_line=""; node_gres=""
if command -v nvidia-smi >/dev/null 2>&1 && ngpu="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')" && [ "$ngpu" -gt 0 ]; then
  gres_line="GresTypes=gpu"; node_gres=" Gres=gpu:$ngpu"
  printf 'NodeName=localhost Name=gpu File=/dev/nvidia[0-%d]\n' "$((ngpu - 1))" > "$DIR/gres.conf"
fi
oversubscribe="${TFUS_SLURM_OVERSUBSCRIBE:-FORCE:4}"

new_conf="$(cat <<EOF
$MARKER (state under $DIR)
ClusterName=tfus
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=60
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
$gres_line
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb$node_gres State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=$oversubscribe
EOF
)"

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
changed=0
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$new_conf" ]; then
  changed=1
  printf '%s\n' "$new_conf" > "$CONF.tmp" && mv -f "$CONF.tmp" "$CONF"
fi
export SLURM_CONF="$CONF"
if [ ! -e "$ETC_CONF" ] || grep -qF "$MARKER" "$ETC_CONF"; then
  mkdir -p "$(dirname "$ETC_CONF")"
  cp "$CONF" "$ETC_CONF.tfus.tmp" && mv -f "$ETC_CONF.tfus.tmp" "$ETC_CONF"
  [ -z "$gres_line" ] || cp "$DIR/gres.conf" /etc/slurm/gres.conf
else
  log "$ETC_CONF is not ours: left alone; export SLURM_CONF=$CONF to reach this SLURM"
fi

# --- daemons --------------------------------------------------------------------------------------------------------
if [ "$changed" = "1" ]; then
  if alive "$DIR/slurmctld.pid" || alive "$DIR/slurmd.pid"; then
    log "config changed: restarting the daemons (running jobs are cancelled first)"
    TFUS_SLURM_DIR="$DIR" bash "$(dirname "$0")/stop_slurm.sh"
  fi
fi
if ! alive "$DIR/slurmctld.pid"; then
  log "starting slurmctld"
  slurmctld -f "$CONF" || die "slurmctld did not start; see $DIR/log/slurmctld.log"
fi
if ! alive "$DIR/slurmd.pid"; then
  log "starting slurmd (node localhost)"
  slurmd -f "$CONF" -N localhost || die "slurmd did not start; see $DIR/log/slurmd.log"
fi

# --- wait until the node takes jobs ----------------------------------------------------------------------------------
state=""
for i in $(seq 120); do
  state="$(sinfo -h -n localhost -o %T 2>/dev/null | head -n1 || true)"
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    down*|drain*|fail*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
  esac
  [ "$i" -lt 120 ] || die "node localhost is '${state:-unknown}' after 60 s; see $DIR/log/"
  sleep 0.5
done
log "SLURM is up: node localhost is $state ($cpus CPUs, ${real_mb} MB, partition debug, logs in $DIR/log)"
echo "export SLURM_CONF=$CONF"
