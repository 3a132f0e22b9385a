//! A registry's answer read as a manifest or index, with the Content-Type the first byte picks,
//! then an index's platform selection. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provgate_oci::{
    Platform,
    manifest::{Manifest, media_type, parse},
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let content_type = media_type::ACCEPTED.get(selector as usize % 6).copied();
    match parse(body, content_type) {
        Ok(Manifest::Index(index)) => {
            let _ = index.select(&Platform::default());
            let _ = index.select(&"linux/arm64/v8".parse().expect("a platform"));
            let _ = index.platforms();
        }
        Ok(Manifest::Image(manifest)) => {
            let _ = manifest.layers.iter().map(|l| l.size()).sum::<u64>();
        }
        Err(_) => {}
    }
});
