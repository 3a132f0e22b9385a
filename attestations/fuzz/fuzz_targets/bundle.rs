//! Bundle parsing: bounds, media type, structure, and what a parsed bundle yields (content kind,
//! certificate identities, the DSSE statement). Must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provgate_attestations::{Bundle, dsse, signer::san_identities};

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::from_slice(data) else { return };
    let _ = bundle.content_kind();
    if let Some(certificate) = bundle.signing_certificate() {
        let _ = san_identities(certificate);
    }
    if let Some(envelope) = bundle.dsse_envelope()
        && let Ok(statement) = dsse::statement_of(envelope)
    {
        let _ = statement.predicate();
    }
});
