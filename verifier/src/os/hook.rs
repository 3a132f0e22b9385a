//! The apt hook that keeps `os trust` current: dpkg runs `DPkg::Post-Invoke` commands after each
//! run (install, upgrade, removal), and `os trust` then adds the packages that changed and
//! revokes the versions no longer installed; unchanged packages cost a lookup each.
use std::path::{Path, PathBuf};

/// Where the hook goes under `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join("etc/apt/apt.conf.d/80provgate")
}

/// The hook's text: `provgate` (this binary) with this store. A failure is said and never fails
/// apt: the packages are installed by then, and the next run catches up.
pub fn text(provgate: &Path, db: &Path) -> String {
    let exe = provgate.display();
    let db = db.display();
    format!(
        "// Written by `provgate os trust --install-hook`: after dpkg installs, upgrades or removes\n\
         // packages, provgate records the installed packages it can verify from the signed archive\n\
         // (InRelease, Packages, .deb) and revokes the versions no longer installed.\n\
         DPkg::Post-Invoke {{ \"if [ -x {exe} ]; then {exe} --db {db} os trust || echo 'provgate: os trust failed; run it again by hand' >&2; fi\"; }};\n"
    )
}

/// Writes the hook under `root`; returns its path.
pub fn install(root: &Path, provgate: &Path, db: &Path) -> anyhow::Result<PathBuf> {
    let path = path(root);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&path, text(provgate, db)).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(path)
}
