//! For tests of container images: tar layers built member by member (evil ones too), OCI
//! manifests and indexes, Debian's `docker-registry` started on a loopback port with its own
//! configuration, pushing with oci-client, and cosign-style signatures and attestations (the
//! `.sig`/`.att` tags, and OCI referrers with Sigstore bundles) signed by the private Sigstore
//! of `provgate-attestations-testkit`.
pub mod cosign;
pub mod oci;
pub mod registry;
pub mod tarball;
pub mod token;

pub use oci::{Blob, Image};
pub use registry::{Pusher, Registry};
pub use tarball::Member;
