#!/usr/bin/env bash
# fork+exec of a trusted dynamically linked binary inside the VM: without the programs, with
# them attached and the process in the enforced cgroup, with them attached but the process
# outside every scope, and under Debian's fapolicyd enforcing with a trust file of the same files
# (integrity = sha256); then the same without, with provgate and with fapolicyd for a program
# mapping 50 shared libraries. TCG makes absolute times meaningless; the ratios against the
# baseline measured in the same boot are the result, and each tool's added cost over it.
#   bench/vm-exec.sh [KERNEL_SUITE]      (default bookworm; the counts are fixed in tests/vm/bench.sh)
# Needs scripts/setup.sh (the kernels, and fapolicyd unpacked under /var/cache/provgate-vm).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p provgate -p provgate-vm
target/release/provgate-vm --provgate target/release/provgate --kernel "${1:-bookworm}" bench
