//! Finding candidate files and hashing them on every core, reusing the file cache.
use std::{
    os::unix::fs::{FileExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::{
    filecache::FileCache,
    hashing::{HashError, HashedFile, hash_file},
    identity::FileStamp,
    store::CachedFile,
};

/// What counts as a candidate for execution when scanning a directory.
pub const CANDIDATE_HELP: &str =
    "regular files that are ELF objects (\\x7fELF), #! scripts, or have an execute bit";

pub fn is_candidate(path: &Path, meta: &std::fs::Metadata) -> bool {
    meta.is_file()
        && (has_exec_bit(meta) || std::fs::File::open(path).is_ok_and(|f| has_code_magic(&f)))
}

/// The same test on an open file (the watcher's descriptors).
pub fn is_candidate_file(file: &std::fs::File, meta: &std::fs::Metadata) -> bool {
    meta.is_file() && (has_exec_bit(meta) || has_code_magic(file))
}

fn has_exec_bit(meta: &std::fs::Metadata) -> bool {
    meta.permissions().mode() & 0o111 != 0
}

fn has_code_magic(file: &std::fs::File) -> bool {
    let mut magic = [0u8; 4];
    let n = file.read_at(&mut magic, 0).unwrap_or(0);
    magic[..n].starts_with(b"\x7fELF") || magic[..n].starts_with(b"#!")
}

/// Candidate files under `roots` (a root that is itself a file is taken as is). Symbolic links
/// are never followed. Unreadable directories are reported in `errors`.
pub fn candidates(roots: &[PathBuf], errors: &mut Vec<String>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for root in roots {
        let meta = match std::fs::symlink_metadata(root) {
            Ok(m) => m,
            Err(e) => {
                errors.push(format!("{}: {e}", root.display()));
                continue;
            }
        };
        if !meta.is_dir() {
            if meta.is_file() {
                found.push(root.clone());
            }
            continue;
        }
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(format!("{}: {e}", dir.display()));
                    continue;
                }
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
                if meta.is_dir() {
                    stack.push(path);
                } else if is_candidate(&path, &meta) {
                    found.push(path);
                }
            }
        }
    }
    found
}

/// One file and its digest, hashed now or found in the cache.
pub struct Hashed {
    pub path: PathBuf,
    pub file: HashedFile,
    pub from_cache: bool,
}

#[derive(Debug, Default)]
pub struct ScanStats {
    pub files: usize,
    pub hashed: usize,
    pub cache_hits: usize,
    pub bytes_hashed: u64,
}

/// Hashes `paths` in parallel, skipping files whose stamp is in `cache`; new digests are added
/// to the cache. Returns the results (in no particular order), the errors and the counts.
pub fn hash_paths(
    paths: &[PathBuf],
    cache: &mut FileCache,
    progress: Option<&ProgressBar>,
) -> (Vec<Hashed>, Vec<HashError>, ScanStats) {
    let bytes = AtomicU64::new(0);
    let hits = AtomicUsize::new(0);
    let results: Vec<Result<Hashed, HashError>> = {
        let cache = &*cache;
        paths
            .par_iter()
            .map(|path| {
                let result = hash_with_cache(path, cache, &hits, &bytes);
                if let Some(p) = progress {
                    p.inc(1);
                }
                result
            })
            .collect()
    };
    let mut hashed = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(h) => {
                if !h.from_cache {
                    cache.insert(CachedFile { stamp: h.file.stamp, digest: h.file.digest, path: h.path.display().to_string() });
                }
                hashed.push(h);
            }
            Err(e) => errors.push(e),
        }
    }
    let cache_hits = hits.load(Ordering::Relaxed);
    let stats = ScanStats {
        files: paths.len(),
        hashed: hashed.len() - cache_hits,
        cache_hits,
        bytes_hashed: bytes.load(Ordering::Relaxed),
    };
    (hashed, errors, stats)
}

fn hash_with_cache(path: &Path, cache: &FileCache, hits: &AtomicUsize, bytes: &AtomicU64) -> Result<Hashed, HashError> {
    let meta = std::fs::metadata(path).map_err(|e| HashError::from_io(path, e))?;
    let stamp = FileStamp::of(&meta);
    if meta.is_file()
        && let Some(digest) = cache.digest(&stamp)
    {
        hits.fetch_add(1, Ordering::Relaxed);
        return Ok(Hashed { path: path.to_owned(), file: HashedFile { digest, stamp }, from_cache: true });
    }
    let file = hash_file(path)?;
    bytes.fetch_add(file.stamp.size as u64, Ordering::Relaxed);
    Ok(Hashed { path: path.to_owned(), file, from_cache: false })
}

/// Files hashed between two saves of the file cache: a scan killed midway resumes from the last
/// save instead of hashing everything again.
const CHECKPOINT_FILES: usize = 512;

/// [`hash_paths`] in chunks, saving new cache entries to the store after each.
pub fn hash_paths_checkpointed(
    paths: &[PathBuf],
    cache: &mut FileCache,
    store: &mut crate::store::Store,
    progress: Option<&ProgressBar>,
) -> crate::store::Result<(Vec<Hashed>, Vec<HashError>, ScanStats)> {
    let mut all = (Vec::with_capacity(paths.len()), Vec::new(), ScanStats::default());
    for chunk in paths.chunks(CHECKPOINT_FILES) {
        let (hashed, errors, stats) = hash_paths(chunk, cache, progress);
        cache.save(store)?;
        all.0.extend(hashed);
        all.1.extend(errors);
        all.2.files += stats.files;
        all.2.hashed += stats.hashed;
        all.2.cache_hits += stats.cache_hits;
        all.2.bytes_hashed += stats.bytes_hashed;
    }
    Ok(all)
}

/// A progress bar on stderr for long scans; hidden when stderr is not a terminal.
pub fn progress_bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_candidates_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/tool"), b"#!/bin/sh\necho hi\n").unwrap();
        std::fs::write(root.join("data.txt"), b"not code").unwrap();
        std::fs::write(root.join("elf.so"), b"\x7fELF....").unwrap();
        std::fs::write(root.join("run"), b"binary-ish").unwrap();
        std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("/bin", root.join("link")).unwrap();
        let mut errors = Vec::new();
        let mut found = candidates(&[root.to_owned(), root.join("missing")], &mut errors);
        found.sort();
        assert_eq!(found, vec![root.join("elf.so"), root.join("run"), root.join("sub/tool")]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("missing"));
    }

    #[test]
    fn hashes_in_parallel_and_never_twice() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..50)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, format!("content {i}")).unwrap();
                p
            })
            .collect();
        let mut cache = FileCache::default();
        let (hashed, errors, stats) = hash_paths(&paths, &mut cache, None);
        assert!(errors.is_empty());
        assert_eq!((hashed.len(), stats.hashed, stats.cache_hits), (50, 50, 0));
        assert_eq!(cache.len(), 50);
        let (_, _, stats) = hash_paths(&paths, &mut cache, None);
        assert_eq!((stats.hashed, stats.cache_hits, stats.bytes_hashed), (0, 50, 0));
        // A changed file is hashed again, and only it.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&paths[7], "changed").unwrap();
        let (hashed, _, stats) = hash_paths(&paths, &mut cache, None);
        assert_eq!((stats.hashed, stats.cache_hits), (1, 49));
        let changed = hashed.iter().find(|h| h.path == paths[7]).unwrap();
        assert_eq!(changed.file.digest, crate::hashing::sha256_reader(&b"changed"[..]).unwrap());
    }
}
