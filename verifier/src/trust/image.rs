//! Images as evidence: resolving a reference, verifying its signatures and attestations with the
//! trust in force, reading its layers; and whether an image digest is trusted already.
use anyhow::Context as _;
use provgate_oci::{Digest, ImageIdentity, ImageOptions, ImageReference, ImageVerifier, RegistryConfig, TrustedImage};

use super::{Refusal, SourceKind, Trust, sbom::PredicateReader};
use crate::store::{SourceSummary, Store};

/// What to fetch and how.
pub struct ImageRequest<'a> {
    pub reference: &'a ImageReference,
    pub options: &'a ImageOptions,
    pub registries: &'a RegistryConfig,
}

/// The image an `image` source trusts, read back from its detail; `None` for other kinds.
pub fn image_of(source: &SourceSummary) -> Option<ImageIdentity> {
    if source.kind != SourceKind::Image {
        return None;
    }
    serde_json::from_value(source.detail.clone()?).ok()
}

/// The result of [`verify_image`].
pub enum ImageOutcome {
    Verified(Box<TrustedImage>),
    /// This digest is trusted already, as that source: nothing was downloaded.
    AlreadyTrusted {
        digest: Digest,
        source: i64,
    },
}

/// Resolves the image and, unless its digest is trusted already, verifies it: a signer the
/// policy lets sign images must have signed its digest; SBOM attestations are read as
/// documents of the format their predicate type names.
pub fn verify_image(
    store: &Store,
    trust: &Trust,
    request: ImageRequest<'_>,
) -> anyhow::Result<Result<ImageOutcome, Refusal>> {
    let images = ImageVerifier {
        verifier: &trust.verifier,
        policy: &trust.policy,
        sbom: &PredicateReader,
        registries: request.registries,
    };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    let resolved = match runtime.block_on(images.resolve(request.reference, &request.options.platform)) {
        Ok(resolved) => resolved,
        Err(e) => return Ok(Err(Refusal(e.to_string()))),
    };
    // A digest already trusted is not downloaded again: `sources verify` re-checks its
    // signatures, and `image rm` then `image add` ingests it anew.
    let trusted = store.sources()?.into_iter().find(|s| image_of(s).is_some_and(|i| i.digest == resolved.digest));
    if let Some(source) = trusted {
        return Ok(Ok(ImageOutcome::AlreadyTrusted { digest: resolved.digest, source: source.id }));
    }
    Ok(match runtime.block_on(images.verify_resolved(resolved, request.options)) {
        Ok(image) => Ok(ImageOutcome::Verified(Box::new(image))),
        Err(e) => Err(Refusal(e.to_string())),
    })
}
