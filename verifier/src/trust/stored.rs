//! What a signed source was admitted on, kept with it so that `sources verify` can check it
//! again with the trust then in force. Written at admission and read back by this one type.
use provgate_attestations::{ArtifactDigests, ArtifactRef, Sha512};
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
    /// The attestations of a file that were used (bundles, converted when the file held PEP
    /// 740 objects), about `artifact` when one was given: its SHA-256 and, when the file was
    /// at hand, its SHA-512, which statements naming subjects by SHA-512 are checked against.
    Attestations { bundles: Vec<serde_json::Value>, artifact: Option<StoredArtifact> },
    /// A bundle over one file, whose digest is `subject`; `sha512` kept when the file was at
    /// hand (absent in sources stored before it was), for DSSE subjects named by SHA-512.
    Artifact {
        bundle: serde_json::Value,
        subject: Sha256,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha512: Option<Sha512>,
    },
    /// The signatures and attestations an image was trusted on.
    Image { image: ImageEvidence },
}

/// The artifact attestations were checked against.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct StoredArtifact {
    pub sha256: Sha256,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha512: Option<Sha512>,
}

impl StoredArtifact {
    pub fn artifact_ref(&self) -> ArtifactRef<'static> {
        artifact_ref(self.sha256, self.sha512)
    }
}

/// What a stored digest is checked against: both digests when there are both.
fn artifact_ref(sha256: Sha256, sha512: Option<Sha512>) -> ArtifactRef<'static> {
    match sha512 {
        Some(sha512) => ArtifactRef::Digests(ArtifactDigests { sha256, sha512 }),
        None => ArtifactRef::Sha256(sha256),
    }
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
            StoredEvidence::Artifact { bundle, subject, sha512 } => {
                trust.verify_bundle(bundle, Some(artifact_ref(*subject, *sha512)), None)
            }
            // Every bundle was admitted, so every one must still pass.
            StoredEvidence::Attestations { bundles, artifact } => {
                let mut passed = Vec::with_capacity(bundles.len());
                for (index, bundle) in bundles.iter().enumerate() {
                    match trust.verify_bundle(bundle, artifact.as_ref().map(StoredArtifact::artifact_ref), None) {
                        Ok(verified) => passed.push(describe(&verified)),
                        Err(rejection) if bundles.len() == 1 => return Err(rejection.to_string()),
                        Err(rejection) => {
                            return Err(format!("attestation {} of {}: {rejection}", index + 1, bundles.len()));
                        }
                    }
                }
                return Ok(passed.join("; "));
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
        // Artifacts stored before their SHA-512 was kept read back without one, and are
        // written back the same way.
        let artifact = serde_json::json!({ "kind": "artifact", "bundle": {}, "subject": format!("sha256:{hex}") });
        let read: StoredEvidence = serde_json::from_value(artifact.clone()).unwrap();
        assert!(matches!(read, StoredEvidence::Artifact { sha512: None, .. }));
        assert_eq!(serde_json::to_value(read).unwrap(), artifact);
    }
}
