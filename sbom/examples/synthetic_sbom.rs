//! Writes a synthetic file-level SBOM of COUNT files to standard output, for benchmarks:
//! `cargo run --release -p provgate-sbom --example synthetic_sbom -- spdx-json 1000000`.
//! Digests are distinct but not of real files.
use std::io::{BufWriter, Write as _};

use provgate_sbom::{
    Sha256,
    generate::{DocumentInfo, OutputFormat, SbomWriter},
};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (format, count) = match (args.get(1).map(String::as_str), args.get(2).and_then(|n| n.parse::<u64>().ok())) {
        (Some("spdx-json"), Some(n)) => (OutputFormat::SpdxJson, n),
        (Some("cyclonedx-json"), Some(n)) => (OutputFormat::CyclonedxJson, n),
        _ => {
            eprintln!("usage: synthetic_sbom spdx-json|cyclonedx-json COUNT");
            std::process::exit(2);
        }
    };
    let info = DocumentInfo {
        name: format!("synthetic-{count}"),
        uuid: "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9".into(),
        created: "2026-01-01T00:00:00Z".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    let mut writer = SbomWriter::start(BufWriter::with_capacity(1 << 20, std::io::stdout().lock()), format, &info)?;
    for i in 0..count {
        let mut digest = [0u8; 32];
        for (k, chunk) in digest.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k as u64).to_le_bytes());
        }
        let sha1: [u8; 20] = digest[..20].try_into().expect("20 bytes");
        let path = format!("./usr/lib/pkg{:04}/lib{i}.so.1", i / 1000);
        writer.add_file(&path, &Sha256(digest), (format == OutputFormat::SpdxJson).then_some(&sha1))?;
    }
    writer.finish()?.flush()
}
