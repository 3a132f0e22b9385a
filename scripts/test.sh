#!/usr/bin/env bash
# Runs every check and every test: formatting, clippy with warnings as errors, then the unit and
# integration tests of all crates, the host tests and the VM tests of kernel enforcement on three
# kernel generations. --locked everywhere: the tests run what Cargo.lock says, nothing newer.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked "$@"
