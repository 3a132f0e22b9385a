//! Finding and hashing the files whose verdicts go into the kernel map. Results are cached by
//! path and stamp, so a rescan after new trust arrives hashes only what changed.
use std::{
    collections::{HashMap, HashSet},
    io::Read as _,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use provgate_common::{FileKey, Verdict};

use crate::{
    hashing::{HashError, HashedFile, Sha256Digest, hash_file},
    identity::FileStamp,
};

/// What counts as a candidate for execution when scanning a root: regular files that are ELF
/// objects, `#!` scripts, or have any execute bit. Files named by a source are always hashed.
pub const CANDIDATE_HELP: &str =
    "regular files that are ELF objects (\\x7fELF), #! scripts, or have an execute bit";

pub fn is_candidate(path: &Path, meta: &std::fs::Metadata) -> bool {
    if !meta.is_file() {
        return false;
    }
    if meta.permissions().mode() & 0o111 != 0 {
        return true;
    }
    let mut magic = [0u8; 4];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = file.read(&mut magic).unwrap_or(0);
    magic[..n].starts_with(b"\x7fELF") || magic[..n].starts_with(b"#!")
}

#[derive(Default)]
pub struct Scanner {
    cache: HashMap<PathBuf, HashedFile>,
    pub hashed_files: u64,
    pub hashed_bytes: u64,
}

#[derive(Default, Debug)]
pub struct ScanOutcome {
    pub verdicts: HashMap<FileKey, Verdict>,
    pub files_seen: usize,
    pub allowed_files: usize,
    pub errors: Vec<String>,
}

impl Scanner {
    /// Hashes (or reuses the cached digest of) a file whose stamp has not changed.
    pub fn hash(&mut self, path: &Path) -> Result<HashedFile, HashError> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => HashError::NotFound { path: path.to_owned() },
            _ => HashError::Io { path: path.to_owned(), source: e },
        })?;
        let stamp = FileStamp::of(&meta);
        if let Some(cached) = self.cache.get(path).filter(|c| c.stamp == stamp) {
            return Ok(*cached);
        }
        let hashed = hash_file(path)?;
        self.hashed_files += 1;
        self.hashed_bytes += hashed.stamp.size as u64;
        self.cache.insert(path.to_owned(), hashed);
        Ok(hashed)
    }

    /// Hashes `files` and every candidate under `roots`; a file whose digest is in `allowed`
    /// gets an allow verdict for its current stamp.
    pub fn scan(&mut self, files: &[PathBuf], roots: &[PathBuf], allowed: &HashSet<Sha256Digest>) -> ScanOutcome {
        let mut outcome = ScanOutcome::default();
        let visit = |scanner: &mut Self, path: &Path, outcome: &mut ScanOutcome| {
            outcome.files_seen += 1;
            match scanner.hash(path) {
                Ok(h) if allowed.contains(&h.digest) => {
                    outcome.allowed_files += 1;
                    outcome.verdicts.insert(h.stamp.key, h.stamp.allow_verdict());
                }
                Ok(_) => {}
                Err(e) => outcome.errors.push(e.to_string()),
            }
        };
        for file in files {
            visit(self, file, &mut outcome);
        }
        for root in roots {
            let mut stack = vec![root.clone()];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) => {
                        outcome.errors.push(format!("{}: {e}", dir.display()));
                        continue;
                    }
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    // symlink_metadata: never follow links out of the root.
                    let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
                    if meta.is_dir() {
                        stack.push(path);
                    } else if is_candidate(&path, &meta) {
                        visit(self, &path, &mut outcome);
                    }
                }
            }
        }
        // Keep the cache to what still exists.
        self.cache.retain(|p, _| p.exists());
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_candidates_and_allows_only_known_digests() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/tool"), b"#!/bin/sh\necho hi\n").unwrap();
        std::fs::write(root.join("data.txt"), b"not code").unwrap();
        std::fs::write(root.join("elf.so"), b"\x7fELF....").unwrap();
        std::fs::write(root.join("run"), b"binary-ish").unwrap();
        std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("/bin/sh", root.join("link")).unwrap();

        let mut scanner = Scanner::default();
        let allowed: HashSet<_> = [hash_file(&root.join("sub/tool")).unwrap().digest].into();
        let outcome = scanner.scan(&[], &[root.to_owned()], &allowed);
        assert_eq!(outcome.files_seen, 3, "tool, elf.so and run; not data.txt or the symlink");
        assert_eq!(outcome.allowed_files, 1);
        assert_eq!(outcome.verdicts.len(), 1);
        let hashed = scanner.hashed_files;

        // Rescan: nothing changed, nothing re-hashed.
        scanner.scan(&[], &[root.to_owned()], &allowed);
        assert_eq!(scanner.hashed_files, hashed);
        // A changed file is re-hashed and no longer matches.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(root.join("sub/tool"), b"#!/bin/sh\necho changed\n").unwrap();
        let outcome = scanner.scan(&[], &[root.to_owned()], &allowed);
        assert_eq!(scanner.hashed_files, hashed + 1);
        assert_eq!(outcome.allowed_files, 0);
    }
}
