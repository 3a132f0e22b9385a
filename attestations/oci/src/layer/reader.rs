//! One layer blob, from bytes to tar members: size and digest checked on every byte that
//! passes, decompression bounded by ratio and by the image's total, then the tar walk.
use std::{
    cell::RefCell,
    io::{self, Read},
    rc::Rc,
    sync::atomic::{AtomicU64, Ordering},
};

use sha2::{Digest as _, Sha256};

use super::{
    LayerStats,
    tar_walk::{self, LayerChanges},
};
use crate::{digest::Digest, limits::Limits, manifest::Descriptor};

const BUFFER: usize = 256 << 10;

/// How a layer blob is compressed, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// OCI layer types (also the non-distributable ones) and Docker's.
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        let oci = media_type
            .strip_prefix("application/vnd.oci.image.layer.v1.")
            .or_else(|| media_type.strip_prefix("application/vnd.oci.image.layer.nondistributable.v1."));
        match oci {
            Some("tar") => Some(Self::None),
            Some("tar+gzip") => Some(Self::Gzip),
            Some("tar+zstd") => Some(Self::Zstd),
            Some(_) => None,
            None => match media_type {
                "application/vnd.docker.image.rootfs.diff.tar.gzip"
                | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Self::Gzip),
                "application/vnd.docker.image.rootfs.diff.tar" => Some(Self::None),
                _ => None,
            },
        }
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
    #[error(
        "decompresses to more than {max} bytes from {compressed} compressed bytes (more than {ratio} times, beyond the first {allowance} bytes): refusing a decompression bomb"
    )]
    Bomb { max: u64, compressed: u64, ratio: u64, allowance: u64 },
    #[error("the image's layers decompress to more than {max} bytes in all")]
    TotalTooLarge { max: u64 },
    #[error("{format} data is corrupt: {detail}")]
    Decompress { format: &'static str, detail: String },
    #[error("not a valid tar stream: {0}")]
    Tar(String),
    #[error("member {path:?}: {problem}")]
    Member { path: String, problem: String },
    #[error("more than {max} tar members")]
    TooManyMembers { max: u64 },
    #[error("reading the blob: {0}")]
    Transport(String),
}

/// Why a reader deep in the chain stopped. Decompressors and the tar reader turn our I/O errors
/// into their own; the reason is kept here so the message stays ours.
type Stop = Rc<RefCell<Option<LayerError>>>;

fn stop_with(stop: &Stop, error: LayerError) -> io::Error {
    let message = error.to_string();
    stop.borrow_mut().get_or_insert(error);
    io::Error::other(message)
}

/// Counts and hashes every byte of the blob, refusing more than the descriptor declares.
struct BlobReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    declared: u64,
    stop: Stop,
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

/// Counts decompressed bytes against the layer's ratio bound and the image's total.
struct Inflated<'a, R> {
    inner: R,
    count: u64,
    max: u64,
    compressed: u64,
    limits: &'a Limits,
    total: &'a AtomicU64,
    stop: Stop,
    format: &'static str,
}

impl<R: Read> Read for Inflated<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                if self.stop.borrow().is_none() {
                    return Err(stop_with(
                        &self.stop,
                        LayerError::Decompress { format: self.format, detail: e.to_string() },
                    ));
                }
                return Err(e);
            }
        };
        self.count += n as u64;
        if self.count > self.max {
            let error = if self.max == self.limits.max_total_bytes {
                LayerError::TotalTooLarge { max: self.limits.max_total_bytes }
            } else {
                LayerError::Bomb {
                    max: self.max,
                    compressed: self.compressed,
                    ratio: self.limits.max_ratio,
                    allowance: self.limits.ratio_allowance,
                }
            };
            return Err(stop_with(&self.stop, error));
        }
        let total = self.total.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limits.max_total_bytes {
            return Err(stop_with(&self.stop, LayerError::TotalTooLarge { max: self.limits.max_total_bytes }));
        }
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
    let compression = Compression::of_media_type(&descriptor.media_type)
        .ok_or_else(|| LayerError::MediaType(descriptor.media_type.clone()))?;
    if descriptor.size() > limits.max_layer_bytes {
        return Err(LayerError::TooLarge { declared: descriptor.size(), max: limits.max_layer_bytes });
    }
    let stop: Stop = Rc::default();
    let mut blob =
        BlobReader { inner: blob, hasher: Sha256::new(), read: 0, declared: descriptor.size(), stop: stop.clone() };
    let (format, decompressed): (&'static str, Box<dyn Read + '_>) = match compression {
        Compression::None => ("tar", Box::new(&mut blob)),
        // Several gzip members in a row are one stream, as Go's reader (and so Docker) reads them.
        Compression::Gzip => ("gzip", Box::new(flate2::read::MultiGzDecoder::new(&mut blob))),
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::new(&mut blob)
                .map_err(|e| LayerError::Decompress { format: "zstd", detail: e.to_string() })?;
            // A frame may ask for a window of up to 2 GiB; 128 MiB (zstd's default maximum
            // for streaming) bounds the decoder's memory whatever the frame says.
            decoder.window_log_max(27).map_err(|e| LayerError::Decompress { format: "zstd", detail: e.to_string() })?;
            ("zstd", Box::new(decoder))
        }
    };
    let mut inflated = Inflated {
        inner: decompressed,
        count: 0,
        max: limits.max_uncompressed(descriptor.size()),
        compressed: descriptor.size(),
        limits,
        total,
        stop: stop.clone(),
        format,
    };
    // The tar reader asks for 512-byte headers and skips content in 8 KiB reads: a buffer in
    // between lets the decompressor fill large blocks instead.
    let mut buffered = io::BufReader::with_capacity(BUFFER, &mut inflated);
    let outcome = tar_walk::walk(&mut buffered, limits).and_then(|changes| {
        // The tar end marker need not be the end of the stream: the rest (padding, or anything
        // else) is read too, within the same bounds, so the digest covers every byte.
        io::copy(&mut buffered, &mut io::sink()).map_err(|e| LayerError::Tar(e.to_string()))?;
        Ok(changes)
    });
    drop(buffered);
    let uncompressed = inflated.count;
    drop(inflated);
    // A reason recorded deep in the chain is the true one; the error that surfaced is its echo.
    let outcome = match stop.borrow_mut().take() {
        Some(reason) => Err(complete_digest_error(reason, descriptor)),
        None => outcome,
    };
    let (changes, mut stats) = match outcome {
        Ok(found) => found,
        // Bounds and transport failures end the read at once.
        Err(
            e @ (LayerError::Bomb { .. }
            | LayerError::TotalTooLarge { .. }
            | LayerError::TooManyMembers { .. }
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
