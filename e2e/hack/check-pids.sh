#!/usr/bin/env bash
# Verifies that no process the e2e suite started is still running. The suite
# appends "<pid> <name>" to the PID file for every process it starts; this
# runs after the suite, also after a failure or an interrupt. A survivor is
# reported, stopped by its PID (its process group), and the check fails.
set -uo pipefail
pidfile=${1:?usage: check-pids.sh PIDFILE}
[[ -f "$pidfile" ]] || { echo "e2e: no processes were started (no $pidfile)"; exit 0; }
alive() { # the process or a member of its process group runs (zombies do not count)
	local f rest
	for f in /proc/[0-9]*/stat; do
		rest=$(cat "$f" 2>/dev/null) || continue
		rest=${rest##*) } # after the command name: state ppid pgrp ...
		read -r state _ pgrp _ <<<"$rest"
		[[ "$state" != Z ]] || continue
		[[ "$f" == "/proc/$1/stat" || "$pgrp" == "$1" ]] && return 0
	done
	return 1
}
n=0; left=()
while read -r pid name; do
	[[ -z "${pid:-}" ]] && continue
	n=$((n+1))
	if alive "$pid"; then left+=("$pid $name"); fi
done <"$pidfile"
if ((${#left[@]} == 0)); then
	echo "e2e: all $n started processes are gone"
	exit 0
fi
echo "e2e: processes still running after the suite: ${left[*]}" >&2
for entry in "${left[@]}"; do
	pid=${entry%% *}
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
done
sleep 5
for entry in "${left[@]}"; do
	pid=${entry%% *}
	alive "$pid" && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; }
done
exit 1
