//! The daemon trusts its own executable, so that `provgate` commands, and a daemon restarted
//! under its own enforcement (`--keep-on-exit`, hardened mode), can run before provgate is on
//! the allowlist. Only the executable: the libraries the daemon happens to have loaded
//! (`LD_PRELOAD`, `LD_LIBRARY_PATH`) vouch for nothing outside its own process, which is exempt
//! anyway. The loader and libc it needs come from the allowlist like any other code.
use std::path::Path;

use anyhow::{Context as _, Result};

use super::engine::SelfTrust;
use crate::hashing::hash_file;

pub fn own_executable() -> Result<SelfTrust> {
    // /proc/self/exe opens the very file this process runs, even if it was replaced or removed.
    let exe = Path::new("/proc/self/exe");
    let hashed = hash_file(exe).context("hashing provgate's own executable")?;
    let mut trust = SelfTrust::default();
    trust.files.insert(hashed.stamp.key, hashed.stamp.allow_verdict());
    trust.digests.insert(hashed.digest);
    Ok(trust)
}

#[cfg(test)]
mod tests {
    #[test]
    fn trusts_its_own_executable_only() {
        let own = super::own_executable().unwrap();
        let exe = std::fs::metadata("/proc/self/exe").unwrap();
        let stamp = crate::file_stamp::FileStamp::of(&exe);
        assert_eq!(own.files.len(), 1);
        assert_eq!(own.files.get(&stamp.key), Some(&stamp.allow_verdict()));
        let digest = crate::hashing::hash_file(std::path::Path::new("/proc/self/exe")).unwrap().digest;
        assert_eq!(own.digests.iter().collect::<Vec<_>>(), vec![&digest]);
    }
}
