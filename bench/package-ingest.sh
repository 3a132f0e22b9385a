#!/usr/bin/env bash
# Package contents (not a test): `provgate register --artifact PKG --bundle B` of a package
# archive of about MB megabytes (default 500), against what a user would do by hand, in the same
# run: `tar -xf` to tmpfs, then `sha256sum` of every member. The package is a gzip tarball with
# npm's layout (`package/...`) of this machine's /usr files in sorted order (the same machine
# gives the same archive; having no package.json, it is read as a plain tarball), signed with a
# private Sigstore. provgate verifies the signature, then streams the archive once (SHA-256 of
# the archive, gzip, tar walk, SHA-256 of every file) and stores one record per file; the baseline writes every file to /dev/shm and reads it back. They
# take turns, ROUNDS rounds each, so load from other work on the machine falls on both alike.
#
#   bench/package-ingest.sh [MB] [ROUNDS]      (default 500 MB, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-500}
rounds=${2:-3}
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }
[ -d /dev/shm ] || { echo "bench: needs a tmpfs at /dev/shm" >&2; exit 1; }

cargo build --quiet --release -p provgate --bin provgate
cargo build --quiet --release -p provgate-attestations-testkit --example sign_file
work=$(mktemp -d /tmp/provgate-package-bench.XXXXXX)
shm=$(mktemp -d /dev/shm/provgate-package-bench.XXXXXX)
trap 'rm -rf "$work" "$shm"' EXIT

# Regular files of /usr, sorted, until the gzip tarball reaches about $mb MB: the list is cut
# at about 3.1 times the target in file bytes (what /usr's mix compresses by), then written.
# (awk reads to the end rather than exit, so that sort is not killed by a closed pipe.)
echo "bench: building a package archive of about $mb MB from /usr" >&2
find /usr -xdev -type f -readable -printf '%s %p\n' 2>/dev/null | sort -k2 \
  | awk -v limit=$((mb * 1000000 * 31 / 10)) '{ total += $1; if (total <= limit) print substr($0, index($0, " ") + 1) }' \
  > "$work/files"
tar --create --file=- --no-recursion --transform='s,^usr/,package/,' --files-from="$work/files" 2>/dev/null \
  | gzip -6 > "$work/bench-1.0.0.tgz"
package="$work/bench-1.0.0.tgz"
target/release/examples/sign_file "$package" "$work"
compressed=$(stat -c %s "$package")
uncompressed=$(gzip -dc "$package" | wc -c)

wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
provgate_walls=() baseline_walls=() provgate_rss=()
for round in $(seq "$rounds"); do
  rm -rf "$work/db" "$shm/x" && mkdir -p "$shm/x"
  /usr/bin/time -v -o "$work/time.provgate" target/release/provgate --db "$work/db/provgate.db" --run-dir "$work/run" \
    register --artifact "$package" --bundle "$package.sigstore.json" \
    --policy "$work/policy.toml" --trusted-root "$work/trusted_root.json" >"$work/out.provgate" 2>"$work/err.provgate" \
    || { cat "$work/err.provgate" >&2; exit 1; }
  /usr/bin/time -v -o "$work/time.baseline" bash -c \
    'tar -xzf "$1" -C "$2" && find "$2" -type f -print0 | xargs -0 sha256sum > "$3"' _ "$package" "$shm/x" "$work/sums"
  provgate_walls+=("$(wall "$work/time.provgate")") baseline_walls+=("$(wall "$work/time.baseline")")
  provgate_rss+=("$(rss_mb "$work/time.provgate")")
done
files=$(wc -l < "$work/sums")
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }
cmb=$(awk -v b="$compressed" 'BEGIN { printf "%.1f", b / 1e6 }')
umb=$(awk -v b="$uncompressed" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "package: $package, $cmb MB gzip, $umb MB uncompressed, $files files"
head -2 "$work/out.provgate" | cut -c1-200
p=$(mean "${provgate_walls[@]}") b=$(mean "${baseline_walls[@]}")
echo "provgate register: $p s wall (rounds: ${provgate_walls[*]}), $(awk -v m="$cmb" -v t="$p" 'BEGIN { printf "%.1f", m / t }') MB/s compressed, $(awk -v m="$umb" -v t="$p" 'BEGIN { printf "%.1f", m / t }') MB/s uncompressed, peak RSS $(max "${provgate_rss[@]}") MB"
echo "tar -xzf to tmpfs + sha256sum of every file: $b s wall (rounds: ${baseline_walls[*]}), $(awk -v m="$cmb" -v t="$b" 'BEGIN { printf "%.1f", m / t }') MB/s compressed"
awk -v p="$p" -v b="$b" 'BEGIN { printf "ratio provgate/baseline wall time: %.2f (throughput %.2f of the baseline'"'"'s)\n", p / b, b / p }'
echo "command: bench/package-ingest.sh $mb $rounds"
