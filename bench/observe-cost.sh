#!/usr/bin/env bash
# Kernel-measured cost per invocation of the observe-only program (tp_btf/sched_process_exec)
# on this host, for execs outside the scope (early return) and inside it (lookup, event).
# Uses kernel.bpf_stats_enabled; only observes, in a test cgroup this script creates.
#   bench/observe-cost.sh [EXECS]
. "$(dirname "$0")/lib.sh"
N=${1:-2000}
work=$(mktemp -d)
cgroot=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
cg="$cgroot/provgate-bench-$$"
mkdir "$cg"
export PROVGATE_DB=$work/p.db PROVGATE_RUN_DIR=$work/run
cp /bin/true "$work/unknown"            # a copy: same content, unknown identity
"$PG" allow /bin/true > /dev/null 2>&1
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  sysctl -q kernel.bpf_stats_enabled="$old_stats"
  rmdir "$cg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
sysctl -q kernel.bpf_stats_enabled=1
"$PG" run --mode audit --observe-only --cgroup "$cg" --pin-dir "$work/pins" 2> "$work/daemon.log" &
daemon=$!
"$PG" status --wait 30 > /dev/null

stats() { "$PG" status --json | jq -r '.program_stats[] | select(.program=="provgate_observe_exec") | "\(.run_time_ns) \(.run_count)"'; }
measure() { # label, command...
  local label=$1; shift
  sleep 1.2; read -r t0 c0 < <(stats)
  "$@"
  sleep 1.2; read -r t1 c1 < <(stats)
  local runs=$((c1 - c0))
  echo "$label: $runs runs, $(( (t1 - t0) / (runs > 0 ? runs : 1) )) ns/run"
}
loop() { for _ in $(seq "$N"); do "$1"; done; }
inscope() { sh -c "echo \$\$ > $cg/cgroup.procs; for _ in \$(seq $N); do $1; done"; }
measure "outside the scope (early return)      " loop /bin/true
measure "in scope, trusted (lookup, no event)  " inscope /bin/true
measure "in scope, unknown (lookup + event)    " inscope "$work/unknown"
echo "events recorded: $("$PG" status --json | jq .events_recorded), dropped: $("$PG" status --json | jq .counters.events_dropped)"
