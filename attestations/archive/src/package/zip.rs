//! A package that is a zip: a Python wheel, or any zip. A zip's truth is its central directory,
//! at the end (what pip and unzip install from), so it is read from the file, seekable, rather
//! than streamed by its local headers; every entry is bounded all the same: their count, each
//! entry's ratio, and all entries together against the archive's size, which also stops a bomb
//! of entries that overlap the same compressed bytes.
use std::{
    fs::File,
    io::{self, Read, Seek},
    rc::Rc,
    sync::atomic::AtomicU64,
};

use provgate_sbom::Sha256 as Digest;
use sha2::{Digest as _, Sha256};

use super::{Package, PackageFile, PackageFormat, Tree, member, metadata, too_many};
use crate::{
    ArchiveError,
    bounded::{Inflated, Stop},
    limits::{Limits, MAX_METADATA_BYTES, MAX_PATH_BYTES},
    tar_walk::{Hash, hash_member, normalise, stays_inside},
};

const BUFFER: usize = 256 << 10;

fn format_error(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Format { format: "zip", detail: e.to_string() }
}

/// A wheel's metadata: `NAME-VERSION.dist-info/METADATA`.
fn is_wheel_metadata(path: &str) -> bool {
    path.matches('/').count() == 1
        && path.ends_with("/METADATA")
        && path.split('/').next().is_some_and(|d| d.ends_with(".dist-info"))
}

pub(super) fn read(mut file: File, size: u64, format: PackageFormat, limits: &Limits) -> Result<Package, ArchiveError> {
    // Entries are read out of order, so the archive is hashed whole before and after: the
    // contents are those of the archive only if both match (and the caller's verified digest).
    let before = hash_whole(&mut file)?;
    let mut archive = zip::ZipArchive::new(&mut file).map_err(format_error)?;
    let entries = archive.len() as u64;
    too_many(entries, limits)?;
    let stop: Stop<ArchiveError> = Rc::default();
    let total = AtomicU64::new(0);
    let whole_bound = limits.max_uncompressed(size);
    let mut tree = Tree::default();
    let mut buffer = vec![0u8; BUFFER];
    let mut wheel_metadata = None;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(format_error)?;
        let raw = entry.name_raw().to_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let path = normalise(&raw).map_err(|problem| member(&shown, problem))?;
        if entry.encrypted() {
            return Err(member(&shown, "encrypted"));
        }
        if entry.is_dir() {
            tree.apply(vec![(path, crate::Node::Dir)], "")?;
            continue;
        }
        if entry.is_symlink() {
            let mut target = Vec::new();
            (&mut entry)
                .take(MAX_PATH_BYTES as u64 + 1)
                .read_to_end(&mut target)
                .map_err(|e| member(&shown, &e.to_string()))?;
            if target.len() > MAX_PATH_BYTES {
                return Err(member(&shown, "symbolic link target longer than 4096 bytes"));
            }
            // A wheel or a zip is unpacked into a directory: links must stay inside it.
            stays_inside(&path, &target).map_err(|problem| member(&shown, &problem))?;
            tree.apply(vec![(path, crate::Node::Other)], "")?;
            continue;
        }
        let mode = entry.unix_mode().unwrap_or(0o644);
        let compressed = entry.compressed_size();
        let mut inflated = Inflated::new(&mut entry, "zip entry", compressed, limits, &total, stop.clone());
        let reading = |e: io::Error, stop: &Stop<ArchiveError>| {
            stop.borrow_mut().take().unwrap_or_else(|| member(&shown, &format!("reading its content: {e}")))
        };
        let (sha256, file_size) = if format == PackageFormat::Wheel && is_wheel_metadata(&path) {
            let mut content = Vec::new();
            (&mut inflated).take(MAX_METADATA_BYTES).read_to_end(&mut content).map_err(|e| reading(e, &stop))?;
            let sha256 = Digest::of(&content);
            wheel_metadata = Some(content);
            (sha256, inflated.count())
        } else {
            let sha256 = hash_member(&mut inflated, Hash::Every, mode, &mut buffer).map_err(|e| reading(e, &stop))?;
            (sha256.ok_or_else(|| member(&shown, "was not hashed"))?, inflated.count())
        };
        let so_far = total.load(std::sync::atomic::Ordering::Relaxed);
        if so_far > whole_bound {
            return Err(ArchiveError::Bomb {
                max: whole_bound,
                compressed: size,
                ratio: limits.max_ratio,
                allowance: limits.ratio_allowance,
            });
        }
        tree.insert(PackageFile { path, sha256, size: file_size, mode });
    }
    drop(archive);
    let after = hash_whole(&mut file)?;
    if after != before {
        return Err(ArchiveError::Changed { verified: before.to_string(), now: after.to_string() });
    }
    let (name, version) = wheel_metadata.as_deref().map(metadata::core_metadata).unwrap_or_default();
    Ok(Package {
        format,
        name,
        version,
        files: tree.into_files(),
        sha256: after,
        compressed_bytes: size,
        uncompressed_bytes: total.into_inner(),
        members: entries,
    })
}

fn hash_whole(file: &mut File) -> Result<Digest, ArchiveError> {
    file.rewind().map_err(|e| ArchiveError::Io(e.to_string()))?;
    let mut hasher = Sha256::new();
    io::copy(file, &mut hasher).map_err(|e| ArchiveError::Io(e.to_string()))?;
    file.rewind().map_err(|e| ArchiveError::Io(e.to_string()))?;
    Ok(Digest(hasher.finalize().into()))
}
