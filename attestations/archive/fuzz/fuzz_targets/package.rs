//! A package archive, whatever its bytes: the first byte picks the format (npm/sdist/plain
//! tarball in any compression, wheel/zip, deb, rpm), the rest is the file. Must never panic,
//! nor exceed the bounds, and every file it reports is a normalised path inside the package.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provgate_archive::{Limits, PackageFormat, read_package};

const FORMATS: [(PackageFormat, &str); 4] = [
    (PackageFormat::Tar, "p.tgz"),
    (PackageFormat::Wheel, "p-1-py3-none-any.whl"),
    (PackageFormat::Deb, "p_1_all.deb"),
    (PackageFormat::Rpm, "p-1-1.noarch.rpm"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let (format, name) = FORMATS[selector as usize % FORMATS.len()];
    // The reader takes a file (a zip is read from its end): one in a private directory.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write the input");
    // Small bounds, so that a bomb is stopped within a few megabytes.
    let limits = Limits { max_total_bytes: 16 << 20, ratio_allowance: 4 << 20, max_entries: 10_000, ..Limits::default() };
    let Ok(package) = read_package(&path, format, &limits) else { return };
    assert!(package.uncompressed_bytes <= limits.max_total_bytes);
    for file in &package.files {
        assert!(!file.path.split('/').any(|part| part == ".."), "{}", file.path);
    }
});
