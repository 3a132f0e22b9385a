#!/usr/bin/env bash
# Installs everything provgate needs on a fresh Debian 12 machine, idempotently: apt packages,
# the nightly rust-src component and bpf-linker (for the eBPF programs), and the Debian kernels
# the VM tests boot (without touching the machine's apt sources).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build: eBPF (bpf-linker links against LLVM 22, matching rustc's LLVM), C test programs
  gcc libc6-dev binutils pkg-config llvm-22-dev libpolly-22-dev libzstd-dev zlib1g-dev
  # VM tests: emulator, the initramfs shell, module decompression; a FUSE library for the test
  # filesystem server and a real container runtime (runc) to run inside the VM
  qemu-system-x86 busybox-static xz-utils zstd libfuse3-dev runc
  # benchmarks and tools
  bpftool jq hyperfine openssl time
  # image tests and benchmark: a loopback OCI registry, htpasswd for its Basic auth, skopeo to
  # push and to compare against
  docker-registry skopeo apache2-utils
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's docker-registry package enables a registry on all interfaces (port 5000) where
# systemd runs; the image tests start their own on loopback, so that service stays off.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled docker-registry >/dev/null 2>&1; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# aya-build compiles the eBPF crate with `cargo +nightly -Z build-std=core`.
rustup component add rust-src --toolchain nightly >/dev/null

# bpf-linker 0.13.0 against Debian's LLVM 22; without these variables it finds LLVM 14's
# llvm-config and fails to link.
BPF_LINKER_VERSION=0.13.0
if ! bpf-linker --version 2>/dev/null | grep -q "$BPF_LINKER_VERSION"; then
  echo "setup: building bpf-linker $BPF_LINKER_VERSION"
  PATH=/usr/lib/llvm-22/bin:$PATH LLVM_SYS_221_PREFIX=/usr/lib/llvm-22 LLVM_PREFIX=/usr/lib/llvm-22 \
    cargo install bpf-linker --version "$BPF_LINKER_VERSION" --locked --no-default-features --features llvm-22
fi

scripts/fetch-kernels.sh
echo "setup: done"
