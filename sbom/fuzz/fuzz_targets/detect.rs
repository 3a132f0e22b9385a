//! Format detection followed by the detected reader, as `provgate sbom inspect` runs them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provgate_sbom::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_string_bytes: 1 << 16, max_index_bytes: 1 << 20, ..Limits::default() };
    let mut records = 0u64;
    if let Ok(summary) = provgate_sbom::read(&mut std::io::Cursor::new(data), &limits, &mut |_| records += 1) {
        assert_eq!(summary.sha256_digests, records);
    }
});
