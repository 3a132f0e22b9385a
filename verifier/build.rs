// Compiles ebpf/programs for bpfel-unknown-none with the nightly toolchain and bpf-linker; the
// object lands in OUT_DIR and is embedded in the provgate binary.
fn main() -> anyhow::Result<()> {
    let package = aya_build::Package {
        name: "provgate-ebpf",
        root_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/programs"),
        ..Default::default()
    };
    aya_build::build_ebpf([package], aya_build::Toolchain::default())
}
