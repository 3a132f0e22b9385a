#!/usr/bin/env bash
# Downloads the Debian cloud kernels the VM tests boot, without touching the machine's apt
# sources: each suite gets its own apt state under the cache. Idempotent.
#   6.1  bookworm            linux-image-6.1.0-N-cloud-amd64
#   6.12 bookworm-backports  linux-image-6.12.*+deb12-cloud-amd64
#   7.x  sid                 linux-image-7.*-cloud-amd64 (a metapackage over linux-binary-*)
# Result: $PROVGATE_VM_CACHE/kernels/<suite>/{vmlinuz,release,config,overlay.ko,modules/*.ko}
# (overlayfs is a module in these kernels; the VM tests load it for container-like mounts, and
# the modules under modules/ as they need them: loop devices, FUSE where it is a module, and a
# module to load and refuse).
set -euo pipefail

cache=${PROVGATE_VM_CACHE:-/var/cache/provgate-vm}
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { echo "fetch-kernels: $*" >&2; }

apt_for() { # suite -> prints apt options using a private state dir
  local suite=$1 dir="$cache/apt-$suite"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "deb [signed-by=$keyring] $mirror $suite main" > "$dir/sources.list"
  echo "-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir/cache -o Dir::State::Status=/var/lib/dpkg/status -o APT::Sandbox::User=root"
}

extract_module() { # root name dest: a module of the package, decompressed
  local module
  module=$( (find "$1" -name "$2.ko*" -type f 2>/dev/null || true) | head -n 1)
  [ -n "$module" ] || return 1
  case "$module" in
    *.ko.xz) xz -dc "$module" > "$3.tmp" ;;
    *.ko.zst) zstd -qdc "$module" > "$3.tmp" ;;
    *.ko.gz) gzip -dc "$module" > "$3.tmp" ;;
    *) cp "$module" "$3.tmp" ;;
  esac
  mv "$3.tmp" "$3"
}

fetch() { # suite regex
  local suite=$1 pattern=$2 out="$cache/kernels/$1"
  if [ -s "$out/vmlinuz" ] && [ -s "$out/release" ] && [ -s "$out/overlay.ko" ] && [ -s "$out/modules/dummy.ko" ] \
      && [ -s "$out/config" ]; then
    log "$suite: have $(cat "$out/release")"
    return
  fi
  local opts; opts=$(apt_for "$suite")
  # shellcheck disable=SC2086
  apt-get $opts -qq update
  local pkg
  # shellcheck disable=SC2086
  pkg=$(apt-cache $opts search --names-only "$pattern" | awk '{print $1}' | grep -v -e '-dbg$' -e 'unsigned' | sort -V | tail -n 1)
  [ -n "$pkg" ] || { log "$suite: no package matches $pattern"; exit 1; }
  log "$suite: $pkg"
  local work; work=$(mktemp -d)
  # The cloud image may be a metapackage whose kernel lives in linux-binary-*, modules in
  # linux-modules-* and the configuration in linux-base-*; take those too.
  local deps
  # shellcheck disable=SC2086
  deps=$(apt-cache $opts depends "$pkg" | awk '/Depends: linux-(binary|modules|base)-/ {print $2}')
  ( cd "$work" && for p in $pkg $deps; do
      # shellcheck disable=SC2086
      apt-get $opts -qq download "$p"
    done )
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
  local vmlinuz
  vmlinuz=$( (find "$work/root/boot" "$work/root/usr/lib/modules" -name 'vmlinuz*' -type f 2>/dev/null || true) | head -n 1)
  [ -n "$vmlinuz" ] || { log "$suite: no vmlinuz inside $pkg"; exit 1; }
  mkdir -p "$out"
  cp "$vmlinuz" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
  # boot/vmlinuz-RELEASE, or usr/lib/modules/RELEASE/vmlinuz in the newer layout
  local release; release=$(basename "$vmlinuz" | sed 's/^vmlinuz-//')
  [ "$release" != vmlinuz ] || release=$(basename "$(dirname "$vmlinuz")")
  echo "$release" > "$out/release"
  (find "$work/root/boot" "$work/root/usr/lib/modules" \( -name 'config-*' -o -name config \) -type f 2>/dev/null || true) \
    | head -n 1 | xargs -r -I{} cp {} "$out/config"
  local module
  extract_module "$work/root" overlay "$out/overlay.ko" || { log "$suite: no overlay module in $pkg $deps"; exit 1; }
  mkdir -p "$out/modules"
  extract_module "$work/root" loop "$out/modules/loop.ko" || log "$suite: loop is built in"
  extract_module "$work/root" fuse "$out/modules/fuse.ko" || log "$suite: fuse is built in"
  extract_module "$work/root" dummy "$out/modules/dummy.ko" || { log "$suite: no dummy module"; exit 1; }
  rm -rf "$work"
  log "$suite: $(cat "$out/release") -> $out/vmlinuz"
}

fetch bookworm '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$'
fetch bookworm-backports '^linux-image-6\.12\.[0-9.+~a-z-]*-cloud-amd64$'
fetch sid '^linux-image-[7-9]\.[0-9.+~a-z-]*-cloud-amd64$'
