//! A bare DSSE envelope, then the in-toto statement in it. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provgate_attestations::dsse;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = dsse::envelope_from_slice(data) else { return };
    if let Ok(statement) = dsse::statement_of(&envelope) {
        let _ = statement.predicate();
        let _ = statement.subject_sha256s().count();
    }
});
