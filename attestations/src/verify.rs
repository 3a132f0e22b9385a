//! Cryptographic verification of a bundle, offline, against one trusted root: signature,
//! certificate chain and validity, SCT, transparency-log entry, inclusion proof, checkpoint,
//! inclusion promise and signed timestamps. It says who signed; whether that signer is trusted
//! is the trust policy's question ([`crate::policy`]).
use provgate_sbom::Sha256;
use sigstore_verify::{
    Policy, PublicKeyVerificationPolicy, VerificationPolicy, VerificationResult, Verifier,
    types::{Artifact, ArtifactDigest, HashAlgorithm, Sha256Hash},
};

use crate::{
    bundle::Bundle,
    digests::{ArtifactDigests, Sha512},
    dsse,
    key::PublicKey,
    rejection::{Check, Rejection},
    signer::{CertificateSigner, Signer},
    statement::Statement,
    trust_root::{TrustRoot, TrustRootError},
};

/// The artifact a bundle is checked against: its bytes, or only its SHA-256 digest (enough for
/// every ECDSA and RSA signature; Ed25519 message signatures need the bytes), or its SHA-256
/// and SHA-512 digests (for statements naming their subjects by SHA-512, as npm's do).
#[derive(Debug, Clone, Copy)]
pub enum ArtifactRef<'a> {
    Bytes(&'a [u8]),
    Sha256(Sha256),
    Digests(ArtifactDigests),
}

impl ArtifactRef<'_> {
    pub fn sha256(&self) -> Sha256 {
        match self {
            ArtifactRef::Bytes(bytes) => Sha256::of(bytes),
            ArtifactRef::Sha256(digest) => *digest,
            ArtifactRef::Digests(digests) => digests.sha256,
        }
    }
}

impl<'a> ArtifactRef<'a> {
    /// What sigstore-verify is given. It binds a statement to the artifact by SHA-256 or
    /// SHA-512 but takes one digest: the one the statement's matching subject names is chosen
    /// (bytes let it compute both itself).
    fn sigstore(self, statement: Option<&Statement>) -> Artifact<'a> {
        match self {
            ArtifactRef::Bytes(bytes) => Artifact::Blob(bytes),
            ArtifactRef::Sha256(digest) => Sha256Hash::new(digest.0).into(),
            ArtifactRef::Digests(digests) => {
                let by_sha512_only = statement
                    .and_then(|s| s.subject_matching(&digests))
                    .is_some_and(|subject| subject.sha256().is_none());
                if by_sha512_only { sha512_artifact(digests.sha512) } else { Sha256Hash::new(digests.sha256.0).into() }
            }
        }
    }
}

fn sha512_artifact(digest: Sha512) -> Artifact<'static> {
    // The length is the algorithm's by construction, so this cannot fail.
    ArtifactDigest::new(HashAlgorithm::Sha2512, digest.0.to_vec()).expect("64 bytes is a SHA-512 digest").into()
}

/// What the bundle signs, once verified.
#[derive(Debug, Clone)]
pub enum SignedContent {
    /// A signature directly over the artifact, whose SHA-256 is this.
    ArtifactSignature { sha256: Sha256 },
    /// An in-toto statement in a DSSE envelope.
    Statement(Statement),
}

/// One transparency-log entry of a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub log_index: u64,
    /// `hashedrekord/0.0.1`, `dsse/0.0.1`, `intoto/0.0.2`, `hashedrekord/0.0.2` (Rekor v2).
    pub kind: String,
    /// Rekor v1 only; Rekor v2 entries rely on signed timestamps.
    pub integrated_time: Option<jiff::Timestamp>,
}

/// A bundle whose cryptography holds. The signer is not yet authorized.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub signer: Signer,
    pub log_entries: Vec<LogEntry>,
    /// Every authenticated signing time: RFC 3161 timestamps and Rekor v1 integrated times.
    pub signing_times: Vec<jiff::Timestamp>,
    pub content: SignedContent,
}

impl VerifiedBundle {
    /// The first log entry's index, the usual handle on a Rekor entry.
    pub fn log_index(&self) -> Option<u64> {
        self.log_entries.first().map(|entry| entry.log_index)
    }

    /// The earliest authenticated signing time.
    pub fn signed_at(&self) -> Option<jiff::Timestamp> {
        self.signing_times.iter().min().copied()
    }
}

pub struct BundleVerifier {
    verifier: Verifier,
}

impl BundleVerifier {
    /// Prepares every key and certificate of the root once; reuse the verifier for many bundles.
    pub fn new(root: &TrustRoot) -> Result<Self, TrustRootError> {
        let verifier = Verifier::new(&root.root)
            .map_err(|e| TrustRootError { origin: root.origin().to_owned(), problem: e.to_string() })?;
        Ok(Self { verifier })
    }

    /// Verifies everything but whether the signer is trusted. A keyless bundle is accepted from
    /// any identity the trusted CAs certified (the caller authorizes it); a managed-key bundle
    /// must verify with `key`.
    ///
    /// Without `artifact`, a DSSE bundle is checked against its statement's first SHA-256
    /// subject (else its first SHA-512 one): every subject is then vouched for by the same
    /// signature. A message signature needs its artifact.
    pub fn verify(
        &self,
        bundle: &Bundle,
        artifact: Option<ArtifactRef<'_>>,
        key: Option<&PublicKey>,
    ) -> Result<VerifiedBundle, Rejection> {
        let statement = bundle
            .dsse_envelope()
            .map(dsse::statement_of)
            .transpose()
            .map_err(|e| Rejection::new(Check::Statement, e.to_string()))?;
        // Said plainly, rather than as a mismatch: no SHA-256 could ever match such a statement.
        if let (Some(ArtifactRef::Sha256(_)), Some(statement)) = (artifact, &statement)
            && statement.subject_sha256s().next().is_none()
            && statement.subjects.iter().any(|s| s.sha512().is_some())
        {
            return Err(Rejection::new(
                Check::Artifact,
                "the statement names its subjects by SHA-512 only, so a SHA-256 digest cannot be matched with \
                 them: give the artifact itself",
            ));
        }
        let subject: Artifact<'_> = match (artifact, &statement) {
            (Some(artifact), statement) => artifact.sigstore(statement.as_ref()),
            (None, Some(statement)) => match statement.subject_sha256s().next() {
                Some(sha256) => Sha256Hash::new(sha256.0).into(),
                None => sha512_artifact(statement.subjects.iter().find_map(|s| s.sha512()).ok_or_else(|| {
                    Rejection::new(
                        Check::Statement,
                        "no subject has a SHA-256 or SHA-512 digest to verify the statement against",
                    )
                })?),
            },
            (None, None) => {
                return Err(Rejection::new(
                    Check::Artifact,
                    "the bundle signs an artifact directly: the artifact (or its digest) is needed to verify it",
                ));
            }
        };

        let certificate = bundle.signing_certificate();
        let (result, signer) = match (key, certificate) {
            (Some(key), None) => {
                let result = self.run(bundle, subject, &PublicKeyVerificationPolicy::new(key.der.clone()))?;
                (result, Signer::Key(key.as_signer()))
            }
            (None, Some(der)) => {
                let result = self.run(bundle, subject, &VerificationPolicy::any_identity())?;
                let info = result
                    .certificate()
                    .ok_or_else(|| Rejection::new(Check::Certificate, "verified bundle reports no certificate"))?;
                let signer = CertificateSigner::from_certificate(der, info)
                    .map_err(|detail| Rejection::new(Check::Certificate, detail))?;
                (result, Signer::Certificate(signer))
            }
            (None, None) => {
                return Err(Rejection::new(
                    Check::Identity,
                    "the bundle is signed with a managed key, but no public key was given to verify it with",
                ));
            }
            (Some(key), Some(_)) => {
                return Err(Rejection::new(
                    Check::Identity,
                    format!("expected a signature by {}, found a certificate", key.as_signer().fingerprint()),
                ));
            }
        };

        let content = match (statement, artifact) {
            (Some(statement), _) => SignedContent::Statement(statement),
            (None, Some(artifact)) => SignedContent::ArtifactSignature { sha256: artifact.sha256() },
            (None, None) => unreachable!("a message signature without an artifact was refused above"),
        };
        Ok(VerifiedBundle {
            signer,
            log_entries: log_entries(bundle),
            signing_times: result.verified_timestamps().to_vec(),
            content,
        })
    }

    fn run(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        policy: &impl Policy,
    ) -> Result<VerificationResult, Rejection> {
        self.verifier.verify(artifact, bundle.sigstore(), policy).map_err(Rejection::from)
    }
}

fn log_entries(bundle: &Bundle) -> Vec<LogEntry> {
    bundle
        .sigstore()
        .verification_material
        .tlog_entries
        .iter()
        .map(|entry| LogEntry {
            log_index: entry.log_index.get(),
            kind: format!("{}/{}", entry.kind_version.kind(), entry.kind_version.version()),
            integrated_time: entry.integrated_time.filter(|_| entry.inclusion_promise.is_some()),
        })
        .collect()
}
