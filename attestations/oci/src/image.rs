//! Deciding whether an image is trusted, and what it then contributes to the allowlist:
//! resolve the reference to a digest (a tag is pinned; an index resolves to one platform),
//! require a signature by a signer the trust policy lets sign images, read the attestations
//! about it, and hash the candidate files of its layers.
use std::fmt;

use provgate_attestations::{BundleVerifier, DigestRecord, SbomReader, SignedContent, TrustPolicy, VerifiedProvenance};
use serde_json::{Value, json};

pub use crate::limits::Limits;
use crate::{
    client::{RegistryError, Repository},
    digest::Digest,
    ingest,
    layer::{ImageFile, LayerError, LayerStats},
    manifest::{Descriptor, ImageManifest, Manifest},
    reference::{ImageReference, Platform},
    registries::RegistryConfig,
    signed::SignedEvidence,
    signed::{self, Binding, FindError, Location, Signed},
};

/// What to read of an image, and within which bounds.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// The platform an index resolves to.
    pub platform: Platform,
    /// Hash the candidate files of the layers (else only SBOM attestations contribute).
    pub layer_contents: bool,
    pub limits: Limits,
    /// Layers read at once.
    pub concurrency: usize,
}

impl Default for ImageOptions {
    fn default() -> Self {
        Self {
            platform: Platform::default(),
            layer_contents: true,
            limits: Limits::default(),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// The steps of [`ImageVerifier::verify`], as errors name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Connect,
    Resolve,
    Signatures,
    Attestations,
    Layer { index: usize, count: usize, digest: Digest },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Connect => f.write_str("connecting to the registry"),
            Step::Resolve => f.write_str("resolving the reference"),
            Step::Signatures => f.write_str("checking signatures"),
            Step::Attestations => f.write_str("reading attestations"),
            Step::Layer { index, count, digest } => write!(f, "reading layer {} of {count} ({digest})", index + 1),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Binding(#[from] Binding),
    #[error("the index has no image for {wanted} (it has: {available})")]
    NoPlatform { wanted: Platform, available: String },
    #[error("the index at {0} points to another index; only one level is supported")]
    NestedIndex(Digest),
    #[error("{0}")]
    Untrusted(String),
    #[error("{location}: reading the {format} SBOM: {detail}")]
    Sbom { location: Location, format: &'static str, detail: String },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("nothing to allow: layer contents were not asked for and no trusted SBOM attestation lists files")]
    Nothing,
}

#[derive(Debug, thiserror::Error)]
#[error("image {image}: {step}: {problem}")]
pub struct ImageError {
    pub image: String,
    pub step: Step,
    pub problem: Box<Problem>,
}

/// A signature or attestation that verified and whose signer the policy trusts for it.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub location: Location,
    /// The digest it is about: the image's, or its index's.
    pub subject: Digest,
    pub provenance: VerifiedProvenance,
    /// What it takes to verify it again.
    pub evidence: SignedEvidence,
}

/// A signature or attestation found but not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUsed {
    pub location: Location,
    pub subject: Digest,
    pub reason: String,
}

/// An image a trusted signer signed, with what it contributes.
#[derive(Debug)]
pub struct TrustedImage {
    /// As asked for.
    pub reference: ImageReference,
    /// The image manifest's digest: what the allowlist source is tied to.
    pub digest: Digest,
    /// The index the reference named, when it named one.
    pub index: Option<(Digest, Platform)>,
    pub signatures: Vec<Accepted>,
    pub attestations: Vec<Accepted>,
    pub not_used: Vec<NotUsed>,
    /// Candidate files of the layers (empty unless layer contents were asked for).
    pub files: Vec<ImageFile>,
    /// Files the trusted SBOM attestations list.
    pub sbom_files: Vec<DigestRecord>,
    pub layers: usize,
    pub layer_stats: LayerStats,
    pub layer_seconds: f64,
}

impl TrustedImage {
    /// `registry/repository@sha256:…`, the name of the exact image trusted.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.reference.name(), self.digest)
    }

    /// What to keep with the image's source to verify it again later (see [`ImageEvidence`]).
    pub fn evidence(&self) -> ImageEvidence {
        ImageEvidence {
            image: self.pinned(),
            signatures: self.signatures.iter().map(|a| a.evidence.clone()).collect(),
            attestations: self.attestations.iter().map(|a| a.evidence.clone()).collect(),
        }
    }

    /// The first accepted signature: whom the source names as its signer.
    pub fn signature(&self) -> &Accepted {
        &self.signatures[0]
    }

    /// Every digest the image vouches for, once per (digest, path).
    pub fn allowlist(&self) -> Vec<DigestRecord> {
        let mut seen = std::collections::HashSet::new();
        self.files
            .iter()
            .map(|f| DigestRecord { sha256: f.sha256, path: Some(f.path.clone()), package: None })
            .chain(self.sbom_files.iter().cloned())
            .filter(|d| seen.insert((d.sha256, d.path.clone())))
            .collect()
    }

    /// Which image this is, as its source's `detail` records it.
    pub fn identity(&self) -> ImageIdentity {
        ImageIdentity {
            reference: self.reference.to_string(),
            name: self.reference.name(),
            tag: self.reference.tag().map(str::to_owned),
            digest: self.digest,
            index_digest: self.index.as_ref().map(|(d, _)| *d),
            platform: self.index.as_ref().map(|(_, p)| p.to_string()),
        }
    }

    /// The record the store keeps in the source's `detail`: the [`ImageIdentity`] and what the
    /// image was trusted on.
    pub fn detail(&self) -> Value {
        let accepted = |a: &Accepted| {
            let mut detail = a.provenance.detail();
            detail["found"] = a.location.to_string().into();
            detail["subject"] = a.subject.to_string().into();
            detail
        };
        let signature = self.signature();
        let entry = signature.provenance.bundle.log_entries.first();
        let mut detail = json!({
            "signer": signature.provenance.bundle.signer.identity(),
            "issuer": signature.provenance.bundle.signer.issuer(),
            "log_index": entry.map(|e| e.log_index),
            "integrated_time": entry.and_then(|e| e.integrated_time).map(|t| t.to_string()),
            "signatures": self.signatures.iter().map(accepted).collect::<Vec<_>>(),
            "attestations": self.attestations.iter().map(accepted).collect::<Vec<_>>(),
            "not_used": self.not_used.iter().map(|n| json!({ "found": n.location.to_string(), "subject": n.subject.to_string(), "reason": n.reason })).collect::<Vec<_>>(),
            "layers": self.layers,
            "layer_contents": self.layer_stats,
            "files": self.files.len(),
            "sbom_files": self.sbom_files.len(),
        });
        if let (Some(detail), Ok(Value::Object(identity))) =
            (detail.as_object_mut(), serde_json::to_value(self.identity()))
        {
            detail.extend(identity);
        }
        detail
    }
}

/// Which image a source trusts: written into the source's detail by [`TrustedImage::detail`] and
/// read back from it (unknown keys ignored) to list and remove images.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageIdentity {
    pub reference: String,
    pub name: String,
    pub tag: Option<String>,
    pub digest: Digest,
    pub index_digest: Option<Digest>,
    pub platform: Option<String>,
}

/// An image pinned to its digest, with the connection that pinned it.
pub struct ResolvedImage {
    repository: Repository,
    pub digest: Digest,
    manifest: ImageManifest,
    index: Option<(Digest, Platform)>,
}

/// Verifies images against one trusted root and one trust policy.
pub struct ImageVerifier<'a, R> {
    pub verifier: &'a BundleVerifier,
    pub policy: &'a TrustPolicy,
    /// Reads the SBOMs of SBOM attestations (provgate-sbom, through the attestations crate's seam).
    pub sbom: &'a R,
    pub registries: &'a RegistryConfig,
}

impl<R: SbomReader> ImageVerifier<'_, R> {
    /// Everything `reference` contributes, if a trusted signer signed it; otherwise why not.
    /// Nothing is kept of a refused image.
    pub async fn verify(&self, reference: &ImageReference, options: &ImageOptions) -> Result<TrustedImage, ImageError> {
        let resolved = self.resolve(reference, &options.platform).await?;
        self.verify_resolved(resolved, options).await
    }

    /// Connects to the registry and pins `reference` to the digest of its image manifest for
    /// `platform`, without reading signatures or layers: enough to tell whether it is trusted
    /// already, before [`Self::verify_resolved`] reads the rest over the same connection.
    pub async fn resolve(&self, reference: &ImageReference, platform: &Platform) -> Result<ResolvedImage, ImageError> {
        let fail = failure(reference);
        let repository =
            Repository::connect(reference, self.registries).await.map_err(|e| fail(Step::Connect)(e.into()))?;
        let (digest, manifest, index) = resolve(&repository, reference, platform).await.map_err(fail(Step::Resolve))?;
        tracing::info!(image = %reference, %digest, "resolved");
        Ok(ResolvedImage { repository, digest, manifest, index })
    }

    /// [`Self::verify`] of an image already resolved.
    pub async fn verify_resolved(
        &self,
        resolved: ResolvedImage,
        options: &ImageOptions,
    ) -> Result<TrustedImage, ImageError> {
        let ResolvedImage { repository, digest, manifest, index } = resolved;
        let reference = repository.reference();
        let fail = failure(reference);

        let subjects: Vec<Digest> = std::iter::once(digest).chain(index.as_ref().map(|(d, _)| *d)).collect();
        let mut found = Vec::new();
        for subject in &subjects {
            found.extend(signed::find(&repository, *subject).await.map_err(|e| {
                fail(Step::Signatures)(match e {
                    FindError::Registry(e) => e.into(),
                    FindError::Binding(e) => e.into(),
                })
            })?);
        }
        let mut image = TrustedImage {
            reference: reference.clone(),
            digest,
            index,
            signatures: Vec::new(),
            attestations: Vec::new(),
            not_used: Vec::new(),
            files: Vec::new(),
            sbom_files: Vec::new(),
            layers: manifest.layers.len(),
            layer_stats: LayerStats::default(),
            layer_seconds: 0.0,
        };
        let mut attestations = Vec::new();
        for item in found {
            let (location, subject) = (item.location, item.subject);
            let outcome = match item.signed {
                Err(reason) => Err(reason),
                Ok(Signed::Signature { bundle, artifact, statement }) => {
                    let evidence = SignedEvidence::signature(&bundle, &artifact, statement, subject);
                    signed::verify_signature(self.verifier, self.policy, &bundle, &artifact, statement, subject)
                        .map(|provenance| {
                            image.signatures.push(Accepted {
                                location: location.clone(),
                                subject,
                                provenance,
                                evidence,
                            })
                        })
                        .map_err(|r| format!("signature: {r}"))
                }
                Ok(Signed::Attestation { bundle, predicate_type }) => {
                    let evidence = SignedEvidence::attestation(&bundle, subject);
                    signed::verify_attestation(self.verifier, self.policy, &bundle, subject)
                        .map(|provenance| {
                            attestations.push(Accepted { location: location.clone(), subject, provenance, evidence })
                        })
                        .map_err(|r| format!("attestation ({predicate_type}): {r}"))
                }
            };
            if let Err(reason) = outcome {
                tracing::warn!(image = %reference, %location, reason, "not used");
                image.not_used.push(NotUsed { location, subject, reason });
            }
        }
        if image.signatures.is_empty() {
            return Err(fail(Step::Signatures)(Problem::Untrusted(untrusted(&image, &subjects, self.policy))));
        }

        for attestation in attestations {
            let files = self.sbom_files(&attestation).map_err(fail(Step::Attestations))?;
            image.sbom_files.extend(files);
            image.attestations.push(attestation);
        }

        if options.layer_contents {
            let count = manifest.layers.len();
            let layers =
                ingest::read_layers(&repository, &manifest.layers, options.limits, options.concurrency).await.map_err(
                    |(index, e)| fail(Step::Layer { index, count, digest: manifest.layers[index].digest })(e.into()),
                )?;
            image.files = layers.files.candidates().collect();
            image.layer_stats = layers.stats;
            image.layer_seconds = layers.seconds;
        } else if image.sbom_files.is_empty() {
            return Err(fail(Step::Attestations)(Problem::Nothing));
        }
        Ok(image)
    }

    /// The files an accepted SBOM attestation lists. Its subjects (the image) are not files.
    fn sbom_files(&self, attestation: &Accepted) -> Result<Vec<DigestRecord>, Problem> {
        let SignedContent::Statement(statement) = &attestation.provenance.bundle.content else {
            return Ok(Vec::new());
        };
        let subjects: Vec<Digest> = statement.subject_sha256s().collect();
        let mut files = attestation.provenance.allowlist(self.sbom).map_err(|e| match e {
            provgate_attestations::AllowlistError::Sbom { format, source } => {
                Problem::Sbom { location: attestation.location.clone(), format, detail: source.to_string() }
            }
            other => Problem::Untrusted(format!("{}: {other}", attestation.location)),
        })?;
        files.retain(|file| !subjects.contains(&file.sha256));
        Ok(files)
    }
}

/// Makes the error of one step of checking `reference`.
fn failure(reference: &ImageReference) -> impl Fn(Step) -> Box<dyn Fn(Problem) -> ImageError> {
    let image = reference.to_string();
    move |step: Step| {
        let image = image.clone();
        Box::new(move |problem: Problem| ImageError {
            image: image.clone(),
            step: step.clone(),
            problem: Box::new(problem),
        })
    }
}

/// The image manifest `reference` names: directly, or through an index for `platform`.
async fn resolve(
    repository: &Repository,
    reference: &ImageReference,
    platform: &Platform,
) -> Result<(Digest, ImageManifest, Option<(Digest, Platform)>), Problem> {
    let fetched = repository.manifest(&reference.manifest_reference()).await?;
    match fetched.manifest {
        Manifest::Image(manifest) => Ok((fetched.digest, *manifest, None)),
        Manifest::Index(index) => {
            let entry: &Descriptor = index.select(platform).ok_or_else(|| Problem::NoPlatform {
                wanted: platform.clone(),
                available: index.platforms().join(", "),
            })?;
            let chosen = repository.manifest(&entry.digest.to_string()).await?;
            match chosen.manifest {
                Manifest::Image(manifest) => Ok((chosen.digest, *manifest, Some((fetched.digest, platform.clone())))),
                Manifest::Index(_) => Err(Problem::NestedIndex(chosen.digest)),
            }
        }
    }
}

/// Why no signature made the image trusted: every signature found and why it was not used, or
/// where none was found. Attestations that were not used are left out: they cannot sign.
fn untrusted(image: &TrustedImage, subjects: &[Digest], policy: &TrustPolicy) -> String {
    let reasons: Vec<String> = image
        .not_used
        .iter()
        .filter(|n| !n.reason.starts_with("attestation"))
        .map(|n| format!("{}: {}", n.location, n.reason))
        .collect();
    if reasons.is_empty() {
        let looked: Vec<String> = subjects
            .iter()
            .map(|s| format!("cosign tag {}.sig and OCI referrers of {s}", crate::digest::tag_prefix(*s)))
            .collect();
        return format!("not signed: no signature found (looked for {})", looked.join("; "));
    }
    format!("no signature by a signer {} trusts to sign images: {}", policy.origin(), reasons.join(" | "))
}

/// The signatures and attestations an image was trusted on, stored with its source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageEvidence {
    /// `registry/repository@sha256:…`
    pub image: String,
    pub signatures: Vec<SignedEvidence>,
    pub attestations: Vec<SignedEvidence>,
}

impl ImageEvidence {
    /// Verifies the image's trust again, offline: at least one of its signatures must still
    /// verify and be authorized, and every attestation it took files from must too. Returns a
    /// one-line account of what passed, or of what failed.
    pub fn verify(&self, verifier: &BundleVerifier, policy: &TrustPolicy) -> Result<String, String> {
        let mut signed_by = None;
        let mut failures = Vec::new();
        for signature in &self.signatures {
            match signature.verify(verifier, policy) {
                Ok(verified) => {
                    signed_by.get_or_insert_with(|| verified.bundle.signer.identity());
                }
                Err(rejection) => failures.push(format!("signature: {rejection}")),
            }
        }
        let Some(signer) = signed_by else {
            return Err(format!("no signature passes any more ({})", failures.join("; ")));
        };
        for attestation in &self.attestations {
            attestation
                .verify(verifier, policy)
                .map_err(|rejection| format!("an attestation no longer passes: {rejection}"))?;
        }
        Ok(format!("{} signed by {signer}; {} attestations pass", self.image, self.attestations.len()))
    }
}
