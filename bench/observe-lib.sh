# Sourced by the observe benchmarks (after lib.sh): a scratch directory, a test cgroup,
# kernel.bpf_stats_enabled for the run, the floor program (bench/observe-floor.py) beside
# provgate's, run time per invocation from the kernel's statistics (measure), medians; and the
# cleanup of all of it, including the daemon in $daemon and anything a script adds to $on_exit.
work=$(mktemp -d)
cgroot=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
cg="$cgroot/provgate-bench-$$"
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
on_exit=:
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  [ -n "${floor:-}" ] && kill "$floor" 2>/dev/null && wait "$floor" 2>/dev/null
  sysctl -q kernel.bpf_stats_enabled="$old_stats"
  rmdir "$cg" 2>/dev/null || true
  eval "$on_exit"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$cg"
export PROVGATE_DB=$work/p.db PROVGATE_RUN_DIR=$work/run
sysctl -q kernel.bpf_stats_enabled=1

start_floor() {
  python3 bench/observe-floor.py > "$work/floor.out" &
  floor=$!
  until grep -q pg_floor "$work/floor.out" 2>/dev/null; do
    kill -0 "$floor" 2> /dev/null || { echo "observe-floor.py failed" >&2; exit 1; }
    sleep 0.1
  done
}
# Run time and count of the observe program, then of the floor program.
stats() {
  local name
  for name in provgate_observe_exec pg_floor; do
    bpftool prog show name "$name" -j | jq -r '(if type == "array" then .[0] else . end) | "\(.run_time_ns // 0) \(.run_cnt // 0)"'
  done
}
per_run() { echo $(( ($3 - $1) / ($4 - $2 > 0 ? $4 - $2 : 1) )); }
# Runs a command and appends to $work/runs: LABEL (one or more words), then the observe
# program's run time per invocation over the command, the floor program's, and the invocations.
measure() { # label, command...
  local label=$1 t0 c0 f0 n0 t1 c1 f1 n1; shift
  sleep 0.6; { read -r t0 c0; read -r f0 n0; } < <(stats)
  "$@"
  sleep 0.6; { read -r t1 c1; read -r f1 n1; } < <(stats)
  echo "$label $(per_run "$t0" "$c0" "$t1" "$c1") $(per_run "$f0" "$n0" "$f1" "$n1") $((c1 - c0))" >> "$work/runs"
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
