#!/usr/bin/env bash
# Sync of a trust feed of ITEMS items (each a signed artifact digest) from Debian's
# docker-registry on loopback: the first sync, which fetches and verifies every item, then a
# sync with nothing changed, which must cost one manifest request. Requests are counted from the
# registry's access log.
#
#   bench/feed-sync.sh [ITEMS]      (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-1000}
command -v docker-registry >/dev/null || { echo "bench: docker-registry missing (scripts/setup.sh installs it)" >&2; exit 1; }
cargo build --quiet --release -p provgate --bin provgate
cargo build --quiet --release -p provgate-oci --example bench_feed
work=$(mktemp -d /tmp/provgate-feed-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "bench: target/release/examples/bench_feed target/release/provgate $items $work" >&2
target/release/examples/bench_feed "$PWD/target/release/provgate" "$items" "$work"
