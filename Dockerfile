# provgate daemon image, built from this repository.
#
#   docker build -t provgate .
#
# Both stages start from $BASE, a plain Debian 12 (bookworm) image; Rust comes from rustup, the
# eBPF toolchain from scripts/ebpf-toolchain.sh. On a machine without Docker Hub, make the base
# image locally (README, "Container image"):
#
#   debootstrap --variant=minbase bookworm /tmp/bookworm http://deb.debian.org/debian
#   (behind a TLS-inspecting proxy, copy its CA certificates into
#   /tmp/bookworm/usr/local/share/ca-certificates first)
#   tar -C /tmp/bookworm -c . | docker import - local/bookworm
#   docker build --build-arg BASE=local/bookworm -t provgate .
#
# Run it with the capabilities the daemon uses, not --privileged:
#
#   docker run -d --name provgate --pid=host --cgroupns=host \
#     --cap-drop=ALL --cap-add=SYS_ADMIN --cap-add=SYS_PTRACE --cap-add=DAC_READ_SEARCH \
#     --security-opt apparmor=unconfined \
#     -v /sys/fs/bpf:/sys/fs/bpf -v /sys/kernel/security:/sys/kernel/security:ro \
#     -v /var/lib/provgate:/var/lib/provgate -v /run/provgate:/run/provgate \
#     -v /:/host:ro,rslave provgate run --mode audit --host-root /host
#
# --pid=host         the kernel programs exempt the daemon by its host pid; events name host pids.
# --cgroupns=host    --cgroup paths and levels are those of the host hierarchy.
# SYS_ADMIN          the bpf() calls: loading the LSM programs needs CAP_BPF and CAP_PERFMON,
#                    and the kernel accepts CAP_SYS_ADMIN for both (Docker 20.10 refuses the two
#                    names); fanotify (the observe-only fallback); the programs' run-time stats
#                    (BPF_PROG_GET_NEXT_ID).
# SYS_PTRACE         /proc/<pid>/exe, maps, root and cmdline of processes of other users or with
#                    more capabilities than the daemon.
# DAC_READ_SEARCH    hash any file (denied files the kernel did not hash), whatever its mode.
# Not SYS_RESOURCE:  kernels with BPF LSM and bpf_ima_file_hash (5.18+) charge BPF memory to the
#                    memory cgroup, not RLIMIT_MEMLOCK.
# apparmor=unconfined  the default AppArmor profile denies /sys/kernel/security, where the
#                    daemon reads the active LSMs. The default seccomp profile admits bpf,
#                    perf_event_open and fanotify to holders of the capabilities above.
# -v /:/host:ro      with --host-root /host: a denied file of a process that already exited is
#                    hashed there (while the process lives, through /proc/<pid>/root); rslave
#                    shows mounts made later, and needs / to be a shared mount (drop it if not).
# The store (/var/lib/provgate) and the API socket (/run/provgate) stay on the host, so host-side
# `provgate` commands reach the daemon.

ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
# A failing command anywhere in a pipe fails the step (dash, Debian's /bin/sh, has no pipefail).
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The stable Rust of the workspace (rust-version in Cargo.toml).
ARG RUST=1.95.0
# llvm-22-dev (for bpf-linker) is in bookworm-security; a debootstrap root lists only bookworm.
RUN printf '%s\n' \
      'deb http://deb.debian.org/debian bookworm main' \
      'deb http://deb.debian.org/debian bookworm-updates main' \
      'deb http://deb.debian.org/debian-security bookworm-security main' \
      > /etc/apt/sources.list.d/provgate-build.list \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl gcc libc6-dev pkg-config \
      llvm-22-dev libpolly-22-dev libzstd-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
# rustup-init itself from static.rust-lang.org (sh.rustup.rs is only a redirect to it, and is not
# resolvable everywhere static.rust-lang.org is), pinned by version and SHA-256.
RUN case "$(uname -m)" in \
      x86_64) sum=20a06e644b0d9bd2fbdbfd52d42540bdde820ea7df86e92e533c073da0cdd43c ;; \
      aarch64) sum=e3853c5a252fca15252d07cb23a1bdd9377a8c6f3efa01531109281ae47f841c ;; \
      *) echo "no rustup-init checksum for $(uname -m)" >&2; exit 1 ;; \
    esac \
 && curl --proto '=https' --tlsv1.2 -sSf -o /tmp/rustup-init \
      "https://static.rust-lang.org/rustup/archive/1.28.2/$(uname -m)-unknown-linux-gnu/rustup-init" \
 && echo "$sum  /tmp/rustup-init" | sha256sum -c - \
 && chmod 755 /tmp/rustup-init \
 && /tmp/rustup-init -y --no-modify-path --profile minimal --default-toolchain "$RUST" \
 && rm /tmp/rustup-init
WORKDIR /src
# The eBPF crate needs the nightly and the bpf-linker pinned in ebpf/toolchain.
COPY ebpf/toolchain ebpf/toolchain
COPY scripts/ebpf-toolchain.sh scripts/ebpf-toolchain.sh
RUN scripts/ebpf-toolchain.sh
# protoc: containerd-client's build script generates its gRPC bindings with it.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p provgate

FROM ${BASE}
# CA certificates for registries (image add) and Sigstore; sh for the Kubernetes liveness probe
# comes with the base.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/provgate /usr/local/bin/provgate
VOLUME ["/var/lib/provgate"]
ENTRYPOINT ["/usr/local/bin/provgate"]
CMD ["run", "--mode", "audit"]
