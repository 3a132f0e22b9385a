# provgate daemon image.
#   docker build -t provgate .
#   docker run --rm --privileged --pid=host --cgroupns=host \
#     -v /sys/fs/bpf:/sys/fs/bpf -v /sys/kernel/security:/sys/kernel/security \
#     -v /var/lib/provgate:/var/lib/provgate -v /run/provgate:/run/provgate \
#     -v /:/host:ro provgate run --mode audit --root /host/usr/bin
# --pid=host: the kernel programs exempt the daemon by its host pid.
# --cgroupns=host: --cgroup paths and levels are those of the host hierarchy.

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      llvm-22-dev libpolly-22-dev libzstd-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
# The eBPF crate needs the nightly and the bpf-linker pinned in ebpf/toolchain.
COPY ebpf/toolchain ebpf/toolchain
COPY scripts/ebpf-toolchain.sh scripts/ebpf-toolchain.sh
RUN scripts/ebpf-toolchain.sh
COPY . .
RUN cargo build --release --locked -p provgate

FROM debian:bookworm-slim
COPY --from=build /src/target/release/provgate /usr/local/bin/provgate
VOLUME ["/var/lib/provgate"]
ENTRYPOINT ["/usr/local/bin/provgate"]
CMD ["run", "--mode", "audit"]
