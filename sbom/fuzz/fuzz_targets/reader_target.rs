// Included by each reader's target: any input, no panic, no unbounded allocation, and the
// summary agrees with the records handed out.
macro_rules! reader_target {
    ($format:ident) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            let limits = provgate_sbom::Limits { max_string_bytes: 1 << 16, max_index_bytes: 1 << 20, ..Default::default() };
            let mut records = 0u64;
            let result = provgate_sbom::read_as(
                provgate_sbom::Format::$format,
                &mut std::io::Cursor::new(data),
                0,
                &limits,
                &mut |r| {
                    assert_eq!(r.sha256.to_hex().len(), 64);
                    records += 1;
                },
            );
            if let Ok(summary) = result {
                assert_eq!(summary.sha256_digests, records);
                assert!(summary.problems.len() <= limits.max_problems);
            }
        });
    };
}
