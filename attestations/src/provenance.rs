//! Verification and authorization together: what `verify-bundle`, `register` and
//! `sources verify` call. The result says who vouched, under which policy rule, when, and for
//! which digests.
use provgate_sbom::DigestRecord;
use thiserror::Error;

use crate::{
    bundle::Bundle,
    policy::{TrustPolicy, Vouching},
    predicate::Predicate,
    rejection::{Check, Rejection},
    sbom::SbomReader,
    statement::StatementError,
    verify::{ArtifactRef, BundleVerifier, SignedContent, VerifiedBundle},
};

/// A bundle that verified and whose signer the trust policy lets vouch with what it signed.
#[derive(Debug, Clone)]
pub struct VerifiedProvenance {
    pub bundle: VerifiedBundle,
    /// The name of the policy rule that authorized the signer.
    pub authorized_by: String,
}

#[derive(Debug, Error)]
pub enum AllowlistError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error("reading the {format} SBOM: {source}")]
    Sbom { format: &'static str, source: E },
}

impl VerifiedBundle {
    /// What the bundle vouches with, for the policy.
    pub fn vouching(&self) -> Vouching<'_> {
        match &self.content {
            SignedContent::ArtifactSignature { .. } => Vouching::ArtifactSignature,
            SignedContent::Statement(statement) => Vouching::Statement { predicate_type: &statement.predicate_type },
        }
    }
}

/// Verifies `bundle` and authorizes its signer by `policy`. A managed-key bundle is verified
/// with each key the policy trusts until one fits. `artifact` is needed for a plain signature;
/// for a statement it is optional and, when given, must be one of its subjects.
pub fn verify_and_authorize(
    verifier: &BundleVerifier,
    policy: &TrustPolicy,
    bundle: &Bundle,
    artifact: Option<ArtifactRef<'_>>,
) -> Result<VerifiedProvenance, Rejection> {
    let verified = verify_signature(verifier, policy, bundle, artifact)?;
    let rule = policy.authorize(&verified.signer, verified.vouching())?;
    Ok(VerifiedProvenance { authorized_by: rule.name.clone(), bundle: verified })
}

/// Verifies `bundle` without authorizing its signer: against the trusted CAs when it has a
/// certificate, else with each managed key the policy trusts until one fits.
pub fn verify_signature(
    verifier: &BundleVerifier,
    policy: &TrustPolicy,
    bundle: &Bundle,
    artifact: Option<ArtifactRef<'_>>,
) -> Result<VerifiedBundle, Rejection> {
    if bundle.signing_certificate().is_some() {
        return verifier.verify(bundle, artifact, None);
    }
    let mut rejections = Vec::new();
    for key in policy.keys() {
        match verifier.verify(bundle, artifact, Some(key)) {
            Ok(verified) => return Ok(verified),
            Err(rejection) => rejections.push(rejection),
        }
    }
    // A wrong key fails the signature check; a failure of any other check comes from checks
    // that do not depend on the key, or from the right key, so it is the one worth reporting.
    let first_other = rejections.iter().position(|r| r.check != Check::Signature);
    match (rejections.len(), first_other) {
        (0, _) => Err(Rejection::new(
            Check::Identity,
            format!("the bundle is signed with a managed key, and {} trusts no public key", policy.origin()),
        )),
        (_, Some(index)) => Err(rejections.swap_remove(index)),
        (1, None) => Err(rejections.swap_remove(0)),
        (n, None) => Err(Rejection::new(
            Check::Signature,
            format!("the signature verifies with none of the {n} public keys {} trusts", policy.origin()),
        )),
    }
}

impl VerifiedProvenance {
    /// A record of who vouched and how, for the store's `detail` column and the audit log.
    pub fn detail(&self) -> serde_json::Value {
        let bundle = &self.bundle;
        let mut detail = serde_json::json!({
            "authorized_by": self.authorized_by,
            "signer": bundle.signer.identity(),
            "issuer": bundle.signer.issuer(),
            "log_entries": bundle.log_entries.iter().map(|entry| serde_json::json!({
                "index": entry.log_index,
                "kind": entry.kind,
                "integrated_time": entry.integrated_time.map(|t| t.to_string()),
            })).collect::<Vec<_>>(),
            "signed_at": bundle.signed_at().map(|t| t.to_string()),
        });
        if let crate::signer::Signer::Certificate(certificate) = &bundle.signer {
            let claims = &certificate.claims;
            detail["claims"] = serde_json::json!({
                "repository": claims.repository, "ref": claims.git_ref, "commit": claims.commit,
                "workflow": claims.workflow, "trigger": claims.trigger, "runner_environment": claims.runner_environment,
            });
        }
        match &bundle.content {
            SignedContent::ArtifactSignature { sha256 } => detail["artifact"] = sha256.to_string().into(),
            SignedContent::Statement(statement) => {
                detail["predicate_type"] = statement.predicate_type.clone().into();
                detail["subjects"] = statement.subjects.len().into();
            }
        }
        detail
    }

    /// The digests this provenance vouches for: the artifact of a plain signature; the
    /// subjects of SLSA provenance and of npm's and PyPI's publish attestations; the subjects and every file of an SBOM (read by `sbom`).
    /// Statements of a predicate type provgate does not understand vouch for nothing.
    pub fn allowlist<R: SbomReader>(&self, sbom: &R) -> Result<Vec<DigestRecord>, AllowlistError<R::Error>> {
        let statement = match &self.bundle.content {
            SignedContent::ArtifactSignature { sha256 } => {
                return Ok(vec![DigestRecord { sha256: *sha256, path: None, package: None }]);
            }
            SignedContent::Statement(statement) => statement,
        };
        let subjects = || {
            statement.subjects.iter().filter_map(|subject| {
                Some(DigestRecord { sha256: subject.sha256()?, path: subject.name.clone(), package: None })
            })
        };
        Ok(match statement.predicate()? {
            Predicate::Unknown { predicate_type, .. } => {
                tracing::info!(predicate_type, "statement of an unknown predicate type vouches for nothing");
                Vec::new()
            }
            // Provenance names what a build produced; a publish attestation what was uploaded.
            // Either way the subjects, by SHA-256, are all they vouch for.
            Predicate::SlsaProvenance(_) | Predicate::Publish => subjects().collect(),
            Predicate::Sbom { format, document } => {
                let files = sbom
                    .files(format, document)
                    .map_err(|source| AllowlistError::Sbom { format: format.name(), source })?;
                subjects().chain(files).collect()
            }
        })
    }
}
