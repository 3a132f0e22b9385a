//! One daemon per run directory: two would fight over the kernel maps and the API socket.
use std::{
    fs::File,
    io::{Read as _, Seek as _, Write as _},
    path::Path,
};

use anyhow::{Result, bail};

/// Holds an exclusive `flock` on `<run_dir>/daemon.lock` (which holds the pid) until dropped
/// or the process dies.
pub struct DaemonLock(#[allow(dead_code, reason = "held for the lock")] File);

pub fn acquire(run_dir: &Path) -> Result<DaemonLock> {
    std::fs::create_dir_all(run_dir).map_err(|e| anyhow::anyhow!("run directory {}: {e}", run_dir.display()))?;
    let path = run_dir.join("daemon.lock");
    let mut file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            bail!("another provgate daemon (pid {}) is running: {} is locked", holder.trim(), path.display());
        }
        Err(std::fs::TryLockError::Error(e)) => bail!("locking {}: {e}", path.display()),
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(DaemonLock(file))
}
