//! Decompression under bounds: a compressed stream may inflate to at most [`Limits::max_ratio`]
//! times its size (beyond an allowance) and, with every other stream of the same image or
//! package, to at most [`Limits::max_total_bytes`].
use std::{
    cell::RefCell,
    fmt::Display,
    io::{self, Read},
    rc::Rc,
    sync::atomic::{AtomicU64, Ordering},
};

use crate::{ArchiveError, limits::Limits};

/// How a stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    /// From the stream's first bytes (their magic numbers); anything else is taken as
    /// uncompressed, for the reader after it to judge.
    pub fn sniff(start: &[u8]) -> Self {
        if start.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if start.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Self::Xz
        } else if start.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "tar",
            Self::Gzip => "gzip",
            Self::Xz => "xz",
            Self::Zstd => "zstd",
        }
    }

    /// A reader of `input` decompressed. Memory stays bounded whatever the stream asks for.
    pub fn decoder<'a, R: Read + 'a>(self, input: R) -> Result<Box<dyn Read + 'a>, ArchiveError> {
        let corrupt = |e: io::Error| ArchiveError::Decompress { format: self.name(), detail: e.to_string() };
        Ok(match self {
            Self::None => Box::new(input),
            // Several gzip members in a row are one stream, as Go's reader (and so Docker) and
            // GNU tar read them.
            Self::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Self::Xz => {
                // liblzma's default memory limit is none; 512 MiB covers `xz -9` (674 MiB is
                // only the encoder's) with room, and refuses a header asking for more.
                let stream = liblzma::stream::Stream::new_stream_decoder(512 << 20, liblzma::stream::CONCATENATED)
                    .map_err(|e| corrupt(e.into()))?;
                Box::new(liblzma::read::XzDecoder::new_stream(input, stream))
            }
            Self::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::new(input).map_err(corrupt)?;
                // A frame may ask for a window of up to 2 GiB; 128 MiB (zstd's default maximum
                // for streaming) bounds the decoder's memory whatever the frame says.
                decoder.window_log_max(27).map_err(corrupt)?;
                Box::new(decoder)
            }
        })
    }
}

/// Why a reader deep in a chain stopped. Decompressors and the tar and zip readers turn our I/O
/// errors into their own; the reason is kept here so the message stays ours.
pub type Stop<E> = Rc<RefCell<Option<E>>>;

/// Records `error` as the reason (the first one wins) and returns the I/O error to surface.
pub fn stop_with<E: Display>(stop: &Stop<E>, error: E) -> io::Error {
    let message = error.to_string();
    stop.borrow_mut().get_or_insert(error);
    io::Error::other(message)
}

/// Counts decompressed bytes against the stream's ratio bound and the shared total.
pub struct Inflated<'a, R, E> {
    inner: R,
    count: u64,
    max: u64,
    compressed: u64,
    limits: &'a Limits,
    total: &'a AtomicU64,
    stop: Stop<E>,
    format: &'static str,
}

impl<'a, R: Read, E: From<ArchiveError> + Display> Inflated<'a, R, E> {
    /// `inner` yields the decompressed bytes of a `compressed`-byte stream in `format`.
    pub fn new(
        inner: R,
        format: &'static str,
        compressed: u64,
        limits: &'a Limits,
        total: &'a AtomicU64,
        stop: Stop<E>,
    ) -> Self {
        Self { inner, count: 0, max: limits.max_uncompressed(compressed), compressed, limits, total, stop, format }
    }

    /// Decompressed bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl<R: Read, E: From<ArchiveError> + Display> Read for Inflated<'_, R, E> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                if self.stop.borrow().is_none() {
                    let error = ArchiveError::Decompress { format: self.format, detail: e.to_string() };
                    return Err(stop_with(&self.stop, error.into()));
                }
                return Err(e);
            }
        };
        self.count += n as u64;
        if self.count > self.max {
            let error = if self.max == self.limits.max_total_bytes {
                ArchiveError::TotalTooLarge { max: self.limits.max_total_bytes }
            } else {
                ArchiveError::Bomb {
                    max: self.max,
                    compressed: self.compressed,
                    ratio: self.limits.max_ratio,
                    allowance: self.limits.ratio_allowance,
                }
            };
            return Err(stop_with(&self.stop, error.into()));
        }
        let total = self.total.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limits.max_total_bytes {
            let error = ArchiveError::TotalTooLarge { max: self.limits.max_total_bytes };
            return Err(stop_with(&self.stop, error.into()));
        }
        Ok(n)
    }
}
