//! Signed evidence: checking it against the Sigstore trusted root and the trust policy, and
//! what it vouches for. `register` stores the evidence with the source it creates, and
//! `sources verify` checks it again the same way.
use std::{io::Cursor, path::Path};

use anyhow::{Context as _, bail};
use provgate_attestations::{
    ArtifactRef, Bundle, BundleVerifier, Check, Rejection, SbomFile, SbomFormat, SbomReader, SignedContent,
    TrustPolicy, TrustRoot, VerifiedProvenance, Vouching, verify_and_authorize,
};
use serde::{Deserialize, Serialize};

use crate::{config::Config, hashing::Sha256Digest};

/// The trusted root and the trust policy in force.
pub struct Trust {
    pub verifier: BundleVerifier,
    pub policy: TrustPolicy,
}

impl Trust {
    /// From the flags, else the configuration. Without a policy nothing signed is trusted, so
    /// that is an error rather than an empty policy.
    pub fn load(config: &Config, policy: Option<&Path>, root: Option<&Path>) -> anyhow::Result<Self> {
        let Some(policy_path) = policy.or(config.trust_policy.as_deref()) else {
            bail!(
                "no trust policy: nothing signed is trusted; name one with --policy or trust_policy in the configuration"
            );
        };
        let policy = TrustPolicy::from_file(policy_path)?;
        let root = match root.or(config.trusted_root.as_deref()) {
            Some(path) => TrustRoot::from_file(path)?,
            None => TrustRoot::public_good(),
        };
        let verifier = BundleVerifier::new(&root).with_context(|| format!("trusted root {}", root.origin()))?;
        Ok(Self { verifier, policy })
    }
}

/// What the evidence is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// A bundle over an SBOM file: the SBOM's files are allowed.
    Sbom,
    /// A DSSE bundle with an in-toto statement: its subjects (and an SBOM predicate's files).
    Attestation,
    /// A bundle over an artifact: that artifact is allowed.
    Artifact,
}

/// Stored with a signed source: enough to verify it again.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// The bundle, as registered.
    pub bundle: serde_json::Value,
    /// The file the bundle is about (the SBOM or the artifact), `sha256:<hex>`.
    pub subject: Option<String>,
    /// For an SBOM: its predicate type, which the signer must be allowed to vouch with.
    pub sbom_predicate_type: Option<String>,
}

impl Evidence {
    /// Verifies the bundle and authorizes its signer. `subject_bytes`, when at hand, lets
    /// signatures that sign the message itself (Ed25519) be checked too.
    pub fn verify(&self, trust: &Trust, subject_bytes: Option<&[u8]>) -> Result<VerifiedProvenance, Rejection> {
        let bytes = serde_json::to_vec(&self.bundle).map_err(|e| Rejection::new(Check::Bundle, e.to_string()))?;
        let bundle = Bundle::from_slice(&bytes).map_err(|e| Rejection::new(Check::Bundle, e.to_string()))?;
        let digest = self.subject.as_deref().and_then(Sha256Digest::parse);
        let artifact = match (subject_bytes, digest) {
            (Some(bytes), _) => Some(ArtifactRef::Bytes(bytes)),
            (None, Some(d)) => Some(ArtifactRef::Sha256(d.0)),
            (None, None) => None,
        };
        let verified = verify_and_authorize(&trust.verifier, &trust.policy, &bundle, artifact)?;
        if let Some(predicate_type) = &self.sbom_predicate_type {
            // Vouching for an SBOM is vouching for every file it lists: the signer must be
            // allowed to vouch with SBOMs, not merely to sign artifacts.
            trust.policy.authorize(&verified.bundle.signer, Vouching::Statement { predicate_type })?;
        }
        Ok(verified)
    }
}

/// The evidence stored with a source: bundles registered with `register`, or the signatures and
/// attestations an image was trusted on (`image add`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredEvidence {
    Image { image: provgate_oci::ImageEvidence },
    Bundle(Evidence),
}

impl StoredEvidence {
    /// Verifies it again with the trust in force: a one-line account of what passed, or why not.
    pub fn verify(&self, trust: &Trust) -> Result<String, String> {
        match self {
            StoredEvidence::Image { image } => image.verify(&trust.verifier, &trust.policy),
            StoredEvidence::Bundle(evidence) => {
                evidence.verify(trust, None).map(|v| describe(&v)).map_err(|r| r.to_string())
            }
        }
    }
}

/// One line about a verified signature, for the user.
pub fn describe(verified: &VerifiedProvenance) -> String {
    let bundle = &verified.bundle;
    let mut out = format!("signed by {}", bundle.signer.identity());
    if let Some(issuer) = bundle.signer.issuer() {
        out.push_str(&format!(" ({issuer})"));
    }
    if let SignedContent::Statement(statement) = &bundle.content {
        out.push_str(&format!(", in-toto {}", statement.predicate_type));
    }
    if let Some(index) = bundle.log_index() {
        out.push_str(&format!(", log index {index}"));
    }
    if let Some(time) = bundle.signed_at() {
        out.push_str(&format!(", signed at {time}"));
    }
    out.push_str(&format!(", authorized by policy rule {:?}", verified.authorized_by));
    out
}

/// The SBOM predicates of in-toto statements, read with `provgate-sbom`.
pub struct SbomCrateReader;

impl SbomReader for SbomCrateReader {
    type Error = provgate_sbom::SbomError;

    fn files(&self, _format: SbomFormat, document: &str) -> Result<Vec<SbomFile>, Self::Error> {
        let mut files = Vec::new();
        provgate_sbom::read(&mut Cursor::new(document.as_bytes()), &provgate_sbom::Limits::default(), &mut |record| {
            files.push(SbomFile {
                sha256: record.sha256.0,
                path: record.path,
                package: record.package.and_then(|p| p.label()),
            })
        })?;
        Ok(files)
    }
}
