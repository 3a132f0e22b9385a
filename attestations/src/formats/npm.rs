//! npm's registry attestations response (`GET /-/npm/v1/attestations/<name>@<version>`): one
//! Sigstore bundle per predicate type, typically SLSA provenance signed by the CI workflow and
//! the publish attestation signed with the registry's key.
use serde::Deserialize;
use serde_json::Value;

use super::{Attestation, Container, FormatError};

#[derive(Deserialize)]
struct Response {
    attestations: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    /// What the registry says the bundle is; only a label: the signed statement inside decides.
    #[serde(rename = "predicateType", default)]
    predicate_type: Option<String>,
    bundle: Value,
}

pub(super) fn attestations(value: &Value) -> Result<Vec<Attestation>, FormatError> {
    let response = Response::deserialize(value).map_err(|e| FormatError::malformed(Container::NpmAttestations, e))?;
    Ok(response
        .attestations
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let label = match entry.predicate_type {
                Some(predicate_type) => format!("attestations[{index}] ({predicate_type})"),
                None => format!("attestations[{index}]"),
            };
            Attestation { label, bundle: entry.bundle }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::{Attestations, Container};

    #[test]
    fn each_entry_is_a_bundle_labelled_by_its_place_and_type() {
        let json = br#"{"attestations":[
            {"predicateType":"https://github.com/npm/attestation/tree/main/specs/publish/v0.1","bundle":{"mediaType":"m1"}},
            {"predicateType":"https://slsa.dev/provenance/v1","bundle":{"mediaType":"m2"}}]}"#;
        let read = Attestations::from_slice(json).unwrap();
        assert_eq!(read.container, Container::NpmAttestations);
        assert_eq!(read.attestations[1].label, "attestations[1] (https://slsa.dev/provenance/v1)");
        assert_eq!(read.attestations[1].bundle["mediaType"], "m2");
        let err = Attestations::from_slice(br#"{"attestations":[{"predicateType":"p"}]}"#).unwrap_err();
        assert!(err.to_string().starts_with("npm attestations response: missing field `bundle`"), "{err}");
    }
}
