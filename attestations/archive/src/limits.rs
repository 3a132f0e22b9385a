//! The one set of bounds on what an archive may make us decompress, hash and hold: an image's
//! layers and a package's contents are read under the same [`Limits`]. Everything an archive
//! holds is untrusted until its signature is verified, and read after that is still whatever the
//! signer published: a tar stream or a zip must not make us allocate, recurse or decompress
//! without limit.

/// One tar member's name, link target, GNU long name or PAX header: Linux's PATH_MAX is 4096;
/// PAX headers also carry xattrs, so they get more room.
pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_PAX_BYTES: usize = 1 << 20;
/// A package's metadata file (package.json, METADATA, PKG-INFO, a deb's control) is read whole
/// to find the package's name and version; real ones are a few kilobytes.
pub const MAX_METADATA_BYTES: u64 = 1 << 20;

/// The bounds an operator may change (`provgate image add --max-...`, `provgate register
/// --max-...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Compressed size of one layer, or of one package archive.
    pub max_layer_bytes: u64,
    /// Uncompressed bytes of all layers of an image, or of everything in a package, together.
    pub max_total_bytes: u64,
    /// How many times its compressed size one compressed stream (a layer, a package, a zip
    /// entry, a deb's data.tar) may decompress to, beyond [`Limits::ratio_allowance`]: what
    /// stops a decompression bomb long before the total bound.
    pub max_ratio: u64,
    /// Uncompressed bytes any stream may have whatever its ratio, so that small archives of text
    /// (which compress very well) are not mistaken for bombs.
    pub ratio_allowance: u64,
    /// Members of one layer, or of one package (all its archives together).
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
    /// The uncompressed bytes a stream of `compressed` bytes may have.
    pub fn max_uncompressed(&self, compressed: u64) -> u64 {
        compressed.saturating_mul(self.max_ratio).max(self.ratio_allowance).min(self.max_total_bytes)
    }
}
