#!/usr/bin/env bash
# Runs every test: unit and integration tests of all crates, the host test of the observe-only
# fallback, and the VM tests of kernel enforcement on three kernel generations.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --workspace --all-targets "$@"
