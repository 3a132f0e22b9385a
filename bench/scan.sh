#!/usr/bin/env bash
# Scanning a tree with `provgate baseline`: a cold scan (empty file cache, page cache dropped)
# and a warm rescan with nothing changed (every file from the file cache). Both cores.
#   bench/scan.sh [DIR]        (default /usr)
. "$(dirname "$0")/lib.sh"
dir=${1:-/usr}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PROVGATE_DB=$work/p.db PROVGATE_RUN_DIR=$work/run PROVGATE_CONFIG=$work/none.toml
: > "$work/none.toml"
sync; echo 3 > /proc/sys/vm/drop_caches
rates() { # the baseline summary line -> files/s and MB/s over the whole scan
  sed -E 's/.*: ([0-9]+) files .* ([0-9]+) hashed \(([0-9]+) MB\) and ([0-9]+) from the cache; ([0-9]+) files scanned in ([0-9.]+)s \(([0-9]+) not candidates\).*/\1 \2 \3 \4 \5 \6 \7/' |
    awk '{ printf "  %d files scanned in %.2fs: %.0f files/s; %d candidates trusted (%d hashed, %d from the cache); %d MB hashed: %.0f MB/s\n", $5, $6, $5 / $6, $1, $2, $4, $3, $3 / $6 }'
}
scan() {
  /usr/bin/time -f "  wall %es, user %Us, sys %Ss (cores busy %P), peak RSS %M KiB" \
    target/release/provgate baseline "$dir" > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }
  rates < "$work/out"
  grep -v "^provgate: " "$work/err" || true
}
echo "cold scan of $dir (empty file cache, page cache dropped):"
scan
echo "warm rescan, nothing changed:"
scan
