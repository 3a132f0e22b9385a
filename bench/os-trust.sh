#!/usr/bin/env bash
# `provgate os trust` over this machine's installed packages (not a test): every installed
# package that apt's verified lists name is fetched (`apt-get download`, into a directory of the
# run's own, each .deb removed once read), checked against its signed index and read; then a
# second run with nothing changed (it must read no index entry's .deb again), then `--check` (the
# share of candidate files under /usr and the /bin-like roots that a package source vouches
# for). Prints packages, files, seconds, peak memory (GNU time) of each, and the commands.
#
#   bench/os-trust.sh [PACKAGE...]      (default: every installed package)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }

cargo build --quiet --release --locked -p provgate --bin provgate
PG=$PWD/target/release/provgate
work=$(mktemp -d /tmp/provgate-os-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

args=(--db "$work/provgate.db" --run-dir "$work/run" os trust --cache-dir "$work/debs")
if [ $# -gt 0 ]; then args+=(--package "$@"); fi

wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }

run() { # NAME ARGS...: runs provgate under GNU time; its exit status is reported, not fatal
  local name=$1; shift
  echo "bench: $PG $*" >&2
  set +e
  /usr/bin/time -v -o "$work/$name.time" "$PG" "$@" > "$work/$name.out" 2> "$work/$name.err"
  echo $? > "$work/$name.rc"
  set -e
  grep -E '^provgate: refused' "$work/$name.err" | sed "s/^/bench: $name: /" >&2 || true
}

run first "${args[@]}"
run second "${args[@]}"
run check --db "$work/provgate.db" --run-dir "$work/run" os trust --check

echo "command:        $PG ${args[*]}"
echo "machine:        $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME"), $(dpkg-query -W | wc -l) packages installed"
echo "first run:      $(head -1 "$work/first.out")"
echo "                $(wall "$work/first.time") s wall, peak RSS $(rss_mb "$work/first.time") MB, exit $(cat "$work/first.rc")"
echo "second run:     $(head -1 "$work/second.out")"
echo "                $(wall "$work/second.time") s wall, peak RSS $(rss_mb "$work/second.time") MB, exit $(cat "$work/second.rc")"
echo "coverage:       $(head -1 "$work/check.out")"
echo "                $(wall "$work/check.time") s wall, peak RSS $(rss_mb "$work/check.time") MB"
echo "store:          $(du -m "$work/provgate.db" | cut -f1) MB"
sed -n '2,40p' "$work/first.out" | sed 's/^/first run:      /'
