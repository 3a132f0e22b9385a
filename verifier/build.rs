// Compiles ebpf/programs for bpfel-unknown-none with the nightly pinned in ebpf/toolchain and
// bpf-linker; the object lands in OUT_DIR and is embedded in the provgate binary.
use anyhow::{Context as _, bail};

const TOOLCHAIN_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/toolchain");

/// A `KEY=value` (or `KEY="value"`) line of ebpf/toolchain.
fn setting(text: &str, key: &str) -> anyhow::Result<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').to_owned())
        .with_context(|| format!("{TOOLCHAIN_FILE}: no {key}= line"))
}

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-changed={TOOLCHAIN_FILE}");
    let pin = std::fs::read_to_string(TOOLCHAIN_FILE).with_context(|| TOOLCHAIN_FILE.to_owned())?;
    let (name, rustc) = (setting(&pin, "NAME")?, setting(&pin, "RUSTC")?);
    let found = std::process::Command::new("rustc")
        .arg(format!("+{name}"))
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if found != rustc {
        bail!(
            "the eBPF programs build with {rustc} (ebpf/toolchain), as rustup toolchain {name}, which is {}; \
             run scripts/ebpf-toolchain.sh",
            if found.is_empty() { "missing".to_owned() } else { format!("{found:?}") }
        );
    }
    let package = aya_build::Package {
        name: "provgate-ebpf",
        root_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/programs"),
        ..Default::default()
    };
    aya_build::build_ebpf([package], aya_build::Toolchain::Custom(&name))
}
