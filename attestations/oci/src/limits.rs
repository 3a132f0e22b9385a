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
/// One tar member's name, link target, GNU long name or PAX header: Linux's PATH_MAX is 4096;
/// PAX headers also carry xattrs, so they get more room.
pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_PAX_BYTES: usize = 1 << 20;

/// The bounds an operator may change (`provgate image add --max-...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Compressed size of one layer, as its descriptor declares it (and as it must then be).
    pub max_layer_bytes: u64,
    /// Uncompressed bytes of all layers of the image together.
    pub max_total_bytes: u64,
    /// How many times its compressed size one layer may decompress to, beyond
    /// [`Limits::ratio_allowance`]: what stops a decompression bomb long before the total bound.
    pub max_ratio: u64,
    /// Uncompressed bytes any layer may have whatever its ratio, so that tiny layers of text
    /// (which compress very well) are not mistaken for bombs.
    pub ratio_allowance: u64,
    /// Tar members of one layer.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_layer_bytes: 8 << 30,
            max_total_bytes: 32 << 30,
            max_ratio: 100,
            ratio_allowance: 64 << 20,
            max_entries: 1_000_000,
        }
    }
}

impl Limits {
    /// The uncompressed bytes a layer of `compressed` bytes may have.
    pub fn max_uncompressed(&self, compressed: u64) -> u64 {
        compressed.saturating_mul(self.max_ratio).max(self.ratio_allowance).min(self.max_total_bytes)
    }
}
