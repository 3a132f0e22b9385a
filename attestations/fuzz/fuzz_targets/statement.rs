//! An in-toto statement (a DSSE payload) and its predicate, read by type. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provgate_attestations::Statement;

fuzz_target!(|data: &[u8]| {
    let Ok(statement) = Statement::from_slice(data) else { return };
    let _ = statement.predicate();
    let _ = statement.subject_sha256s().count();
});
