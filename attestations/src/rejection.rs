//! Why a bundle was not accepted, as the check that failed plus detail: an operator reading
//! "inclusion proof check failed" knows where to look, which "verification failed" would not say.
use sigstore_verify::{CertificateError, Error as SigstoreError, TransparencyLogError};
use thiserror::Error;

/// The checks a bundle passes through, in the words rejections use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// The bundle is well formed and of a supported kind.
    Bundle,
    /// The trusted root can be used.
    TrustRoot,
    /// The signature verifies over the artifact or DSSE payload.
    Signature,
    /// The signing certificate is well formed and valid at the signing time.
    Certificate,
    /// The signing certificate chains to a trusted CA.
    Chain,
    /// The certificate's signed certificate timestamp is from a trusted CT log.
    Sct,
    /// The transparency log entry is from a trusted log and describes this bundle.
    LogEntry,
    /// The Merkle inclusion proof proves the entry is in the log.
    InclusionProof,
    /// The checkpoint (signed tree head) is signed by the log.
    Checkpoint,
    /// The inclusion promise (signed entry timestamp) is signed by the log.
    InclusionPromise,
    /// The signed timestamps verify and a trusted signing time exists.
    Timestamp,
    /// The bundle is about the artifact given.
    Artifact,
    /// The signer is one the caller or the trust policy expects.
    Identity,
    /// The DSSE payload is an in-toto statement we can read.
    Statement,
    /// The trust policy lets this signer vouch with this kind of statement.
    Policy,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::Bundle => "bundle",
            Check::TrustRoot => "trusted root",
            Check::Signature => "signature",
            Check::Certificate => "certificate",
            Check::Chain => "certificate chain",
            Check::Sct => "SCT",
            Check::LogEntry => "log entry",
            Check::InclusionProof => "inclusion proof",
            Check::Checkpoint => "checkpoint",
            Check::InclusionPromise => "inclusion promise",
            Check::Timestamp => "timestamp",
            Check::Artifact => "artifact",
            Check::Identity => "identity",
            Check::Statement => "statement",
            Check::Policy => "policy",
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{check} check failed: {detail}")]
pub struct Rejection {
    pub check: Check,
    pub detail: String,
}

impl Rejection {
    pub fn new(check: Check, detail: impl Into<String>) -> Self {
        Self { check, detail: detail.into() }
    }
}

impl From<SigstoreError> for Rejection {
    fn from(error: SigstoreError) -> Self {
        let check = match &error {
            SigstoreError::IdentityMismatch { .. } | SigstoreError::IssuerMismatch { .. } => Check::Identity,
            SigstoreError::SignatureInvalid(_) | SigstoreError::Crypto(_) => Check::Signature,
            SigstoreError::ArtifactMismatch(_)
            | SigstoreError::UnsupportedArtifact(_)
            | SigstoreError::ArtifactRead(_) => Check::Artifact,
            SigstoreError::Certificate(certificate) => match certificate {
                CertificateError::ChainInvalid(_) | CertificateError::NoValidAuthority { .. } => Check::Chain,
                CertificateError::Sct(_) => Check::Sct,
                _ => Check::Certificate,
            },
            SigstoreError::TransparencyLog(log) => match log {
                TransparencyLogError::InclusionProof(_) => Check::InclusionProof,
                TransparencyLogError::Checkpoint(_) => Check::Checkpoint,
                TransparencyLogError::InclusionPromise(_) => Check::InclusionPromise,
                _ => Check::LogEntry,
            },
            SigstoreError::Timestamp(_) => Check::Timestamp,
            SigstoreError::InvalidTrustRoot(_) | SigstoreError::TrustRoot(_) | SigstoreError::TrustedCertificate(_) => {
                Check::TrustRoot
            }
            _ => Check::Bundle,
        };
        Self::new(check, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_verify::TimestampError;

    #[test]
    fn sigstore_errors_map_to_the_failing_check() {
        let cases = [
            (SigstoreError::from(TransparencyLogError::InclusionProof("x".into())), Check::InclusionProof),
            (SigstoreError::from(TransparencyLogError::Checkpoint("x".into())), Check::Checkpoint),
            (SigstoreError::from(TransparencyLogError::EntryMismatch("x".into())), Check::LogEntry),
            (SigstoreError::from(CertificateError::Sct("x".into())), Check::Sct),
            (SigstoreError::from(CertificateError::ChainInvalid("x".into())), Check::Chain),
            (SigstoreError::from(TimestampError::NoVerifiedTimestamp("x".into())), Check::Timestamp),
            (SigstoreError::SignatureInvalid("x".into()), Check::Signature),
            (SigstoreError::ArtifactMismatch("x".into()), Check::Artifact),
            (SigstoreError::InvalidBundle("x".into()), Check::Bundle),
        ];
        for (error, check) in cases {
            let rejection = Rejection::from(error);
            assert_eq!(rejection.check, check, "{rejection}");
            assert!(rejection.to_string().starts_with(&format!("{} check failed: ", check.name())));
        }
    }
}
