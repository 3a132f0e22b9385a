//! Finding what is signed about an image digest, and verifying it.
//!
//! Two places hold it: cosign's tags (`sha256-<hex>.sig` with simple-signing layers,
//! `sha256-<hex>.att` with DSSE envelopes), and OCI 1.1 referrers whose layer is a Sigstore
//! bundle (cosign 3, or 2.x with `--new-bundle-format`). A bundle signs the image either with a
//! message signature over the manifest, or with an in-toto statement of cosign's signing
//! predicate about it; any other statement about the image is an attestation.
//!
//! Everything found under an image's digest must be about that digest: an object about another
//! digest there is replayed or misattached, and refuses the image ([`Binding`]). Objects that do
//! not verify, or whose signer the policy does not trust, are only reported: third parties may
//! attach their own.
use std::fmt;

use provgate_attestations::{
    ArtifactRef, Bundle, BundleVerifier, Check, Rejection, SignedContent, Statement, TrustPolicy, VerifiedProvenance,
    Vouching, dsse, verify_and_authorize,
};

use crate::{
    client::{FetchedManifest, RegistryError, Repository},
    cosign::{self, LegacyContent},
    digest::Digest,
    limits::{MAX_PAYLOAD_BYTES, MAX_SIGNED_OBJECTS},
    manifest::{Manifest, media_type},
};

/// The predicate cosign 3 signs images with: an in-toto statement whose subject is the image.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// A DSSE layer or a bundle may carry a large SBOM.
const MAX_BUNDLE_BYTES: u64 = provgate_attestations::limits::MAX_BUNDLE_BYTES as u64;

/// Where a signed object was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Layer `layer` of cosign's tag (`sha256-<hex>.sig` or `.att`).
    CosignTag { tag: String, layer: usize },
    /// The referrer manifest with this digest.
    Referrer { manifest: Digest },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::CosignTag { tag, layer } => write!(f, "{tag} layer {layer}"),
            Location::Referrer { manifest } => write!(f, "referrer {manifest}"),
        }
    }
}

/// An object found under one digest that is about another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{location} is about {about}, not {subject}: a signature or attestation replayed or attached to the wrong image"
)]
pub struct Binding {
    pub location: Location,
    pub subject: Digest,
    pub about: String,
}

/// What an object is, once read.
pub enum Signed {
    /// A signature over the image: verified against `artifact`.
    Signature { bundle: Bundle, artifact: Artifact, statement: bool },
    /// An in-toto statement about the image.
    Attestation { bundle: Bundle, predicate_type: String },
}

/// The artifact a signature signs.
pub enum Artifact {
    /// A simple-signing payload, whose bytes are signed.
    Payload(Vec<u8>),
    /// The image manifest itself, by its digest (the subject).
    Manifest,
}

pub struct Found {
    pub location: Location,
    pub subject: Digest,
    pub signed: Result<Signed, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Binding(#[from] Binding),
}

/// Everything signed about `subject` in `repository`. A signature or attestation whose content
/// is wrong (too large, not what its digest says, unreadable) is found unusable; a registry
/// that cannot be reached fails the search.
pub async fn find(repository: &Repository, subject: Digest) -> Result<Vec<Found>, FindError> {
    let mut found = Vec::new();
    for suffix in ["sig", "att"] {
        let tag = format!("{}.{suffix}", crate::digest::tag_prefix(subject));
        let manifest = match repository.manifest(&tag).await {
            Err(e) if e.is_not_found() => continue,
            fetched => content(fetched)?.and_then(|fetched| match fetched.manifest {
                Manifest::Image(manifest) => Ok(manifest),
                Manifest::Index(_) => Err("an index, not cosign's image manifest".into()),
            }),
        };
        let manifest = match manifest {
            Ok(manifest) => manifest,
            Err(why) => {
                found.push(Found { location: Location::CosignTag { tag, layer: 0 }, subject, signed: Err(why) });
                continue;
            }
        };
        for (layer, descriptor) in manifest.layers.iter().enumerate().take(MAX_SIGNED_OBJECTS) {
            let location = Location::CosignTag { tag: tag.clone(), layer };
            let signed = match (suffix, descriptor.media_type.as_str()) {
                ("sig", media_type::COSIGN_SIMPLE_SIGNING) => {
                    match content(repository.blob(descriptor, MAX_PAYLOAD_BYTES as u64).await)? {
                        Ok(payload) => legacy_signature(&location, subject, &payload, &descriptor.annotations)?,
                        Err(why) => Err(why),
                    }
                }
                ("att", media_type::DSSE_ENVELOPE) => {
                    match content(repository.blob(descriptor, MAX_BUNDLE_BYTES).await)? {
                        Ok(envelope) => legacy_attestation(&location, subject, &envelope, &descriptor.annotations)?,
                        Err(why) => Err(why),
                    }
                }
                (_, other) => {
                    tracing::debug!(%location, media_type = other, "not a cosign signature or attestation layer");
                    continue;
                }
            };
            found.push(Found { location, subject, signed });
        }
    }
    for descriptor in repository.referrers(subject).await?.iter().take(MAX_SIGNED_OBJECTS) {
        let is_bundle =
            descriptor.artifact_type.as_deref().is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"));
        if !is_bundle {
            continue;
        }
        let location = Location::Referrer { manifest: descriptor.digest };
        let signed = referrer(repository, &location, subject, descriptor.digest).await?;
        found.push(Found { location, subject, signed });
    }
    Ok(found)
}

/// What is wrong with one object's content makes that object unusable (`Ok(Err(why))`); the
/// registry failing to answer is an error.
fn content<T>(result: Result<T, RegistryError>) -> Result<Result<T, String>, RegistryError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(
            e @ (RegistryError::TooLarge { .. }
            | RegistryError::DigestMismatch { .. }
            | RegistryError::HeaderDigest { .. }
            | RegistryError::Manifest { .. }
            | RegistryError::Malformed { .. }
            | RegistryError::NotFound { .. }),
        ) => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

/// A `.sig` layer at `location`: its payload must name `subject` (else the image is refused);
/// a payload or annotations that cannot be read make it unusable (`Ok(Err(why))`).
pub fn legacy_signature(
    location: &Location,
    subject: Digest,
    payload: &[u8],
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<Result<Signed, String>, Binding> {
    let parsed = match cosign::parse_simple_signing(payload) {
        Ok(parsed) => parsed,
        Err(e) => return Ok(Err(e.to_string())),
    };
    if parsed.digest() != Some(subject) {
        return Err(Binding {
            location: location.clone(),
            subject,
            about: parsed.manifest_digest.chars().take(100).collect(),
        });
    }
    Ok(cosign::legacy_bundle(LegacyContent::SimpleSigning(payload), annotations)
        .map(|bundle| Signed::Signature { bundle, artifact: Artifact::Payload(payload.to_vec()), statement: false })
        .map_err(|e| e.to_string()))
}

/// An `.att` layer at `location`: its statement must be about `subject`.
pub fn legacy_attestation(
    location: &Location,
    subject: Digest,
    envelope: &[u8],
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<Result<Signed, String>, Binding> {
    let statement = match dsse::envelope_from_slice(envelope).and_then(|e| dsse::statement_of(&e)) {
        Ok(statement) => statement,
        Err(e) => return Ok(Err(e.to_string())),
    };
    check_subject(location, subject, &statement)?;
    Ok(cosign::legacy_bundle(LegacyContent::DsseEnvelope(envelope), annotations)
        .map(|bundle| classify_statement(bundle, &statement))
        .map_err(|e| e.to_string()))
}

async fn referrer(
    repository: &Repository,
    location: &Location,
    subject: Digest,
    manifest: Digest,
) -> Result<Result<Signed, String>, FindError> {
    let manifest = match content(repository.manifest(&manifest.to_string()).await)? {
        Ok(FetchedManifest { manifest: Manifest::Image(manifest), .. }) => manifest,
        Ok(_) => return Ok(Err("an index, not a referrer manifest".into())),
        Err(why) => return Ok(Err(why)),
    };
    match &manifest.subject {
        Some(s) if s.digest == subject => {}
        other => {
            let about = other.as_ref().map_or("no subject".to_owned(), |s| s.digest.to_string());
            return Err(Binding { location: location.clone(), subject, about }.into());
        }
    }
    let Some(layer) = manifest.layers.iter().find(|l| l.media_type.starts_with("application/vnd.dev.sigstore.bundle"))
    else {
        return Ok(Err("no Sigstore bundle layer".into()));
    };
    let bytes = match content(repository.blob(layer, MAX_BUNDLE_BYTES).await)? {
        Ok(bytes) => bytes,
        Err(why) => return Ok(Err(why)),
    };
    let bundle = match Bundle::from_slice(&bytes) {
        Ok(bundle) => bundle,
        Err(e) => return Ok(Err(format!("Sigstore bundle: {e}"))),
    };
    let statement = match bundle.dsse_envelope().map(dsse::statement_of).transpose() {
        Ok(statement) => statement,
        Err(e) => return Ok(Err(e.to_string())),
    };
    Ok(Ok(match statement {
        Some(statement) => {
            check_subject(location, subject, &statement)?;
            classify_statement(bundle, &statement)
        }
        None => Signed::Signature { bundle, artifact: Artifact::Manifest, statement: false },
    }))
}

fn check_subject(location: &Location, subject: Digest, statement: &Statement) -> Result<(), Binding> {
    if statement.subject_sha256s().any(|digest| digest == subject) {
        return Ok(());
    }
    let about: Vec<String> = statement.subject_sha256s().map(|d| d.to_string()).collect();
    let about = if about.is_empty() { "no sha256 subject".to_owned() } else { about.join(", ") };
    Err(Binding { location: location.clone(), subject, about })
}

fn classify_statement(bundle: Bundle, statement: &Statement) -> Signed {
    if statement.predicate_type == COSIGN_SIGN_PREDICATE {
        return Signed::Signature { bundle, artifact: Artifact::Manifest, statement: true };
    }
    Signed::Attestation { bundle, predicate_type: statement.predicate_type.clone() }
}

/// Verifies a signature over the image `subject` and authorizes its signer to sign images,
/// which the policy expresses as `artifact_signatures = true`: signing an image vouches for the
/// code in it, as signing a file vouches for that file.
pub fn verify_signature(
    verifier: &BundleVerifier,
    policy: &TrustPolicy,
    bundle: &Bundle,
    artifact: &Artifact,
    statement: bool,
    subject: Digest,
) -> Result<VerifiedProvenance, Rejection> {
    let artifact = match artifact {
        Artifact::Payload(payload) => ArtifactRef::Bytes(payload),
        Artifact::Manifest => ArtifactRef::Sha256(subject),
    };
    if !statement {
        return verify_and_authorize(verifier, policy, bundle, Some(artifact));
    }
    // A statement of cosign's signing predicate: verified like any statement, then authorized
    // as the image signature it is (the policy cannot name cosign's predicate type).
    let verified = provgate_attestations::verify_signature(verifier, policy, bundle, Some(artifact))?;
    debug_assert!(
        matches!(&verified.content, SignedContent::Statement(s) if s.predicate_type == COSIGN_SIGN_PREDICATE)
    );
    let rule = policy.authorize(&verified.signer, Vouching::ArtifactSignature)?;
    Ok(VerifiedProvenance { authorized_by: rule.name.clone(), bundle: verified })
}

/// Verifies an attestation about the image `subject` and authorizes its signer for its
/// predicate type.
pub fn verify_attestation(
    verifier: &BundleVerifier,
    policy: &TrustPolicy,
    bundle: &Bundle,
    subject: Digest,
) -> Result<VerifiedProvenance, Rejection> {
    verify_and_authorize(verifier, policy, bundle, Some(ArtifactRef::Sha256(subject)))
}

/// What verifying a signature or attestation took, kept with the image's source so that
/// `provgate sources verify` can verify it again offline, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedEvidence {
    /// The Sigstore bundle's JSON, as verified.
    pub bundle: String,
    /// The simple-signing payload a cosign `.sig` signs (base64); `None` when the signature is
    /// over the manifest digest itself.
    pub payload: Option<String>,
    /// A statement of cosign's signing predicate rather than a message signature.
    pub statement: bool,
    /// An attestation rather than a signature.
    pub attestation: bool,
    /// The digest it is about.
    pub subject: String,
}

impl SignedEvidence {
    pub fn signature(bundle: &Bundle, artifact: &Artifact, statement: bool, subject: Digest) -> Self {
        use base64::Engine as _;
        Self {
            bundle: bundle.json().to_owned(),
            payload: match artifact {
                Artifact::Payload(bytes) => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                Artifact::Manifest => None,
            },
            statement,
            attestation: false,
            subject: subject.to_string(),
        }
    }

    pub fn attestation(bundle: &Bundle, subject: Digest) -> Self {
        Self {
            bundle: bundle.json().to_owned(),
            payload: None,
            statement: true,
            attestation: true,
            subject: subject.to_string(),
        }
    }

    /// Verifies it again, with the trusted root and policy given.
    pub fn verify(&self, verifier: &BundleVerifier, policy: &TrustPolicy) -> Result<VerifiedProvenance, Rejection> {
        use base64::Engine as _;
        let bundle =
            Bundle::from_slice(self.bundle.as_bytes()).map_err(|e| Rejection::new(Check::Bundle, e.to_string()))?;
        let subject: Digest =
            self.subject.parse().map_err(|e: crate::digest::DigestError| Rejection::new(Check::Artifact, e.0))?;
        if self.attestation {
            return verify_attestation(verifier, policy, &bundle, subject);
        }
        let artifact = match &self.payload {
            Some(text) => Artifact::Payload(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|e| Rejection::new(Check::Artifact, format!("stored payload: {e}")))?,
            ),
            None => Artifact::Manifest,
        };
        verify_signature(verifier, policy, &bundle, &artifact, self.statement, subject)
    }
}
