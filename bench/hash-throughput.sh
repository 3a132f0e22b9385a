#!/usr/bin/env bash
# SHA-256 throughput of `provgate hash` against `openssl dgst -sha256` on the same 1 GiB file,
# in the same run (hyperfine, warm page cache). Prints both and the ratio.
#   bench/hash-throughput.sh [SIZE_MIB]
. "$(dirname "$0")/lib.sh"
size=${1:-1024}
work=$(mktemp -d /var/tmp/provgate-hash.XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c "$((size * 1024 * 1024))" /dev/urandom > "$work/blob"
hyperfine --warmup 1 --runs 5 --export-json "$work/h.json" \
  -n provgate "target/release/provgate hash $work/blob" \
  -n openssl "openssl dgst -sha256 $work/blob" > /dev/null
jq -r --argjson mib "$size" '
  .results | map({(.command): .median}) | add as $m
  | "provgate hash: \($mib / $m.provgate | floor) MiB/s (median \($m.provgate * 1000 | floor) ms)",
    "openssl dgst:  \($mib / $m.openssl | floor) MiB/s (median \($m.openssl * 1000 | floor) ms)",
    "ratio provgate/openssl throughput: \($m.openssl / $m.provgate * 100 | round / 100)"' "$work/h.json"
grep -q sha_ni /proc/cpuinfo && echo "(CPU has SHA extensions)" || echo "(CPU without SHA extensions)"
