# Sourced by the benchmarks: strict mode, the repository as working directory, cargo on PATH,
# and a release build of provgate in $PG.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p provgate
PG=$PWD/target/release/provgate
