//! Files on disk against the package that installed them (as `debsums` does): a file whose
//! digest is not its package's is reported, and never allowed because of it (the package's
//! digest is what is recorded). Conffiles are reported apart: the admin may change them.
use std::{collections::BTreeMap, path::Path};

use provgate_sbom::DigestRecord;

use crate::hashing::hash_file;

#[derive(Debug, Default)]
pub struct Differences {
    /// Files whose content is not the package's: `path: why`.
    pub modified: Vec<String>,
    /// Conffiles the admin changed.
    pub conffiles_changed: Vec<String>,
    /// Files of the package not on disk (excluded by dpkg's path-exclude, diverted, removed).
    pub missing: usize,
    pub checked: usize,
}

/// Compares each record of a package (absolute paths as dpkg installs them) with the file at
/// that path under `root`.
pub fn compare(root: &Path, records: &[DigestRecord], conffiles: &BTreeMap<String, String>) -> Differences {
    let mut found = Differences::default();
    for record in records {
        let Some(path) = record.path.as_deref() else { continue };
        let on_disk = root.join(path.trim_start_matches('/'));
        let meta = match std::fs::symlink_metadata(&on_disk) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                found.missing += 1;
                continue;
            }
            Err(e) => {
                found.modified.push(format!("{path}: {e}"));
                continue;
            }
        };
        found.checked += 1;
        let why = if !meta.is_file() {
            Some("no longer a regular file".to_owned())
        } else {
            match hash_file(&on_disk) {
                Ok(hashed) if hashed.digest == record.sha256 => None,
                Ok(hashed) => Some(format!("{} on disk, {} in the package", hashed.digest, record.sha256)),
                Err(e) => Some(e.to_string()),
            }
        };
        if let Some(why) = why {
            let list = if conffiles.contains_key(path) { &mut found.conffiles_changed } else { &mut found.modified };
            list.push(format!("{path}: {why}"));
        }
    }
    found
}
