//! Archives read while they stream, never extracted: nothing is written to disk, so no member
//! can land outside a directory, and no link is ever followed.
//!
//! One home for what an image's layers and a package's contents share: the bounds
//! ([`limits`]), bounded decompression ([`bounded`]), the tar member walk that hashes files as
//! they pass ([`tar_walk`]); and the packages themselves ([`package`]: npm tarballs, Python
//! wheels and sdists, zip, tar, deb and rpm), whose every file becomes a record of the signed
//! package. The library never prints; it logs through `tracing`.
pub mod bounded;
mod error;
pub mod limits;
pub mod package;
pub mod tar_walk;

pub use bounded::Compression;
pub use error::ArchiveError;
pub use limits::Limits;
pub use package::{Package, PackageFile, PackageFormat, read_package};
pub use tar_walk::{FileNode, Hash, Links, Node, Rules, WalkStats};
