#!/usr/bin/env bash
# Events written per second to the JSON-lines events output (`[events] output = "file"`), as
# the recorder drives it when the ring buffer is full: batches of 2,048 events (what a full
# 1 MiB ring buffer holds), each built into its JSON object, appended to the file with rotation
# at the default 10 MiB (5 kept), flushed per batch. Against a plain BufWriter writing the same bytes (serialized beforehand), in the
# same run. Measures the output alone: the recorder's other work per event (/proc reads, the
# SQLite insert, hashing what the kernel did not) comes before it.
#   bench/event-sink.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export PROVGATE_BENCH_EVENTS=${1:-1000000}
cargo test --release --locked -p provgate --bin provgate -- --ignored --exact \
  events_out::tests::bench_json_lines_sink --nocapture 2>/dev/null | grep -E '^(events|json|plain|ratio)'
