//! Reads an SBOM and prints what it found and how fast, for benchmarks:
//! `cargo run --release -p provgate-sbom --example ingest -- FILE`.
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: ingest FILE");
        std::process::exit(2);
    };
    let mut file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let mut records = 0u64;
    match provgate_sbom::read(&mut file, &provgate_sbom::Limits::default(), &mut |_| records += 1) {
        Ok(summary) => {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{path}: {} {}, {records} records, {} files, {:.2}s, {:.0} records/s, {:.1} MB/s",
                summary.format,
                summary.spec_version.unwrap_or_default(),
                summary.files,
                secs,
                records as f64 / secs,
                bytes as f64 / 1e6 / secs
            );
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
