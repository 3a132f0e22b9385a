//! One layer blob, from bytes to tar members: size and digest checked on every byte that
//! passes, decompression bounded by ratio and by the image's total, then the tar walk.
use std::{
    io::{self, Read},
    rc::Rc,
    sync::atomic::AtomicU64,
};

pub use provgate_archive::Compression;
use provgate_archive::{
    ArchiveError, Hash, Links, Rules,
    bounded::{Stop, stop_with},
    tar_walk::{keep_none, walk_compressed},
};
use sha2::{Digest as _, Sha256};

use super::{LayerStats, whiteout::LayerChanges};
use crate::{digest::Digest, limits::Limits, manifest::Descriptor};

/// How a layer blob is compressed, from its media type: OCI layer types (also the
/// non-distributable ones) and Docker's.
pub fn compression_of(media_type: &str) -> Option<Compression> {
    let oci = media_type
        .strip_prefix("application/vnd.oci.image.layer.v1.")
        .or_else(|| media_type.strip_prefix("application/vnd.oci.image.layer.nondistributable.v1."));
    match oci {
        Some("tar") => Some(Compression::None),
        Some("tar+gzip") => Some(Compression::Gzip),
        Some("tar+zstd") => Some(Compression::Zstd),
        Some(_) => None,
        None => match media_type {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Compression::Gzip),
            "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            _ => None,
        },
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    #[error("unknown layer media type {0:?}: not a tar layer provgate can read")]
    MediaType(String),
    #[error("{declared} bytes declared, more than the {max} allowed for one layer")]
    TooLarge { declared: u64, max: u64 },
    #[error(
        "the registry sent {actual_size} bytes with digest {actual}, but the manifest names {expected_size} bytes with digest {expected}: the layer was altered or corrupted"
    )]
    Digest { expected: Digest, expected_size: u64, actual: Digest, actual_size: u64 },
    /// The total bound, said of the image: it counts all of its layers together.
    #[error("the image's layers decompress to more than {max} bytes in all")]
    TotalTooLarge { max: u64 },
    /// The bounds, the decompression and the tar walk of one layer.
    #[error(transparent)]
    Archive(ArchiveError),
    #[error("reading the blob: {0}")]
    Transport(String),
}

impl From<ArchiveError> for LayerError {
    fn from(error: ArchiveError) -> Self {
        match error {
            ArchiveError::TotalTooLarge { max } => Self::TotalTooLarge { max },
            other => Self::Archive(other),
        }
    }
}

/// Counts and hashes every byte of the blob, refusing more than the descriptor declares.
struct BlobReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    declared: u64,
    stop: Stop<LayerError>,
}

impl<R: Read> Read for BlobReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return Err(stop_with(&self.stop, LayerError::Transport(e.to_string()))),
        };
        self.read += n as u64;
        if self.read > self.declared {
            // Hash what came so the message can name the digest of what was sent so far.
            self.hasher.update(&buf[..n]);
            let actual = Digest(self.hasher.clone().finalize().into());
            return Err(stop_with(
                &self.stop,
                LayerError::Digest {
                    expected: Digest([0; 32]),
                    expected_size: self.declared,
                    actual,
                    actual_size: self.read,
                },
            ));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads one layer blob from `blob`: what it changes in the image's filesystem, and counts.
/// `descriptor` says how big it is, its digest and its media type; `total` counts the
/// uncompressed bytes of all layers of the image (layers may be read concurrently).
///
/// Members are processed before the blob's digest is known (it is the digest of the whole
/// stream), so the result is returned only once the whole blob has been read and matched.
pub fn read_layer<R: Read>(
    blob: R,
    descriptor: &Descriptor,
    limits: &Limits,
    total: &AtomicU64,
) -> Result<(LayerChanges, LayerStats), LayerError> {
    let compression =
        compression_of(&descriptor.media_type).ok_or_else(|| LayerError::MediaType(descriptor.media_type.clone()))?;
    if descriptor.size() > limits.max_layer_bytes {
        return Err(LayerError::TooLarge { declared: descriptor.size(), max: limits.max_layer_bytes });
    }
    let stop: Stop<LayerError> = Rc::default();
    let mut blob =
        BlobReader { inner: blob, hasher: Sha256::new(), read: 0, declared: descriptor.size(), stop: stop.clone() };
    // An image is a root filesystem: absolute links name its own paths; only candidates are
    // hashed, since most of an image's files are data no interpreter is handed by path.
    let rules = Rules { hash: Hash::Candidates, links: Links::Anywhere };
    let outcome = walk_compressed(&mut blob, compression, descriptor.size(), limits, total, &stop, rules, &keep_none)
        .map_err(|e| complete_digest_error(e, descriptor));
    let (walked, uncompressed) = match outcome {
        Ok(found) => found,
        // Bounds and transport failures end the read at once.
        Err(
            e @ (LayerError::Archive(ArchiveError::Bomb { .. } | ArchiveError::TooManyMembers { .. })
            | LayerError::TotalTooLarge { .. }
            | LayerError::Transport(_)
            | LayerError::Digest { .. }),
        ) => {
            return Err(e);
        }
        // Corrupt data or a bad member may be the work of whoever altered the blob: read the
        // rest of it (compressed, so within its declared size) and say so if its digest is off.
        Err(e) => {
            return Err(match drain(&mut blob, descriptor).map(|()| finish(blob, descriptor)) {
                Ok(Err(digest)) => digest,
                _ => e,
            });
        }
    };
    let mut walk_stats = walked.stats;
    let changes = LayerChanges::of(walked.members, &mut walk_stats)?;
    let mut stats = LayerStats {
        members: walk_stats.members,
        regular_files: walk_stats.regular_files,
        candidates: walk_stats.hashed,
        hashed_bytes: walk_stats.hashed_bytes,
        ..LayerStats::default()
    };
    drain(&mut blob, descriptor)?;
    finish(blob, descriptor)?;
    stats.compressed_bytes = descriptor.size();
    stats.uncompressed_bytes = uncompressed;
    Ok((changes, stats))
}

fn drain<R: Read>(blob: &mut BlobReader<R>, descriptor: &Descriptor) -> Result<(), LayerError> {
    io::copy(blob, &mut io::sink()).map(|_| ()).map_err(|e| {
        let reason = blob.stop.borrow_mut().take();
        reason.map_or_else(|| LayerError::Transport(e.to_string()), |r| complete_digest_error(r, descriptor))
    })
}

/// The blob's size and digest against its descriptor's, once every byte was read.
fn finish<R>(blob: BlobReader<R>, descriptor: &Descriptor) -> Result<(), LayerError> {
    let actual = Digest(blob.hasher.finalize().into());
    if actual != descriptor.digest || blob.read != descriptor.size() {
        return Err(LayerError::Digest {
            expected: descriptor.digest,
            expected_size: descriptor.size(),
            actual,
            actual_size: blob.read,
        });
    }
    Ok(())
}

fn complete_digest_error(error: LayerError, descriptor: &Descriptor) -> LayerError {
    match error {
        LayerError::Digest { actual, actual_size, .. } => {
            LayerError::Digest { expected: descriptor.digest, expected_size: descriptor.size(), actual, actual_size }
        }
        other => other,
    }
}
