#!/usr/bin/env bash
# slurm-down.sh: stops the single-node Slurm cluster that scripts/ci/slurm-up.sh started and
# deletes its directory. Safe to run when nothing is up.
#
# Usage: sudo scripts/ci/slurm-down.sh      (re-executes itself with sudo when not root)
# Environment:
#   MSDX_SLURM_DIR   the cluster's directory (default /tmp/msdx-slurm, as for slurm-up.sh)
#   MSDX_SLURM_KEEP  1: keep the directory (logs under $DIR/log and $DIR/munge) after stopping
#
# It cancels every job still known to slurmctld (so no slurmstepd or job process outlives the
# cluster), then stops slurmd, slurmctld and munged through the pid files under the directory
# (SIGTERM, then SIGKILL after 15s), never by process name, so other Slurm or munge daemons on
# the machine are left alone.
set -uo pipefail

if [[ $EUID -ne 0 ]]; then
	exec sudo -E -- "$0" "$@"
fi

DIR=${MSDX_SLURM_DIR:-/tmp/msdx-slurm}
CONF=$DIR/etc/slurm.conf
export SLURM_CONF=$CONF

log() { printf 'slurm-down: %s\n' "$*" >&2; }

pid_of() { # PIDFILE NAME: the pid in PIDFILE if it is a running process called NAME
	local pid
	[[ -s $1 ]] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	# comm guards against a reused pid; a zombie (state Z, not yet reaped) counts as gone.
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] &&
		[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] && echo "$pid"
}

stop() { # PIDFILE NAME
	local pid i
	pid=$(pid_of "$1" "$2") || { log "$2 not running"; return 0; }
	log "stopping $2 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		pid_of "$1" "$2" >/dev/null || return 0
		sleep 0.1
	done
	log "$2 (pid $pid) ignored SIGTERM for 15s; killing it"
	kill -KILL "$pid" 2>/dev/null
	sleep 0.2
}

if [[ ! -d $DIR ]]; then
	log "$DIR does not exist; nothing to stop"
	exit 0
fi

if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null && [[ -s $CONF ]]; then
	jobs=$(squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ')
	if [[ -n ${jobs// /} ]]; then
		log "cancelling jobs: $jobs"
		# shellcheck disable=SC2086
		scancel $jobs 2>/dev/null
		for ((i = 0; i < 150; i++)); do
			[[ -z $(squeue -h -o '%A' 2>/dev/null) ]] && break
			sleep 0.1
		done
	fi
fi

stop "$DIR/run/slurmd.pid" slurmd
stop "$DIR/run/slurmctld.pid" slurmctld
stop "$DIR/munge/munged.pid" munged

if [[ ${MSDX_SLURM_KEEP:-0} == 1 ]]; then
	log "keeping $DIR"
else
	rm -rf "${DIR:?}"
	log "removed $DIR"
fi
