//! Container images as a source of trust for provgate.
//!
//! [`ImageVerifier::verify`] takes an image reference to a [`TrustedImage`]: the tag pinned to
//! a digest (an index resolved to one platform), a signature by a signer the trust policy lets
//! sign images (cosign's `.sig` tag, or an OCI 1.1 referrer holding a Sigstore bundle), the
//! attestations about the image (cosign's `.att` tag, referrers), the files its SBOM
//! attestations list, and the candidate files of its layers, hashed while the layers stream in.
//!
//! Modules, one job each: [`reference`] (references, platforms), [`registries`] (credentials,
//! plain HTTP), [`client`] (one repository: bounded requests), [`manifest`] (manifests and
//! indexes), [`cosign`] (cosign's formats as Sigstore bundles), [`signed`] (finding and
//! verifying signatures and attestations), [`layer`] (tar layers: bounds, whiteouts, hard
//! links), [`ingest`] (layers from the network into the reader), [`image`] (all of it),
//! [`feed`] (trust feeds: signed evidence as OCI 1.1 artifacts listed under a tag).
//! The library never prints; it logs through `tracing`.
pub mod client;
pub mod cosign;
pub mod credential_helper;
pub mod digest;
pub mod feed;
pub mod image;
pub mod ingest;
pub mod layer;
pub mod limits;
pub mod manifest;
pub mod reference;
pub mod registries;
pub mod signed;

pub use digest::Digest;
pub use image::{
    Accepted, ImageError, ImageEvidence, ImageIdentity, ImageOptions, ImageVerifier, NotUsed, Problem, ResolvedImage,
    Step, TrustedImage,
};
pub use limits::Limits;
pub use reference::{ImageReference, Platform, ReferenceError};
pub use registries::{RegistryConfig, RegistryConfigError};
pub use signed::SignedEvidence;
