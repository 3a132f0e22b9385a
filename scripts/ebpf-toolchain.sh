#!/usr/bin/env bash
# Installs what builds the eBPF programs, as pinned in ebpf/toolchain: bpf-linker, and the nightly
# under the rustup name $NAME, with rust-src: installed by its dated name when rustup can
# download it, else the machine's `nightly` when that is the very same build (checked by its
# version line). Anything else is an error naming both.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../ebpf/toolchain
. ebpf/toolchain

version() { rustc "+$1" -V 2>/dev/null || true; }

# Without these variables bpf-linker's build finds LLVM 14's llvm-config and fails to link.
if ! bpf-linker --version 2>/dev/null | grep -q "$BPF_LINKER"; then
  echo "ebpf-toolchain: building bpf-linker $BPF_LINKER"
  PATH=/usr/lib/llvm-22/bin:$PATH LLVM_SYS_221_PREFIX=/usr/lib/llvm-22 LLVM_PREFIX=/usr/lib/llvm-22 \
    cargo install bpf-linker --version "$BPF_LINKER" --locked --no-default-features --features llvm-22
fi

if [ "$(version "$NAME")" = "$RUSTC" ]; then
  exit 0
fi
rustup toolchain remove "$NAME" >/dev/null 2>&1 || true
if [ "$(version nightly)" = "$RUSTC" ]; then
  source_toolchain=nightly
elif rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src >/dev/null 2>&1 \
  && [ "$(version "$NIGHTLY")" = "$RUSTC" ]; then
  source_toolchain=$NIGHTLY
else
  echo "ebpf-toolchain: the eBPF programs build with $NIGHTLY ($RUSTC), pinned in ebpf/toolchain;" >&2
  echo "ebpf-toolchain: rustup could not install it and the machine's nightly is '$(version nightly)'" >&2
  exit 1
fi
rustup component add rust-src --toolchain "$source_toolchain" >/dev/null
rustup toolchain link "$NAME" "$(rustc "+$source_toolchain" --print sysroot)"
echo "ebpf-toolchain: $NAME is $RUSTC (from $source_toolchain)"
