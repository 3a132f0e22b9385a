//! Finding candidate files and hashing them on every core, reusing the file cache.
use std::{
    os::unix::fs::{FileExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::{
    file_stamp::FileStamp,
    filecache::FileCache,
    hashing::{HashError, HashedFile, hash_open_file, open_for_hashing},
    store::CachedFile,
};

pub use provgate_sbom::CANDIDATE_HELP;

/// Whether an open file is a candidate ([`provgate_sbom::is_candidate`]).
pub fn is_candidate_file(file: &std::fs::File, meta: &std::fs::Metadata) -> bool {
    let mut start = [0u8; provgate_sbom::MAGIC_BYTES];
    meta.is_file() && {
        let n = file.read_at(&mut start, 0).unwrap_or(0);
        provgate_sbom::is_candidate(meta.permissions().mode(), &start[..n])
    }
}

/// Regular files under `roots` (a root that is itself a file is taken as is). Symbolic links are
/// never followed. Unreadable directories are reported in `errors`. Whether a file is a
/// candidate is decided while hashing, so each file is opened once.
pub fn files_under(roots: &[PathBuf], errors: &mut Vec<String>) -> Vec<PathBuf> {
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
                // The directory entry's type needs no stat, and is never a followed link.
                match entry.file_type() {
                    Ok(t) if t.is_dir() => stack.push(entry.path()),
                    Ok(t) if t.is_file() => found.push(entry.path()),
                    _ => {}
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
    /// Files that are not candidates (no execute bit, no ELF or `#!` magic): not hashed.
    pub skipped: usize,
    pub hashed: usize,
    pub cache_hits: usize,
    pub bytes_hashed: u64,
}

impl ScanStats {
    pub fn add(&mut self, other: &Self) {
        self.files += other.files;
        self.skipped += other.skipped;
        self.hashed += other.hashed;
        self.cache_hits += other.cache_hits;
        self.bytes_hashed += other.bytes_hashed;
    }
}

/// Which files to hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Every file given (they were named explicitly).
    All,
    /// Only candidates (see [`CANDIDATE_HELP`]).
    Candidates,
}

/// Scans are mostly waiting on the disk when the page cache is cold: more threads than cores
/// keep more reads in flight; hashing itself still runs on every core.
fn scan_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads((cores * 4).max(8))
            .thread_name(|i| format!("provgate-scan-{i}"))
            .build()
            .expect("scan thread pool")
    })
}

enum Outcome {
    Hashed(Hashed),
    NotCandidate,
}

/// Hashes `paths` in parallel, skipping files whose stamp is in `cache` (and, with
/// [`Select::Candidates`], files that are not candidates); new digests are added to the cache.
/// Returns the results (in no particular order), the errors and the counts.
pub fn hash_paths(
    paths: &[PathBuf],
    select: Select,
    cache: &mut FileCache,
    progress: Option<&ProgressBar>,
) -> (Vec<Hashed>, Vec<HashError>, ScanStats) {
    let bytes = AtomicU64::new(0);
    let hits = AtomicUsize::new(0);
    let results: Vec<Result<Outcome, HashError>> = {
        let cache = &*cache;
        scan_pool().install(|| {
            paths
                .par_iter()
                .map(|path| {
                    let result = hash_one(path, select, cache, &hits, &bytes);
                    if let Some(p) = progress {
                        p.inc(1);
                    }
                    result
                })
                .collect()
        })
    };
    let mut hashed = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = 0;
    for result in results {
        match result {
            Ok(Outcome::Hashed(h)) => {
                if !h.from_cache {
                    cache.insert(CachedFile {
                        stamp: h.file.stamp,
                        digest: h.file.digest,
                        path: h.path.display().to_string(),
                    });
                }
                hashed.push(h);
            }
            Ok(Outcome::NotCandidate) => skipped += 1,
            Err(e) => errors.push(e),
        }
    }
    let cache_hits = hits.load(Ordering::Relaxed);
    let stats = ScanStats {
        files: paths.len(),
        skipped,
        hashed: hashed.len() - cache_hits,
        cache_hits,
        bytes_hashed: bytes.load(Ordering::Relaxed),
    };
    (hashed, errors, stats)
}

fn hash_one(
    path: &Path,
    select: Select,
    cache: &FileCache,
    hits: &AtomicUsize,
    bytes: &AtomicU64,
) -> Result<Outcome, HashError> {
    let meta = std::fs::metadata(path).map_err(|e| HashError::from_io(path, e))?;
    let stamp = FileStamp::of(&meta);
    // Only candidates are ever cached, so a hit needs no second look at the content.
    if meta.is_file()
        && let Some(digest) = cache.digest(&stamp)
    {
        hits.fetch_add(1, Ordering::Relaxed);
        return Ok(Outcome::Hashed(Hashed {
            path: path.to_owned(),
            file: HashedFile { digest, stamp },
            from_cache: true,
        }));
    }
    let file = open_for_hashing(path)?;
    if select == Select::Candidates {
        let meta = file.metadata().map_err(|e| HashError::from_io(path, e))?;
        if !is_candidate_file(&file, &meta) {
            return Ok(Outcome::NotCandidate);
        }
    }
    let hashed = hash_open_file(&file, path)?;
    bytes.fetch_add(hashed.stamp.size as u64, Ordering::Relaxed);
    Ok(Outcome::Hashed(Hashed { path: path.to_owned(), file: hashed, from_cache: false }))
}

/// Files hashed between two saves of the file cache: a scan killed midway resumes from the last
/// save instead of hashing everything again.
const CHECKPOINT_FILES: usize = 512;

/// [`hash_paths`] in chunks, saving new cache entries to the store after each.
pub fn hash_paths_checkpointed(
    paths: &[PathBuf],
    select: Select,
    cache: &mut FileCache,
    store: &mut crate::store::Store,
    progress: Option<&ProgressBar>,
) -> crate::store::Result<(Vec<Hashed>, Vec<HashError>, ScanStats)> {
    let mut all = (Vec::new(), Vec::new(), ScanStats::default());
    for chunk in paths.chunks(CHECKPOINT_FILES) {
        let (hashed, errors, stats) = hash_paths(chunk, select, cache, progress);
        cache.save(store)?;
        all.0.extend(hashed);
        all.1.extend(errors);
        all.2.add(&stats);
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
    fn hashes_only_candidates_without_following_links() {
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
        let files = files_under(&[root.to_owned(), root.join("missing")], &mut errors);
        assert_eq!(files.len(), 4, "the symlink is not followed: {files:?}");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("missing"));
        let mut cache = FileCache::default();
        let (hashed, errors, stats) = hash_paths(&files, Select::Candidates, &mut cache, None);
        assert!(errors.is_empty());
        let mut found: Vec<_> = hashed.into_iter().map(|h| h.path).collect();
        found.sort();
        assert_eq!(found, vec![root.join("elf.so"), root.join("run"), root.join("sub/tool")]);
        assert_eq!(stats.skipped, 1, "data.txt");
        // Named explicitly, a non-candidate is hashed too.
        let (hashed, _, _) = hash_paths(&[root.join("data.txt")], Select::All, &mut cache, None);
        assert_eq!(hashed.len(), 1);
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
        let (hashed, errors, stats) = hash_paths(&paths, Select::All, &mut cache, None);
        assert!(errors.is_empty());
        assert_eq!((hashed.len(), stats.hashed, stats.cache_hits), (50, 50, 0));
        assert_eq!(cache.len(), 50);
        let (_, _, stats) = hash_paths(&paths, Select::All, &mut cache, None);
        assert_eq!((stats.hashed, stats.cache_hits, stats.bytes_hashed), (0, 50, 0));
        // A changed file is hashed again, and only it.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&paths[7], "changed").unwrap();
        let (hashed, _, stats) = hash_paths(&paths, Select::All, &mut cache, None);
        assert_eq!((stats.hashed, stats.cache_hits), (1, 49));
        let changed = hashed.iter().find(|h| h.path == paths[7]).unwrap();
        assert_eq!(changed.file.digest, crate::hashing::sha256_reader(&b"changed"[..]).unwrap());
    }
}
