#!/usr/bin/env bash
# Downloads Debian 12's fapolicyd, the peer bench/vm-exec.sh measures provgate against inside the
# VM, and unpacks it (never installs it: enforcing on this host would gate every open). The
# bookworm apt state of scripts/fetch-kernels.sh is used, so the machine's apt sources are not
# touched. Also unpacked: the libraries fapolicyd needs that the host lacks (liblmdb0); the rest
# (libmagic, libcap-ng, libseccomp, libssl, libudev) are the host's, as for every program the
# VM gets. Idempotent.
# Result: $PROVGATE_VM_CACHE/fapolicyd/root/{usr/sbin/fapolicyd,usr/lib/x86_64-linux-gnu/liblmdb.so.0,...}
set -euo pipefail

cache=${PROVGATE_VM_CACHE:-/var/cache/provgate-vm}
out="$cache/fapolicyd"
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
packages=(fapolicyd liblmdb0)

log() { echo "fetch-fapolicyd: $*" >&2; }

# Complete when the daemon finds every library it needs there or on the host.
complete() {
  [ -x "$out/root/usr/sbin/fapolicyd" ] && [ -s "$out/version" ] \
    && ! LD_LIBRARY_PATH="$out/root/usr/lib/x86_64-linux-gnu" ldd "$out/root/usr/sbin/fapolicyd" | grep -q 'not found'
}

if complete; then
  log "have $(cat "$out/version")"
  exit 0
fi
dir="$cache/apt-bookworm"
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
echo "deb [signed-by=$keyring] $mirror bookworm main" > "$dir/sources.list"
opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent -o "Dir::State::Lists=$dir/lists"
  -o "Dir::Cache=$dir/cache" -o Dir::State::Status=/var/lib/dpkg/status -o APT::Sandbox::User=root)
apt-get "${opts[@]}" -qq update
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && apt-get "${opts[@]}" -qq download "${packages[@]}" )
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
mv "$work/root" "$out.tmp/root"
dpkg-deb -f "$work"/fapolicyd_*.deb Version > "$out.tmp/version"
rm -rf "$out" && mv "$out.tmp" "$out"
if ! complete; then
  log "fapolicyd at $out/root cannot find its libraries:"
  LD_LIBRARY_PATH="$out/root/usr/lib/x86_64-linux-gnu" ldd "$out/root/usr/sbin/fapolicyd" >&2
  exit 1
fi
log "fapolicyd $(cat "$out/version") -> $out/root"
