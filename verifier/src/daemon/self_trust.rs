//! The daemon trusts its own executable and the libraries it has mapped: a daemon restarted
//! under its own enforcement (`--keep-on-exit`) must be able to exec itself, and `provgate`
//! subcommands must run on an enforced host even before provgate is on the allowlist.
use std::{collections::HashMap, os::unix::fs::MetadataExt as _, path::PathBuf};

use provgate_common::{FileKey, Verdict};

use crate::identity::FileStamp;

/// Paths of files mapped executable into this process.
fn executable_mappings() -> Vec<(PathBuf, u64)> {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|line| {
            // address perms offset dev inode path
            let mut fields = line.split_whitespace();
            let perms = fields.nth(1)?;
            let inode: u64 = fields.nth(2)?.parse().ok()?;
            let path = fields.next()?;
            (perms.contains('x') && inode != 0 && path.starts_with('/')).then(|| (PathBuf::from(path), inode))
        })
        .collect()
}

pub fn verdicts() -> HashMap<FileKey, Verdict> {
    let mut out = HashMap::new();
    let exe = std::fs::read_link("/proc/self/exe").ok().and_then(|p| {
        let ino = std::fs::metadata(&p).ok()?.ino();
        Some((p, ino))
    });
    for (path, ino) in exe.into_iter().chain(executable_mappings()) {
        // Only if the path still names the mapped file.
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.ino() == ino
        {
            let stamp = FileStamp::of(&meta);
            out.insert(stamp.key, stamp.allow_verdict());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn trusts_own_executable_and_libraries() {
        let own = super::verdicts();
        let exe = std::fs::metadata("/proc/self/exe").unwrap();
        let stamp = crate::identity::FileStamp::of(&exe);
        assert_eq!(own.get(&stamp.key), Some(&stamp.allow_verdict()));
        assert!(own.len() >= 2, "the executable plus at least libc or the loader");
    }
}
