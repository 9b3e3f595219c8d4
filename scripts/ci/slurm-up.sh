#!/usr/bin/env bash
# slurm-up.sh: a real, minimal single-node Slurm cluster on 127.0.0.1 for the CI tests of
# msdx's Slurm executor. Idempotent: running it again while the cluster is up only checks it.
#
# Usage: sudo scripts/ci/slurm-up.sh          (re-executes itself with sudo when not root)
#        export SLURM_CONF=/tmp/msdx-slurm/etc/slurm.conf   (the last line it prints)
# Stop:  sudo scripts/ci/slurm-down.sh
#
# Environment:
#   MSDX_SLURM_DIR      directory the cluster lives in, entirely owned by these scripts
#                       (default /tmp/msdx-slurm; slurm-down.sh deletes it). It and every
#                       directory above it must be owned by root and not group/other writable
#                       (sticky /tmp is fine) or munged refuses the socket/key locations;
#                       that is why the default is not $RUNNER_TEMP (owned by the runner user).
#   MSDX_SLURM_TIMEOUT  seconds to wait for the node to become idle (default 60)
#   MSDX_SLURM_MIN_JOB_AGE  MinJobAge: seconds a finished job stays visible to squeue/scontrol
#                       (default 300, Slurm's default; slurmctld purges every ~60s on top)
#   MSDX_SLURM_PROBE    0: skip the probe job (see below) run after a fresh start (default 1)
#   MSDX_SLURM_NODE     NodeName (default localhost; slurmd is started with -N so the machine's
#                       hostname does not matter; NodeAddr is always 127.0.0.1)
#
# What it does: installs Debian's slurm-wlm and munge when missing (apt-get, noninteractive);
# writes $DIR/etc/slurm.conf (one node with nproc CPUs and ~95% of the memory `slurmd -C`
# reports, partition "debug", select/cons_tres with CR_CPU_Memory so 1-CPU array tasks run
# side by side, proctrack/linuxproc + task/none so no cgroups are needed, no accounting);
# starts a private munged (own key, socket, pid and log under $DIR/munge, so it neither needs
# nor disturbs a system munged), then slurmctld and slurmd directly (no systemd), each with
# -f $DIR/etc/slurm.conf and a pid file under $DIR/run; waits until `sinfo` shows the node idle.
# On a timeout it prints the daemons' logs and exits 1.
#
# Gotchas (Slurm 22.05 on Debian 12): accounting is off, so `sacct` does not work (use squeue
# while a job is known to slurmctld, MinJobAge below); jobs finished more than MinJobAge
# seconds ago vanish from squeue and scontrol.
set -euo pipefail

if [[ $EUID -ne 0 ]]; then
	exec sudo -E -- "$0" "$@"
fi

DIR=${MSDX_SLURM_DIR:-/tmp/msdx-slurm}
TIMEOUT=${MSDX_SLURM_TIMEOUT:-60}
NODE=${MSDX_SLURM_NODE:-localhost}
CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket
export SLURM_CONF=$CONF

log() { printf 'slurm-up: %s\n' "$*" >&2; }

# alive PIDFILE NAME: the pid in PIDFILE is a running process called NAME (not a reused pid).
alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	# comm guards against a reused pid; a zombie (state Z, not yet reaped) counts as gone.
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] &&
		[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

dump_logs() {
	local f
	for f in "$DIR"/log/*.log "$DIR"/munge/munged.log; do
		[[ -e $f ]] || continue
		printf '\n===== %s (last 60 lines) =====\n' "$f" >&2
		tail -n 60 "$f" >&2
	done
	if command -v sinfo >/dev/null; then
		printf '\n===== sinfo -R / scontrol show node =====\n' >&2
		sinfo -R >&2 || true
		scontrol show node >&2 || true
	fi
}

fail() {
	log "ERROR: $*"
	dump_logs
	exit 1
}

# --- packages ------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
	! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
	log "installing slurm-wlm and munge"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || log "apt-get update failed; trying the install anyway"
	apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

mkdir -p "$DIR"/{etc,run,log,state,spool,munge}
chmod 0755 "$DIR" "$DIR"/{etc,run,log,state,spool}
chmod 0755 "$DIR/munge"     # the socket must be reachable by non-root clients

# --- munge ---------------------------------------------------------------------------------
if [[ ! -s $DIR/munge/munge.key ]]; then
	log "creating a munge key"
	dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
fi
chown root:root "$DIR/munge/munge.key"
chmod 0400 "$DIR/munge/munge.key"

if alive "$DIR/munge/munged.pid" munged; then
	log "munged already running (pid $(cat "$DIR/munge/munged.pid"))"
else
	rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock" "$DIR/munge/munged.pid"
	log "starting munged"
	# --force: munged checks every directory above its key, socket, log, pid and seed files
	# and refuses to start if one is owned by another user (e.g. $RUNNER_TEMP, owned by the
	# runner) or group/other writable without the sticky bit; --force makes those warnings.
	# Not needed for the default /tmp/msdx-slurm, harmless there.
	munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
		--pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
		--seed-file="$DIR/munge/munged.seed" ||
		fail "munged did not start"
	for _ in $(seq 50); do [[ -S $MUNGE_SOCKET ]] && break; sleep 0.1; done
fi
munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET" >/dev/null ||
	fail "munge round trip through $MUNGE_SOCKET failed"

# --- slurm.conf ----------------------------------------------------------------------------
write_conf() {
	local cpus mem real
	cpus=$(nproc)
	real=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
	[[ -n $real ]] || fail "could not read RealMemory from 'slurmd -C'"
	mem=$((real * 95 / 100))
	cat >"$CONF.tmp" <<EOF
# Written by msdx scripts/ci/slurm-up.sh; a throwaway single-node cluster for CI.
ClusterName=msdx-ci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET

StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# No cgroups (containers): track processes through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true

# No accounting: sacct does not work on this cluster.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none

# Fast scheduling for tests.
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$((mem / cpus))
ReturnToService=2
MinJobAge=${MSDX_SLURM_MIN_JOB_AGE:-300}
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10

# CPUs only (no Sockets/Cores/Threads), so CR_CPU allocates single hyper-threads too.
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
	mv "$CONF.tmp" "$CONF"
	chmod 0644 "$CONF"
}

ctld_up=0 slurmd_up=0
alive "$DIR/run/slurmctld.pid" slurmctld && ctld_up=1
alive "$DIR/run/slurmd.pid" slurmd && slurmd_up=1
# Another Slurm (e.g. a distribution service started by the package's postinst) on our ports?
for port in 6817:$ctld_up 6818:$slurmd_up; do
	if [[ ${port#*:} == 0 ]] && (exec 3<>"/dev/tcp/127.0.0.1/${port%:*}") 2>/dev/null; then
		fail "port ${port%:*} on 127.0.0.1 is in use by another process (a system slurmctld/slurmd? stop it: systemctl stop slurmctld slurmd)"
	fi
done
if [[ $ctld_up == 0 && $slurmd_up == 0 ]]; then
	write_conf
	# Fresh state every time: a crashed earlier run must not leave jobs or a DOWN node behind.
	rm -rf "${DIR:?}"/state/* "${DIR:?}"/spool/*
elif [[ ! -s $CONF ]]; then
	fail "a slurm daemon from $DIR is running but $CONF is missing; run slurm-down.sh first"
fi

# --- daemons -------------------------------------------------------------------------------
if [[ $ctld_up == 1 ]]; then
	log "slurmctld already running (pid $(cat "$DIR/run/slurmctld.pid"))"
else
	log "starting slurmctld"
	# -i: ignore state files that do not match (there are none after the wipe above).
	slurmctld -f "$CONF" -i || fail "slurmctld did not start"
fi
if [[ $slurmd_up == 1 ]]; then
	log "slurmd already running (pid $(cat "$DIR/run/slurmd.pid"))"
else
	log "starting slurmd"
	slurmd -f "$CONF" -N "$NODE" || fail "slurmd did not start"
fi

# --- wait for the node ---------------------------------------------------------------------
start=$SECONDS
state=
while :; do
	state=$(sinfo -h -n "$NODE" -o '%t' 2>/dev/null || true)
	case $state in
	idle | mix | alloc) break ;;
	down* | drain* | inval*)
		# ReturnToService=2 should avoid this; resume once, then keep waiting.
		scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
	esac
	alive "$DIR/run/slurmctld.pid" slurmctld || fail "slurmctld exited"
	alive "$DIR/run/slurmd.pid" slurmd || fail "slurmd exited"
	((SECONDS - start < TIMEOUT)) || fail "node $NODE not idle after ${TIMEOUT}s (state: '${state:-none}')"
	sleep 0.5
done
log "node $NODE is $state after $((SECONDS - start))s"

# --- probe job -----------------------------------------------------------------------------
# slurmctld's first scheduling pass comes ~3s after it starts; a job submitted before then
# waits for it. Running one job end to end here both proves that slurmd can launch jobs and
# leaves the cluster in its steady state (later jobs start ~0.1-0.3s after sbatch).
if [[ ${MSDX_SLURM_PROBE:-1} == 1 && $ctld_up == 0 ]]; then
	probe=$(sbatch --parsable --job-name=msdx-ci-probe --output=/dev/null --time=1 \
		--cpus-per-task=1 --mem=10M --wrap=true) || fail "sbatch of the probe job failed"
	pstate=
	while :; do
		pstate=$(squeue -h -t all -j "$probe" -o '%T' 2>/dev/null || true)
		case $pstate in
		COMPLETED) break ;;
		FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
			fail "probe job $probe ended $pstate" ;;
		esac
		((SECONDS - start < TIMEOUT)) || fail "probe job $probe not done after ${TIMEOUT}s (state: '${pstate:-none}')"
		sleep 0.2
	done
	log "probe job $probe completed; cluster ready after $((SECONDS - start))s"
fi
sinfo >&2
echo "export SLURM_CONF=$CONF"
