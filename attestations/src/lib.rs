//! Signed provenance for provgate: Sigstore bundles verified offline against trusted roots read
//! from files, in-toto statements (SLSA provenance, SPDX and CycloneDX SBOMs), and the
//! operator's trust policy deciding which signers may vouch for code.
//!
//! The flow: [`Bundle::from_file`] → [`BundleVerifier::verify`] (cryptography: who signed) →
//! [`TrustPolicy::authorize`] (is that signer trusted, for this kind of statement) →
//! [`VerifiedProvenance::allowlist`] (the digests vouched for). [`verify_and_authorize`] runs
//! the first three. The library never prints; it logs through `tracing`.
pub mod bundle;
pub mod digests;
pub mod dsse;
pub mod formats;
pub mod key;
pub mod limits;
pub mod policy;
pub mod predicate;
pub mod provenance;
pub mod rejection;
pub mod sbom;
pub mod signer;
pub mod slsa;
pub mod statement;
pub mod trust_root;
pub mod verify;

pub use bundle::{Bundle, BundleError};
pub use digests::{ArtifactDigests, Sha512, Sha512Error};
pub use formats::{Attestation, Attestations, Container, FormatError};
pub use key::{KeyError, PublicKey};
pub use policy::{PolicyError, TrustPolicy, Vouching};
pub use predicate::{CYCLONEDX_BOM, Predicate, PredicateKind, SPDX_DOCUMENT, SYFT_BOM};
pub use provenance::{AllowlistError, VerifiedProvenance, verify_and_authorize, verify_signature};
pub use provgate_sbom::{DigestRecord, SbomFamily, Sha256, Sha256Error};
pub use rejection::{Check, Rejection};
pub use sbom::SbomReader;
pub use signer::{CertificateSigner, CiClaims, SanIdentity, Signer};
pub use statement::{Statement, StatementError, Subject};
pub use trust_root::{TrustRoot, TrustRootError};
pub use verify::{ArtifactRef, BundleVerifier, LogEntry, SignedContent, VerifiedBundle};
