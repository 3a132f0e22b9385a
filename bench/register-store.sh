#!/usr/bin/env bash
# Registration at store speed (not a test): `provgate register` of an N-file CycloneDX SBOM
# (default 1,000,000) into a fresh store, against the sqlite3 shell `.import`ing the same
# (digest, path) rows into a table of the same shape, constraints and indexes, in the same run.
# Prints seconds, peak RSS and the ratio.
#   bench/register-store.sh            # N=1000000
#   N=100000 WORK=/tmp/b bench/register-store.sh
#
# The baseline stores digests as 32-byte blobs through `unhex()` where the shell has it (SQLite
# 3.41+); older shells (Debian 12 has 3.40) store the 64-character hex text instead, which makes
# the baseline's rows and index entries larger, so it is slightly slower than a blob import.
. "$(dirname "$0")/lib.sh"
for tool in sqlite3 jq /usr/bin/time; do
  command -v "$tool" > /dev/null || { echo "bench: needs $tool"; exit 1; }
done
N=${N:-1000000}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
cargo build --release -q -p provgate-sbom --examples
BIN=target/release

if [ ! -s "$WORK/cdx-$N.json" ]; then
  "$BIN/examples/synthetic_sbom" cyclonedx-json "$N" > "$WORK/cdx-$N.json"
fi
# The rows the SBOM holds, as the shell imports them.
jq -r '.components[] | [(.hashes[] | select(.alg == "SHA-256") | .content), .name] | @csv' \
  "$WORK/cdx-$N.json" > "$WORK/rows.csv"
[ "$(wc -l < "$WORK/rows.csv")" = "$N" ] || { echo "bench: expected $N rows"; exit 1; }

# measure CMD...: wall seconds and peak RSS (KiB), output discarded.
measure() {
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > /dev/null
  cat "$WORK/time"
}

# The store's own table, indexes and pragmas (verifier/src/store/schema.rs, store/mod.rs).
if [ "$(sqlite3 :memory: "SELECT hex(unhex('ab'))" 2>/dev/null)" = "AB" ]; then
  digest_type=BLOB; digest_len=32; digest_expr="unhex(sha256)"
else
  digest_type=TEXT; digest_len=64; digest_expr="lower(sha256)"
fi
rm -f "$WORK"/base.db* "$WORK"/provgate.db*
sqlite3 "$WORK/base.db" > /dev/null <<SQL
PRAGMA journal_mode = WAL;
CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO sources VALUES (1, 'bench');
CREATE TABLE source_digests (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    sha256    $digest_type NOT NULL CHECK (length(sha256) = $digest_len),
    path      TEXT NOT NULL DEFAULT '',
    package   TEXT,
    UNIQUE (source_id, sha256, path)
);
CREATE INDEX source_digests_by_digest ON source_digests(sha256);
SQL
cat > "$WORK/import.sql" <<SQL
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TEMP TABLE staging (sha256 TEXT, path TEXT);
.mode csv
.import $WORK/rows.csv staging
BEGIN;
INSERT OR IGNORE INTO source_digests (source_id, sha256, path) SELECT 1, $digest_expr, path FROM staging;
COMMIT;
SQL

read -r ss sr < <(measure sqlite3 "$WORK/base.db" -init "$WORK/import.sql" ".quit")
# The same with the page cache provgate gives itself for a registration.
sqlite3 "$WORK/base.db" "DELETE FROM source_digests; VACUUM;" > /dev/null
read -r cs cr < <(measure sqlite3 "$WORK/base.db" -init <(echo "PRAGMA cache_size = -65536;"; cat "$WORK/import.sql") ".quit")
read -r ps pr < <(measure "$PG" --db "$WORK/provgate.db" register --sbom "$WORK/cdx-$N.json" --unsigned)
stored=$(sqlite3 "$WORK/provgate.db" "SELECT count(*) FROM source_digests")
[ "$stored" = "$N" ] || { echo "bench: provgate stored $stored rows, expected $N"; exit 1; }

printf '\n%-52s %9s %13s\n' "run ($N rows)" "seconds" "peak RSS MiB"

row() { awk -v n="$1" -v s="$2" -v m="$3" 'BEGIN { printf "%-52s %9.2f %13.1f\n", n, s, m / 1024 }'; }
row "sqlite3 .import + INSERT (digests as $digest_type)" "$ss" "$sr"
row "sqlite3 the same, with a 64 MiB page cache" "$cs" "$cr"
row "provgate register --sbom (reads, checks, stores)" "$ps" "$pr"
awk -v p="$ps" -v s="$ss" -v c="$cs" 'BEGIN {
  if (s == 0 || c == 0) { print "ratio: too few rows to time"; exit }
  printf "ratio: provgate register takes %.2fx the sqlite3 shell'"'"'s time (%.2fx with the same cache)\n", p / s, p / c }'
echo "command: N=$N bench/register-store.sh"
