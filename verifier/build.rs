// Compiles ebpf/programs for bpfel-unknown-none with a nightly toolchain and bpf-linker; the
// object lands in OUT_DIR and is embedded in the provgate binary.
// PROVGATE_EBPF_TOOLCHAIN names the rustup toolchain (default "nightly"); the Dockerfile pins
// one whose LLVM matches bpf-linker's.
fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=PROVGATE_EBPF_TOOLCHAIN");
    let toolchain = std::env::var("PROVGATE_EBPF_TOOLCHAIN").ok();
    let package = aya_build::Package {
        name: "provgate-ebpf",
        root_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/programs"),
        ..Default::default()
    };
    let toolchain = match toolchain.as_deref() {
        Some(name) => aya_build::Toolchain::Custom(name),
        None => aya_build::Toolchain::Nightly,
    };
    aya_build::build_ebpf([package], toolchain)
}
