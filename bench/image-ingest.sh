#!/usr/bin/env bash
# Layer ingest by `provgate image add` against `skopeo copy` of the same image to a local
# directory, in the same run, from a registry on loopback. The image is built from this
# machine's /usr (files in sorted order, so the same machine gives the same image), gzip layers
# of about 100 MB uncompressed each, at least MIN_MB megabytes compressed, and signed with a
# private Sigstore. provgate verifies the signature, streams every layer (digest, gzip, tar),
# and hashes the candidate files; skopeo downloads the blobs, checks their digests and writes
# them to disk. They take turns, ROUNDS rounds each, so load from other work on the machine
# falls on both alike. Peak memory is GNU time's maximum resident set size.
#
#   bench/image-ingest.sh [MIN_MB] [ROUNDS]      (default 200 MB, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
min_mb=${1:-200}
rounds=${2:-3}
for tool in docker-registry skopeo /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

cargo build --quiet --release -p provgate --bin provgate
cargo build --quiet --release -p provgate-oci-testkit --example bench_image
work=$(mktemp -d /tmp/provgate-image-bench.XXXXXX)
registry_pid=
cleanup() { [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A registry of our own on a loopback port: never the package's configuration, which listens
# on all interfaces.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $work/storage }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$port }
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

echo "bench: building an image of at least $min_mb MB compressed from /usr" >&2
read -r digest layer_count compressed < <(target/release/examples/bench_image "$work/layout" "$work" "127.0.0.1:$port" bench "$min_mb")
skopeo copy --quiet --dest-tls-verify=false "oci:$work/layout:v1" "docker://127.0.0.1:$port/bench:v1"
reference="127.0.0.1:$port/bench:v1"

# "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:03.41" and "Maximum resident set size (kbytes): 12345"
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
provgate_walls=() skopeo_walls=() provgate_rss=() skopeo_rss=() rates=() files=()
for round in $(seq "$rounds"); do
  rm -rf "$work/db" "$work/copy"
  /usr/bin/time -v -o "$work/time.provgate" target/release/provgate --db "$work/db/provgate.db" --run-dir "$work/run" \
    image add "$reference" --policy "$work/policy.toml" --trusted-root "$work/trusted_root.json" >"$work/out.provgate" 2>"$work/err.provgate" \
    || { cat "$work/err.provgate" >&2; exit 1; }
  /usr/bin/time -v -o "$work/time.skopeo" skopeo copy --quiet --src-tls-verify=false "docker://$reference" "dir:$work/copy"
  provgate_walls+=("$(wall "$work/time.provgate")") skopeo_walls+=("$(wall "$work/time.skopeo")")
  provgate_rss+=("$(rss_mb "$work/time.provgate")") skopeo_rss+=("$(rss_mb "$work/time.skopeo")")
  # provgate's own account of the layers: "... in 1.23 s: 160.2 MB/s compressed, 8000 files/s"
  rates+=("$(grep -o '[0-9.]* MB/s compressed' "$work/out.provgate" | cut -d' ' -f1)")
  files+=("$(grep -o '[0-9]* files/s' "$work/out.provgate" | cut -d' ' -f1)")
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }
mb=$(awk -v b="$compressed" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "image: $reference ($digest), $layer_count gzip layers, $mb MB compressed"
grep '^layers:' "$work/out.provgate"
p=$(mean "${provgate_walls[@]}") s=$(mean "${skopeo_walls[@]}")
echo "provgate image add: $p s wall (rounds: ${provgate_walls[*]}), $(awk -v m="$mb" -v t="$p" 'BEGIN { printf "%.1f", m / t }') MB/s compressed end to end, layers alone $(mean "${rates[@]}") MB/s and $(mean "${files[@]}") files/s, peak RSS $(max "${provgate_rss[@]}") MB"
echo "skopeo copy to dir: $s s wall (rounds: ${skopeo_walls[*]}), $(awk -v m="$mb" -v t="$s" 'BEGIN { printf "%.1f", m / t }') MB/s compressed, peak RSS $(max "${skopeo_rss[@]}") MB"
awk -v p="$p" -v s="$s" 'BEGIN { printf "ratio provgate/skopeo wall time: %.2f (throughput %.2f of skopeo'"'"'s)\n", p / s, s / p }'
