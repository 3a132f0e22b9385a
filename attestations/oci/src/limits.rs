//! Bounds on what a registry sends. Everything an image brings is untrusted until its signature
//! is verified, and layers are read after that but are still whatever the signer pushed: a
//! manifest, a signature layer or a tar stream must not make us allocate, recurse or decompress
//! without limit.

/// Manifests and indexes are a few kilobytes; containerd refuses those above 4 MiB too.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// Manifests nest descriptors in arrays in objects: five levels, with annotations six.
pub const MAX_MANIFEST_DEPTH: usize = 16;
/// A manifest listing more layers than this is not an image we read (Docker's overlay driver
/// stops at 128; images with a few hundred exist).
pub const MAX_LAYERS: usize = 1000;
/// Per subject digest: signatures, attestations and referrers looked at.
pub const MAX_SIGNED_OBJECTS: usize = 100;
/// A simple-signing payload is a few hundred bytes; its JSON is four levels deep.
pub const MAX_PAYLOAD_BYTES: usize = 64 << 10;
pub const MAX_PAYLOAD_DEPTH: usize = 8;
/// The bounds on what a layer may make us decompress are those of every archive provgate reads.
pub use provgate_archive::limits::{Limits, MAX_PATH_BYTES, MAX_PAX_BYTES};
