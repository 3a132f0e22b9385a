//! The files of an image, read from its layers while they stream in: nothing is written to
//! disk, so no member can land outside a directory and no link is ever followed.
//!
//! Each layer is a tar stream (plain, gzip or zstd). [`read_layer`] checks the blob's size and
//! digest as it passes, bounds what it decompresses to, walks the tar members, and hashes each
//! candidate file (the bounded decompression and the walk are provgate-archive's, which package
//! contents share) (an execute bit, or `\x7fELF` / `#!` at its start). [`ImageFiles`] then
//! applies the layers in order, with their whiteouts and hard links, to find which files the
//! image's root filesystem ends up holding.
mod filesystem;
mod reader;
mod whiteout;

pub use filesystem::{ImageFile, ImageFiles};
pub use provgate_archive::{ArchiveError, FileNode, Node};
pub use reader::{Compression, LayerError, compression_of, read_layer};
pub use whiteout::LayerChanges;

/// What reading one layer took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LayerStats {
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub members: u64,
    pub regular_files: u64,
    pub candidates: u64,
    pub hashed_bytes: u64,
}

impl std::ops::AddAssign for LayerStats {
    fn add_assign(&mut self, other: Self) {
        self.compressed_bytes += other.compressed_bytes;
        self.uncompressed_bytes += other.uncompressed_bytes;
        self.members += other.members;
        self.regular_files += other.regular_files;
        self.candidates += other.candidates;
        self.hashed_bytes += other.hashed_bytes;
    }
}

#[cfg(test)]
mod tests;
