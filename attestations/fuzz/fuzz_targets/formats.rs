//! The files attestations arrive in (npm's response, PEP 740 objects, PyPI's provenance object):
//! bounds, detection, conversion, and parsing each bundle they yield. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provgate_attestations::{Attestations, Bundle};

fuzz_target!(|data: &[u8]| {
    let Ok(read) = Attestations::from_slice(data) else { return };
    for attestation in read.attestations {
        let _ = Bundle::from_slice(attestation.bundle.to_string().as_bytes());
    }
});
