#!/usr/bin/env bash
# fork+exec of a trusted dynamically linked binary inside the VM: without the programs, with
# them attached and the process in the enforced cgroup, with them attached but the process
# outside every scope, and host-wide. TCG makes absolute times meaningless; the ratios against
# the baseline measured in the same boot are the result.
#   bench/vm-exec.sh [KERNEL_SUITE]      (default bookworm; BENCH_N is fixed in tests/vm/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p provgate -p provgate-vm
target/release/provgate-vm --provgate target/release/provgate --kernel "${1:-bookworm}" bench
