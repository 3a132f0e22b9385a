//! Where an installed package's `.deb` is: apt's cache under the root, or provgate's own cache,
//! where `apt-get download` fetches it through apt's configured sources (only for the running
//! system: another root's sources are not this apt's). What was fetched is checked against the
//! verified index like any other `.deb`; apt's own checks are not relied on.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

use super::dpkg::Installed;

/// apt's cache of downloaded packages under `root`.
pub fn apt_cache(root: &Path) -> PathBuf {
    root.join("var/cache/apt/archives")
}

/// The `.deb` of `package` if one of the caches has it.
pub fn find(root: &Path, cache_dir: &Path, package: &Installed) -> Option<PathBuf> {
    let name = package.deb_file_name();
    [apt_cache(root).join(&name), cache_dir.join(&name)].into_iter().find(|p| p.is_file())
}

/// Downloads `packages` into `cache_dir` with `apt-get download` (several per call; one at a
/// time again if a call fails, so one package apt cannot fetch does not stop the others).
/// Returns, for each package that could not be fetched, why.
pub fn download(cache_dir: &Path, packages: &[&Installed]) -> Vec<(String, String)> {
    if packages.is_empty() {
        return Vec::new();
    }
    if let Err(e) = std::fs::create_dir_all(cache_dir) {
        return packages.iter().map(|p| (p.label(), format!("{}: {e}", cache_dir.display()))).collect();
    }
    if apt_get(cache_dir, packages).is_ok() {
        return Vec::new();
    }
    packages.iter().filter_map(|p| apt_get(cache_dir, &[p]).err().map(|why| (p.label(), why))).collect()
}

fn apt_get(cache_dir: &Path, packages: &[&Installed]) -> Result<(), String> {
    // `name:arch=version` names exactly the installed build; apt takes `:all` too.
    let specs: Vec<String> = packages.iter().map(|p| format!("{}:{}={}", p.name, p.architecture, p.version)).collect();
    tracing::debug!(packages = specs.len(), dir = %cache_dir.display(), "apt-get download");
    let output = Command::new("apt-get")
        .args(["download", "-q"])
        .args(&specs)
        .current_dir(cache_dir)
        .output()
        .map_err(|e| format!("apt-get download: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!("apt-get download failed ({}): {}", output.status, stderr.trim().lines().last().unwrap_or("")))
    }
}
