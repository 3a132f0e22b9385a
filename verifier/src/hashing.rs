//! Streaming SHA-256 of files. `sha2` picks the CPU's SHA extensions at run time when present.
use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    os::unix::fs::{FileExt as _, OpenOptionsExt},
    path::{Path, PathBuf},
};

pub use provgate_sbom::Sha256;
use sha2::Digest as _;
use thiserror::Error;

use crate::file_stamp::FileStamp;

#[derive(Debug, Error)]
pub enum HashError {
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    #[error("{path}: is a directory, not a file")]
    Directory { path: PathBuf },
    #[error("{path}: not a regular file")]
    NotRegular { path: PathBuf },
    #[error("{path}: permission denied")]
    PermissionDenied { path: PathBuf },
    #[error("{path}: changed while it was being hashed")]
    Changed { path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl HashError {
    pub fn from_io(path: &Path, source: io::Error) -> Self {
        let path = path.to_owned();
        match source.kind() {
            io::ErrorKind::NotFound => Self::NotFound { path },
            io::ErrorKind::PermissionDenied => Self::PermissionDenied { path },
            io::ErrorKind::IsADirectory => Self::Directory { path },
            _ => Self::Io { path, source },
        }
    }
}

/// The digest of a file together with the stamp it had while being read.
#[derive(Clone, Copy, Debug)]
pub struct HashedFile {
    pub digest: Sha256,
    pub stamp: FileStamp,
}

const BUFFER: usize = 256 * 1024;

pub fn sha256_reader(mut reader: impl Read) -> io::Result<Sha256> {
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; BUFFER];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Sha256(hasher.finalize().into()))
}

/// Hashes a regular file and returns the stamp it had before and after reading; a file that
/// changed meanwhile is an error, so no verdict is ever recorded for content that was not hashed.
pub fn hash_file(path: &Path) -> Result<HashedFile, HashError> {
    hash_open_file(&open_for_hashing(path)?, path)
}

pub fn open_for_hashing(path: &Path) -> Result<File, HashError> {
    // O_NONBLOCK: opening a FIFO must not hang a scan; it is refused as not regular.
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| HashError::from_io(path, e))
}

/// As [`hash_file`], for a file already open (such as a descriptor from fanotify); `path` only
/// names it in errors. Reads with `pread`, so the descriptor's offset is left alone.
pub fn hash_open_file(file: &File, path: &Path) -> Result<HashedFile, HashError> {
    let before = file.metadata().map_err(|e| HashError::from_io(path, e))?;
    if before.is_dir() {
        return Err(HashError::Directory { path: path.to_owned() });
    }
    if !before.is_file() {
        return Err(HashError::NotRegular { path: path.to_owned() });
    }
    let digest = sha256_reader(PositionalReader { file, offset: 0 }).map_err(|e| HashError::from_io(path, e))?;
    let after = file.metadata().map_err(|e| HashError::from_io(path, e))?;
    let stamp = FileStamp::of(&before);
    if stamp != FileStamp::of(&after) {
        return Err(HashError::Changed { path: path.to_owned() });
    }
    Ok(HashedFile { digest, stamp })
}

struct PositionalReader<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for PositionalReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // FIPS 180-2 test vectors.
        assert_eq!(
            sha256_reader(&b"abc"[..]).unwrap().to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_reader(&b""[..]).unwrap().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Larger than one buffer, so the streaming loop runs more than once.
        let big = vec![b'a'; 1_000_000];
        assert_eq!(
            sha256_reader(&big[..]).unwrap().to_hex(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn parses_digests() {
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let d = Sha256::parse_lenient(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d.to_hex(), hex);
        assert_eq!(Sha256::parse_lenient(&hex.to_uppercase()), Some(d));
        assert_eq!(Sha256::parse_lenient("sha256:abc"), None);
        assert_eq!(Sha256::parse_lenient(&"g".repeat(64)), None);
    }

    #[test]
    fn errors_name_the_path_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let e = hash_file(&missing).unwrap_err();
        assert!(matches!(e, HashError::NotFound { .. }));
        assert!(e.to_string().contains("missing"));
        assert!(matches!(hash_file(dir.path()).unwrap_err(), HashError::Directory { .. }));
        assert!(matches!(hash_file(Path::new("/dev/null")).unwrap_err(), HashError::NotRegular { .. }));
    }
}
