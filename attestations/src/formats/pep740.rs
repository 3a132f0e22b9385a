//! PEP 740 attestation objects, and PyPI's provenance object that groups them by publisher.
//!
//! An attestation object is a Sigstore bundle in other words; it is converted the way
//! pypi-attestations' `Attestation.to_bundle()` does, so that what is verified is exactly what
//! PyPI and its clients verify: the statement becomes a DSSE envelope's payload of type
//! in-toto, the signature its one signature, the certificate the bundle's certificate, and the
//! transparency entries its tlog entries as they are.
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Attestation, Container, FormatError};

const IN_TOTO: &str = "application/vnd.in-toto+json";
const BUNDLE_V0_3: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationObject {
    version: u64,
    verification_material: VerificationMaterial,
    envelope: Envelope,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerificationMaterial {
    /// Base64 DER of the signing certificate.
    certificate: String,
    transparency_entries: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    /// Base64 of the in-toto statement: the DSSE payload.
    statement: String,
    /// Base64 of the DSSE signature.
    signature: String,
}

/// The Sigstore bundle (v0.3) a PEP 740 attestation object is.
pub fn to_bundle(value: &Value) -> Result<Value, FormatError> {
    let malformed = |problem: &dyn std::fmt::Display| FormatError::malformed(Container::Pep740Attestation, problem);
    let object = AttestationObject::deserialize(value).map_err(|e| malformed(&e))?;
    if object.version != 1 {
        return Err(malformed(&format!("version {}, not 1", object.version)));
    }
    // pypi-attestations requires at least one entry: the log is what proves the signing time.
    if object.verification_material.transparency_entries.is_empty() {
        return Err(malformed(&"no transparency entries"));
    }
    let engine = base64::engine::general_purpose::STANDARD;
    for (field, text) in [
        ("verification_material.certificate", &object.verification_material.certificate),
        ("envelope.statement", &object.envelope.statement),
        ("envelope.signature", &object.envelope.signature),
    ] {
        if engine.decode(text).is_err() {
            return Err(malformed(&format!("{field} is not base64")));
        }
    }
    Ok(json!({
        "mediaType": BUNDLE_V0_3,
        "verificationMaterial": {
            "certificate": { "rawBytes": object.verification_material.certificate },
            "tlogEntries": object.verification_material.transparency_entries,
        },
        "dsseEnvelope": {
            "payload": object.envelope.statement,
            "payloadType": IN_TOTO,
            "signatures": [{ "sig": object.envelope.signature }],
        },
    }))
}

#[derive(Deserialize)]
struct Provenance {
    version: u64,
    attestation_bundles: Vec<AttestationBundle>,
}

#[derive(Deserialize)]
struct AttestationBundle {
    /// Who published: `{"kind": "GitHub", "repository": ..., "workflow": ...}`; only a label,
    /// the certificate says who signed.
    #[serde(default)]
    publisher: Value,
    attestations: Vec<Value>,
}

/// Every attestation of a PyPI provenance object, converted.
pub(super) fn provenance(value: &Value) -> Result<Vec<Attestation>, FormatError> {
    let provenance =
        Provenance::deserialize(value).map_err(|e| FormatError::malformed(Container::PypiProvenance, e))?;
    if provenance.version != 1 {
        return Err(FormatError::malformed(
            Container::PypiProvenance,
            format!("version {}, not 1", provenance.version),
        ));
    }
    let mut out = Vec::new();
    for (i, group) in provenance.attestation_bundles.iter().enumerate() {
        let publisher = group.publisher.get("kind").and_then(Value::as_str).unwrap_or("unnamed publisher");
        for (j, attestation) in group.attestations.iter().enumerate() {
            let label = format!("attestation_bundles[{i}] ({publisher}) attestations[{j}]");
            let bundle = to_bundle(attestation).map_err(|e| FormatError::Malformed {
                container: Container::PypiProvenance.name(),
                problem: format!("{label}: {e}"),
            })?;
            out.push(Attestation { label, bundle });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Attestations, Container};
    use super::*;

    fn object() -> Value {
        json!({
            "version": 1,
            "verification_material": { "certificate": "AAEC", "transparency_entries": [{ "logIndex": "7" }] },
            "envelope": { "statement": "eyJ9", "signature": "MEUC" },
        })
    }

    #[test]
    fn an_attestation_object_becomes_the_bundle_pypi_attestations_makes() {
        let bundle = to_bundle(&object()).unwrap();
        assert_eq!(
            bundle,
            json!({
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": { "certificate": { "rawBytes": "AAEC" }, "tlogEntries": [{ "logIndex": "7" }] },
                "dsseEnvelope": {
                    "payload": "eyJ9",
                    "payloadType": "application/vnd.in-toto+json",
                    "signatures": [{ "sig": "MEUC" }],
                },
            })
        );
        let read = Attestations::from_slice(object().to_string().as_bytes()).unwrap();
        assert_eq!(read.container, Container::Pep740Attestation);
    }

    #[test]
    fn what_is_not_an_attestation_object_is_refused() {
        let mut wrong_version = object();
        wrong_version["version"] = 2.into();
        let mut no_entries = object();
        no_entries["verification_material"]["transparency_entries"] = json!([]);
        let mut not_base64 = object();
        not_base64["envelope"]["signature"] = "not base64!".into();
        let mut extra = object();
        extra["envelope"]["keyid"] = "x".into();
        for (value, expected) in [
            (wrong_version, "version 2, not 1"),
            (no_entries, "no transparency entries"),
            (not_base64, "envelope.signature is not base64"),
            (extra, "unknown field `keyid`"),
        ] {
            let err = to_bundle(&value).unwrap_err().to_string();
            assert!(err.starts_with("PEP 740 attestation: ") && err.contains(expected), "{err}");
        }
    }

    #[test]
    fn a_provenance_object_yields_every_attestation_of_every_publisher() {
        let provenance = json!({
            "version": 1,
            "attestation_bundles": [
                { "publisher": { "kind": "GitHub", "repository": "o/r" }, "attestations": [object(), object()] },
                { "publisher": { "kind": "GitLab" }, "attestations": [object()] },
            ],
        });
        let read = Attestations::from_slice(provenance.to_string().as_bytes()).unwrap();
        assert_eq!(read.container, Container::PypiProvenance);
        let labels: Vec<_> = read.attestations.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "attestation_bundles[0] (GitHub) attestations[0]",
                "attestation_bundles[0] (GitHub) attestations[1]",
                "attestation_bundles[1] (GitLab) attestations[0]",
            ]
        );
        let broken = json!({ "version": 1, "attestation_bundles": [{ "attestations": [{ "version": 1 }] }] });
        let err = Attestations::from_slice(broken.to_string().as_bytes()).unwrap_err().to_string();
        assert!(
            err.starts_with("PyPI provenance object: attestation_bundles[0] (unnamed publisher) attestations[0]"),
            "{err}"
        );
    }
}
