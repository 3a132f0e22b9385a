#!/usr/bin/env bash
# The main job, shown where it can run: this host's kernel refuses BPF LSM programs, so the
# daemon is demonstrated inside a VM booting Debian's stock 6.1 kernel. On a host whose kernel
# allows BPF LSM, run the daemon directly: provgate run --mode enforce (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p provgate -p provgate-vm
exec target/release/provgate-vm --provgate target/release/provgate --kernel "${KERNEL:-bookworm}" demo
