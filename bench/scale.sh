#!/usr/bin/env bash
# How the exec path and the daemon's memory grow with the work (not a test): for each size N
# (default 10,000, 100,000 and 1,000,000), N files on a tmpfs this script mounts, all allowed by
# one SBOM naming their digests, so the store allows N digests and the daemon caches N files
# and holds N verdicts. Then, on this host's observe-only program (kernel.bpf_stats_enabled),
# the kernel's cost per exec of an allowed file in a test cgroup, and the daemon's resident
# memory, per entry and as ratios to the smallest size, all in one run.
#   bench/scale.sh
#   SIZES="10000 100000" EXECS=1000 bench/scale.sh
# Needs root (BPF, a test cgroup, a tmpfs mount); only observes, in the test cgroup.
. "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-"10000 100000 1000000"}
EXECS=${EXECS:-2000}
work=$(mktemp -d)
cgroot=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
cg="$cgroot/provgate-scale-$$"
mkdir "$cg"
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
daemon=
stop_daemon() {
  if [ -n "$daemon" ]; then kill "$daemon" 2> /dev/null; wait "$daemon" 2> /dev/null || true; fi
  daemon=
}
cleanup() {
  stop_daemon
  sysctl -q kernel.bpf_stats_enabled="$old_stats"
  umount "$work/files" 2> /dev/null || true
  rmdir "$cg" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
sysctl -q kernel.bpf_stats_enabled=1
mkdir "$work/files"
mount -t tmpfs -o size=4g,nr_inodes=0 tmpfs "$work/files"

# N files (plus an allowed copy of /bin/true to execute), and a CycloneDX SBOM of all of them.
make_files() {
  python3 - "$1" "$work/files" "$work/sbom.json" << 'PY'
import hashlib, json, os, shutil, sys
n, root, sbom = int(sys.argv[1]), sys.argv[2], sys.argv[3]
components = []
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:04}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    data = b"#!/bin/sh\n# file %d\n" % i
    path = os.path.join(d, f"f{i}")
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)
    components.append({"type": "file", "name": path, "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(data).hexdigest()}]})
tool = os.path.join(root, "tool")
shutil.copy("/bin/true", tool)
with open(tool, "rb") as f:
    components.append({"type": "file", "name": tool, "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(f.read()).hexdigest()}]})
with open(sbom, "w") as f:
    json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}, f)
PY
}

program_stats() {
  "$PG" status --json | jq -r '.program_stats[] | select(.program == "provgate_observe_exec") | "\(.run_time_ns) \(.run_count)"'
}

printf '%-10s %10s %10s %10s %12s %14s %12s %14s\n' \
  "entries" "digests" "cached" "verdicts" "ns per exec" "vs smallest" "daemon MiB" "bytes/entry"
first_ns=
first_rss=
first_n=
for n in $SIZES; do
  stop_daemon
  rm -rf "$work/files"/* "$work"/p.db* "$work/run" "$work/pins"
  export PROVGATE_DB=$work/p.db PROVGATE_RUN_DIR=$work/run
  make_files "$n"
  "$PG" register --sbom "$work/sbom.json" --unsigned > /dev/null 2>&1
  capacity=$(( n * 2 > 262144 ? n * 2 : 262144 ))
  printf 'verdict_capacity = %d\n' "$capacity" > "$work/config.toml"
  PROVGATE_CONFIG=$work/config.toml "$PG" run --mode audit --observe-only --cgroup "$cg" \
    --pin-dir "$work/pins" --root "$work/files" --metrics-address "" 2> "$work/daemon.log" &
  daemon=$!
  "$PG" status --wait 1200 > /dev/null || { tail "$work/daemon.log"; exit 1; }
  # Ready once every file is cached and has its verdict.
  until [ "$("$PG" status --json | jq .daemon.cached_files)" -ge "$n" ]; do sleep 1; done
  read -r digests cached verdicts < <("$PG" status --json | jq -r '"\(.allowed_digests) \(.daemon.cached_files) \(.verdicts)"')
  sleep 1.2; read -r t0 c0 < <(program_stats)
  sh -c "echo \$\$ > $cg/cgroup.procs; for _ in \$(seq $EXECS); do $work/files/tool; done"
  sleep 1.2; read -r t1 c1 < <(program_stats)
  ns=$(( (t1 - t0) / ((c1 - c0) > 0 ? (c1 - c0) : 1) ))
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon/status")
  first_ns=${first_ns:-$ns}; first_rss=${first_rss:-$rss}; first_n=${first_n:-$n}
  awk -v n="$n" -v d="$digests" -v c="$cached" -v v="$verdicts" -v ns="$ns" -v fns="$first_ns" \
      -v rss="$rss" -v frss="$first_rss" -v fn="$first_n" 'BEGIN {
    per = (n > fn) ? (rss - frss) * 1024 / (n - fn) : 0
    printf "%-10d %10d %10d %10s %12d %13.2fx %12.1f %14s\n", n, d, c, v, ns, ns / fns, rss / 1024,
      (n > fn) ? sprintf("%.0f", per) : "-" }'
done
echo "bytes/entry: the daemon's extra resident memory over the smallest size, per extra entry"
echo "command: SIZES=\"$SIZES\" EXECS=$EXECS bench/scale.sh"
