//! apt's lists: each `*_InRelease` and the `Packages` indexes beside it, named as apt names them
//! (the URI and path with `/` turned to `_`, the index kept plain or compressed).
use std::path::{Path, PathBuf};

/// One signed release and its package indexes.
#[derive(Debug)]
pub struct ListedRelease {
    pub in_release: PathBuf,
    /// Each index file and its path in the release (`main/binary-amd64/Packages`).
    pub indexes: Vec<(PathBuf, String)>,
}

/// apt's lists directory under `root`.
pub fn lists_dir(root: &Path) -> PathBuf {
    root.join("var/lib/apt/lists")
}

const COMPRESSIONS: [&str; 5] = [".lz4", ".gz", ".xz", ".zst", ".bz2"];

/// The releases of apt's lists under `root`, sorted by name. Releases signed apart (`Release`
/// and `Release.gpg`) are not read: Debian's archives all publish InRelease.
pub fn releases(root: &Path) -> anyhow::Result<Vec<ListedRelease>> {
    let dir = lists_dir(root);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| anyhow::anyhow!("{}: apt's lists: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut found = Vec::new();
    for release in names.iter().filter(|n| n.ends_with("_InRelease")) {
        let prefix = release.trim_end_matches("InRelease");
        let indexes = names
            .iter()
            .filter_map(|name| {
                let rest = name.strip_prefix(prefix)?;
                let plain = COMPRESSIONS.iter().find_map(|c| rest.strip_suffix(c)).unwrap_or(rest);
                plain.ends_with("_Packages").then(|| (dir.join(name), plain.replace('_', "/")))
            })
            .collect();
        found.push(ListedRelease { in_release: dir.join(release), indexes });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::releases;

    #[test]
    fn indexes_beside_their_release() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("var/lib/apt/lists");
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "deb.debian.org_debian_dists_bookworm_InRelease",
            "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
            "deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en",
            "deb.debian.org_debian_dists_bookworm-updates_InRelease",
            "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages",
            "lock",
        ] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let found = releases(root.path()).unwrap();
        assert_eq!(found.len(), 2);
        let bookworm = found.iter().find(|r| r.in_release.ends_with("deb.debian.org_debian_dists_bookworm_InRelease"));
        let indexes: Vec<_> = bookworm.unwrap().indexes.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(indexes, ["main/binary-amd64/Packages"]);
    }
}
