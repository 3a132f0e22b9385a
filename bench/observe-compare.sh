#!/usr/bin/env bash
# The observe program of the working tree against the one of REV, side by side: per invocation
# (kernel.bpf_stats_enabled) in scope for a trusted file and outside the scope, with the floor
# of bench/observe-floor.py in the same windows. The two builds' daemons take turns in one test
# cgroup, one at a time, for ROUNDS rounds, so the machine's slow drifts hit both alike; each
# round pairs them. Run-to-run noise of bench/observe-cost.sh (±40 ns) hides differences this
# shows. REV is built in a worktree with its own target directory (target/compare).
#   bench/observe-compare.sh REV [ROUNDS] [EXECS]
. "$(dirname "$0")/lib.sh"
REV=${1:?usage: bench/observe-compare.sh REV [ROUNDS] [EXECS]}
ROUNDS=${2:-11}
N=${3:-1000}
. bench/observe-lib.sh
on_exit='git worktree remove --force "$work/rev" 2>/dev/null || true'

cp "$PG" "$work/current"
git worktree add -q --detach "$work/rev" "$REV"
(cd "$work/rev" && CARGO_TARGET_DIR="$OLDPWD/target/compare" cargo build --release -q -p provgate)
cp target/compare/release/provgate "$work/base"

"$work/current" allow /bin/true > /dev/null 2>&1
start_floor

outside() { for _ in $(seq "$N"); do /bin/true; done; }
inside() { sh -c "echo \$\$ > $cg/cgroup.procs; for _ in \$(seq $1); do /bin/true; done"; }
for round in $(seq "$ROUNDS"); do
  for build in base current; do
    "$work/$build" run --mode audit --observe-only --cgroup "$cg" --pin-dir "$work/pins-$round-$build" \
      2>> "$work/daemon.log" &
    daemon=$!
    "$work/$build" status --wait 30 > /dev/null
    inside 50 # the daemon learns the file's verdict
    sleep 1
    measure "$build trusted" inside "$N"
    measure "$build out" outside
    kill "$daemon" && wait "$daemon" 2>/dev/null || true
    daemon=
  done
done

field() { awk -v b="$1" -v c="$2" -v f="$3" '$1 == b && $2 == c {print $f}' "$work/runs" | median; }
work_of() { awk -v b="$1" -v c="$2" '$1 == b && $2 == c {print $3 - $4}' "$work/runs" | median; }
echo "bench/observe-compare.sh $REV $ROUNDS $N: $(git rev-parse --short "$REV") against the working tree" \
  "($(git describe --always --dirty)), medians of $ROUNDS paired rounds of $N execs"
for condition in trusted out; do
  label=$([ "$condition" = trusted ] && echo "in scope, trusted file" || echo "outside the scope    ")
  b=$(field base "$condition" 3) c=$(field current "$condition" 3)
  echo "$label: $REV $b ns, working tree $c ns ($(awk -v b="$b" -v c="$c" 'BEGIN {printf "%.2f", c / b}')×);" \
    "floor $(field base "$condition" 4) / $(field current "$condition" 4) ns;" \
    "provgate's work $(work_of base "$condition") → $(work_of current "$condition") ns"
done
