//! Cosign's formats: a simple-signing payload, and a layer with annotations turned into a
//! Sigstore bundle. The input is split at NUL bytes into the layer and the values of the
//! certificate, Rekor bundle, signature and timestamp annotations. Must never panic.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use provgate_oci::cosign::{
    BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, LegacyContent, SIGNATURE_ANNOTATION, TIMESTAMP_ANNOTATION, legacy_bundle,
    parse_simple_signing,
};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let content = parts.next().unwrap_or_default();
    if let Ok(payload) = parse_simple_signing(content) {
        let _ = payload.digest();
    }
    let mut annotations = BTreeMap::new();
    for (key, value) in [CERTIFICATE_ANNOTATION, BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION, TIMESTAMP_ANNOTATION].into_iter().zip(parts) {
        if let Ok(value) = std::str::from_utf8(value) {
            annotations.insert(key.to_owned(), value.to_owned());
        }
    }
    let _ = legacy_bundle(LegacyContent::SimpleSigning(content), &annotations);
    if let Ok(bundle) = legacy_bundle(LegacyContent::DsseEnvelope(content), &annotations) {
        let _ = bundle.content_kind();
    }
});
