#!/usr/bin/env bash
# Time from `provgate approve` to the kernel map update: the command returns once the running
# daemon has applied the approval (it prints the daemon's own apply time). Host daemon in
# observe-only mode, watching a tmpfs this script mounts; nothing is denied.
#   bench/approval-latency.sh [APPROVALS]
. "$(dirname "$0")/lib.sh"
n=${1:-30}
work=$(mktemp -d)
mkdir "$work/files"
mount -t tmpfs tmpfs "$work/files"
export PROVGATE_DB=$work/p.db PROVGATE_RUN_DIR=$work/run PROVGATE_CONFIG=$work/none.toml
: > "$work/none.toml"
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  umount "$work/files"; rm -rf "$work"
}
trap cleanup EXIT
for i in $(seq "$n"); do cp /bin/true "$work/files/tool$i"; echo "$i" >> "$work/files/tool$i"; done
"$PG" run --mode audit --observe-only --root "$work/files" --pin-dir "$work/pins" \
  --no-watch-overlays --metrics-address "" 2> "$work/daemon.log" &
daemon=$!
"$PG" status --wait 30 > /dev/null
for i in $(seq "$n"); do
  digest=$("$PG" hash "$work/files/tool$i" | cut -d' ' -f1)
  start=$(date +%s%N)
  applied=$("$PG" approve "$digest" --reason bench 2>&1 | sed -n 's/.*removed, \([0-9]*\) µs.*/\1/p')
  end=$(date +%s%N)
  "$PG" explain "$work/files/tool$i" > "$work/explain" || true; grep -q "kernel map: current" "$work/explain" || { echo "tool$i not in the map:"; cat "$work/explain" "$work/daemon.log" | tail -20; exit 1; }
  echo "$(( (end - start) / 1000 )) $applied"
done > "$work/times"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "approvals: $n"
echo "approve command, start to kernel map updated: median $(cut -d' ' -f1 "$work/times" | median) µs, max $(cut -d' ' -f1 "$work/times" | sort -n | tail -1) µs"
echo "daemon's own apply time (store read + map update): median $(cut -d' ' -f2 "$work/times" | median) µs"
