#!/usr/bin/env bash
# SBOM ingest benchmark (not a test): generates file-level SBOMs of N files (default 1,000,000)
# in SPDX 2.3 JSON and CycloneDX 1.6 JSON, reads each with provgate's streaming reader and with
# jq (`jq -c '.files[]'` / `'.components[]'`) in the same run, and prints rate, peak RSS and
# ratios. Also: an SPDX variant where one package CONTAINS every file (so the package index is
# full), `provgate sbom inspect`, and `provgate register` into a fresh store.
#   bench/sbom-ingest.sh            # N=1000000, documents in a temporary directory
#   N=100000 WORK=/tmp/b bench/sbom-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
N=${N:-1000000}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (apt-get install time)"; exit 1; }
command -v jq >/dev/null || { echo "bench: needs jq"; exit 1; }

echo "bench: building (log in $WORK/build.log)"
cargo build --release -p provgate-sbom --examples > "$WORK/build.log" 2>&1
cargo build --release -p provgate >> "$WORK/build.log" 2>&1
BIN=target/release
TIMES="$WORK/times"

# measure NAME CMD...: wall seconds and peak RSS (KiB) of CMD, its output discarded.
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$TIMES" "$@" > "$WORK/$name.out"
  read -r secs rss < "$TIMES"
  echo "$secs $rss"
}

echo "bench: generating $N-file documents in $WORK"
if [ ! -s "$WORK/spdx.json" ] || [ ! -s "$WORK/cdx.json" ] || [ "${REGENERATE:-}" = 1 ]; then
  "$BIN/examples/synthetic_sbom" spdx-json "$N" > "$WORK/spdx.json"
  "$BIN/examples/synthetic_sbom" cyclonedx-json "$N" > "$WORK/cdx.json"
fi
# Same files, all contained by one package: fills the index the SPDX reader keeps.
sed -e '2s/^"files":\[/"packages":[{"SPDXID":"SPDXRef-Package","name":"bench","versionInfo":"1"}],\n"files":[/' \
    -e 's/"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES"/"spdxElementId":"SPDXRef-Package","relationshipType":"CONTAINS"/' \
    "$WORK/spdx.json" > "$WORK/spdx-contains.json"

printf '\n%-38s %10s %9s %12s %9s %12s\n' "run" "MB" "seconds" "records/s" "MB/s" "peak RSS MiB"
row() { # name bytes records secs rss_kib
  awk -v n="$1" -v b="$2" -v r="$3" -v s="$4" -v m="$5" 'BEGIN {
    printf "%-38s %10.1f %9.2f %12.0f %9.1f %12.1f\n", n, b/1e6, s, r/s, b/1e6/s, m/1024 }'
}

for doc in spdx cdx spdx-contains; do
  file="$WORK/$doc.json"
  bytes=$(stat -c %s "$file")
  case $doc in cdx) filter='.components[]' ;; *) filter='.files[]' ;; esac
  read -r ps pr < <(measure "$doc-provgate" "$BIN/examples/ingest" "$file")
  records=$(sed -n 's/.*, \([0-9]*\) records,.*/\1/p' "$WORK/$doc-provgate.out")
  [ "$records" = "$N" ] || { echo "bench: $doc: expected $N records, got $records"; exit 1; }
  row "$doc: provgate reader" "$bytes" "$records" "$ps" "$pr"
  read -r is ir < <(measure "$doc-inspect" "$BIN/provgate" sbom inspect "$file")
  row "$doc: provgate sbom inspect" "$bytes" "$records" "$is" "$ir"
  read -r js jr < <(measure "$doc-jq" jq -c "$filter" "$file")
  jn=$(wc -l < "$WORK/$doc-jq.out")
  row "$doc: jq -c '$filter'" "$bytes" "$jn" "$js" "$jr"
  awk -v n="$doc" -v ps="$ps" -v js="$js" -v pr="$pr" -v jr="$jr" 'BEGIN {
    printf "%-38s time %.1fx faster than jq, peak RSS %.0fx smaller\n", n ": ratio", js/ps, jr/pr }'
done

db="$WORK/bench.db"
rm -f "$db" "$db-wal" "$db-shm"
read -r rs rr < <(measure register "$BIN/provgate" --db "$db" register --sbom "$WORK/cdx.json" --unsigned)
row "cdx: provgate register (SQLite)" "$(stat -c %s "$WORK/cdx.json")" "$N" "$rs" "$rr"
echo
echo "bench: documents kept in $WORK"
