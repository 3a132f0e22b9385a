//! What a signed source was admitted on, kept with it so that `sources verify` can check it
//! again with the trust then in force. Written at admission and read back by this one type.
use provgate_attestations::ArtifactRef;
use provgate_oci::ImageEvidence;
use provgate_sbom::Sha256;
use serde::{Deserialize, Serialize};

use super::policy::{Trust, describe};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StoredEvidence {
    /// A bundle over an SBOM file, whose digest is `subject`; the signer was authorized for
    /// `sbom_predicate_type`.
    Sbom { bundle: serde_json::Value, subject: Sha256, sbom_predicate_type: String },
    /// A DSSE bundle with an in-toto statement.
    Attestation { bundle: serde_json::Value },
    /// A bundle over one file, whose digest is `subject`.
    Artifact { bundle: serde_json::Value, subject: Sha256 },
    /// The signatures and attestations an image was trusted on.
    Image { image: ImageEvidence },
}

impl StoredEvidence {
    /// Verifies it again with the trust in force: a one-line account of what passed, or why not.
    pub fn verify(&self, trust: &Trust) -> Result<String, String> {
        let checked = match self {
            StoredEvidence::Image { image } => return image.verify(&trust.verifier, &trust.policy),
            StoredEvidence::Sbom { bundle, subject, sbom_predicate_type } => {
                trust.verify_bundle(bundle, Some(ArtifactRef::Sha256(*subject)), Some(sbom_predicate_type))
            }
            StoredEvidence::Attestation { bundle } => trust.verify_bundle(bundle, None, None),
            StoredEvidence::Artifact { bundle, subject } => {
                trust.verify_bundle(bundle, Some(ArtifactRef::Sha256(*subject)), None)
            }
        };
        checked.map(|v| describe(&v)).map_err(|r| r.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::StoredEvidence;

    /// Sources registered before this type existed kept `{kind, bundle, subject,
    /// sbom_predicate_type}` with nulls where a kind has nothing; they must still read.
    #[test]
    fn reads_the_evidence_earlier_versions_stored() {
        let hex = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
        let sbom = serde_json::json!({ "kind": "sbom", "bundle": {}, "subject": format!("sha256:{hex}"),
                                       "sbom_predicate_type": "https://spdx.dev/Document" });
        assert!(matches!(serde_json::from_value(sbom).unwrap(), StoredEvidence::Sbom { .. }));
        let attestation =
            serde_json::json!({ "kind": "attestation", "bundle": {}, "subject": null, "sbom_predicate_type": null });
        assert!(matches!(serde_json::from_value(attestation).unwrap(), StoredEvidence::Attestation { .. }));
        let written = serde_json::to_value(StoredEvidence::Attestation { bundle: serde_json::json!({}) }).unwrap();
        assert_eq!(written["kind"], "attestation");
        assert!(serde_json::from_value::<StoredEvidence>(serde_json::json!({ "kind": "sbom", "bundle": {} })).is_err());
    }
}
