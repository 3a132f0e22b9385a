#!/usr/bin/env bash
# Kernel-measured cost per invocation of the observe-only program (tp_btf/sched_process_exec)
# on this host, for execs outside the scope (early return) and inside it (lookup, event), beside
# a program that returns at once on the same tracepoint (bench/observe-floor.py): the
# measurement's own floor in the same windows, so what provgate adds is the difference.
# Uses kernel.bpf_stats_enabled; only observes, in a test cgroup this script creates.
# The three conditions take turns for ROUNDS rounds of EXECS execs each; medians are printed,
# since a busy machine preempts programs mid-run and inflates single windows.
#   bench/observe-cost.sh [EXECS] [ROUNDS]
. "$(dirname "$0")/lib.sh"
N=${1:-1000}
ROUNDS=${2:-5}
. bench/observe-lib.sh
cp /bin/true "$work/unknown"            # a copy: same content, unknown identity
"$PG" allow /bin/true > /dev/null 2>&1
"$PG" run --mode audit --observe-only --cgroup "$cg" --pin-dir "$work/pins" 2> "$work/daemon.log" &
daemon=$!
"$PG" status --wait 30 > /dev/null
start_floor

loop() { for _ in $(seq "$N"); do "$1"; done; }
inscope() { sh -c "echo \$\$ > $cg/cgroup.procs; for _ in \$(seq $N); do $1; done"; }
for _ in $(seq "$ROUNDS"); do
  measure out loop /bin/true
  measure trusted inscope /bin/true
  measure unknown inscope "$work/unknown"
done
report() { # condition, label
  local ns floor_ns runs
  ns=$(awk -v c="$1" '$1 == c {print $2}' "$work/runs" | median)
  floor_ns=$(awk -v c="$1" '$1 == c {print $3}' "$work/runs" | median)
  runs=$(awk -v c="$1" '$1 == c {s += $4} END {print s}' "$work/runs")
  echo "$2: $runs runs, median $ns ns/run; floor $floor_ns ns/run; provgate's work $((ns - floor_ns)) ns/run"
}
echo "bench/observe-cost.sh $N $ROUNDS (medians of $ROUNDS rounds)"
report out "outside the scope (early return)    "
report trusted "in scope, trusted (lookup, no event)"
report unknown "in scope, unknown (lookup + event)  "
echo "events recorded: $("$PG" status --json | jq .events_recorded), dropped: $("$PG" status --json | jq .counters.events_dropped)"
