//! Any input: no panic, no unbounded allocation, and every record holds a real SHA-256.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provgate_sbom::{Format, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_string_bytes: 1 << 16, max_index_bytes: 1 << 20, ..Limits::default() };
    let mut records = 0u64;
    let result = provgate_sbom::read_as(Format::SpdxTagValue, &mut std::io::Cursor::new(data), 0, &limits, &mut |r| {
        assert!(r.sha256.to_hex().len() == 64);
        records += 1;
    });
    if let Ok(summary) = result {
        assert_eq!(summary.sha256_digests, records);
        assert!(summary.problems.len() <= limits.max_problems);
    }
});
