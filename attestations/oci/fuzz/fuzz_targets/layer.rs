//! A layer blob, whatever its bytes: the first byte picks the compression; the descriptor names
//! the blob's true digest, so the decompressors, the tar walk, the bounds and the whiteout and
//! hard-link bookkeeping are what gets exercised. Must never panic, nor exceed the bounds.
#![no_main]

use std::sync::atomic::AtomicU64;

use libfuzzer_sys::fuzz_target;
use provgate_oci::{
    Digest, Limits,
    layer::{ImageFiles, read_layer},
    manifest::Descriptor,
};

const MEDIA_TYPES: [&str; 3] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, blob)) = data.split_first() else { return };
    let descriptor = Descriptor {
        media_type: MEDIA_TYPES[selector as usize % MEDIA_TYPES.len()].to_owned(),
        digest: Digest::of(blob),
        size: blob.len() as i64,
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    };
    // Small bounds, so that a bomb is stopped within a few megabytes.
    let limits = Limits { max_total_bytes: 16 << 20, ratio_allowance: 4 << 20, max_entries: 10_000, ..Limits::default() };
    let total = AtomicU64::new(0);
    let Ok((changes, stats)) = read_layer(blob, &descriptor, &limits, &total) else { return };
    assert!(stats.uncompressed_bytes <= limits.max_uncompressed(blob.len() as u64));
    assert_eq!(stats.compressed_bytes, blob.len() as u64);
    let mut files = ImageFiles::default();
    // Twice: the second application sees the first's files as a lower layer.
    if files.apply(changes.clone()).is_ok() {
        let _ = files.apply(changes);
    }
    for file in files.candidates() {
        assert!(file.path.starts_with('/') && !file.path.split('/').any(|part| part == ".."));
    }
});
