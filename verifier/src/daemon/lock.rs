//! One daemon per run directory: two would fight over the kernel maps and the status file.
use std::{fs::File, os::fd::AsRawFd as _, path::Path};

use anyhow::{Result, bail};

/// Holds an exclusive `flock` on `<run_dir>/daemon.lock` until dropped (or the process dies).
pub struct DaemonLock(#[allow(dead_code, reason = "held for the lock")] File);

pub fn acquire(run_dir: &Path) -> Result<DaemonLock> {
    std::fs::create_dir_all(run_dir)
        .map_err(|e| anyhow::anyhow!("run directory {}: {e}", run_dir.display()))?;
    let path = run_dir.join("daemon.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // SAFETY: valid descriptor owned by `file`.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let holder = super::status::read(run_dir).map(|s| format!(" (pid {})", s.pid)).unwrap_or_default();
        bail!("another provgate daemon is running{holder}: {} is locked", path.display());
    }
    Ok(DaemonLock(file))
}
