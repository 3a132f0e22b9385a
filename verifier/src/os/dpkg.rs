//! What dpkg says is installed: the packages of its status file whose state is `installed`,
//! with their conffiles (files the admin may change, which dpkg keeps on upgrades).
use std::{
    collections::BTreeMap,
    fs::File,
    io::BufReader,
    path::{Path, PathBuf},
};

use anyhow::Context as _;

use super::deb822::Paragraphs;

/// One installed package, as dpkg records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// Conffiles and the MD5 dpkg recorded for each (`newconffile` before its first configure).
    pub conffiles: BTreeMap<String, String>,
}

impl Installed {
    /// `name version arch`: the name of the one source that vouches for this package.
    pub fn label(&self) -> String {
        format!("{} {} {}", self.name, self.version, self.architecture)
    }

    /// The name apt gives this package's `.deb` in its cache (`:` in a version is `%3a`).
    pub fn deb_file_name(&self) -> String {
        format!("{}_{}_{}.deb", self.name, self.version.replace(':', "%3a"), self.architecture)
    }
}

/// The status file under `root`.
pub fn status_path(root: &Path) -> PathBuf {
    root.join("var/lib/dpkg/status")
}

/// The installed packages of the status file under `root`, by name then architecture.
pub fn installed(root: &Path) -> anyhow::Result<Vec<Installed>> {
    let path = status_path(root);
    let file = File::open(&path).with_context(|| format!("{}: dpkg's status file", path.display()))?;
    let mut found = Vec::new();
    for paragraph in Paragraphs::new(BufReader::new(file), &path) {
        let paragraph = paragraph?;
        // `install ok installed`, `hold ok installed`: the third word is the package's state.
        let installed = paragraph.get("Status").and_then(|s| s.split_whitespace().nth(2)) == Some("installed");
        if !installed {
            continue;
        }
        let field = |name: &str| {
            paragraph.get(name).map(str::to_owned).with_context(|| {
                format!("{}, line {}: an installed package without {name}", path.display(), paragraph.line)
            })
        };
        let conffiles = paragraph
            .lines("Conffiles")
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                Some((words.next()?.to_owned(), words.next()?.to_owned()))
            })
            .collect();
        found.push(Installed {
            name: field("Package")?,
            version: field("Version")?,
            architecture: field("Architecture")?,
            conffiles,
        });
    }
    found.sort_by(|a, b| (&a.name, &a.architecture).cmp(&(&b.name, &b.architecture)));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::installed;

    #[test]
    fn only_installed_packages_with_their_conffiles() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
        let status = "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n\n\
                      Package: kept\nStatus: install ok installed\nVersion: 1:2.3-4\nArchitecture: all\n\
                      Conffiles:\n /etc/kept.conf 0f343b0931126a20f133d67c2b018a3b\n\n\
                      Package: held\nStatus: hold ok installed\nVersion: 5\nArchitecture: amd64\n";
        std::fs::write(root.path().join("var/lib/dpkg/status"), status).unwrap();
        let found = installed(root.path()).unwrap();
        assert_eq!(found.iter().map(|p| p.label()).collect::<Vec<_>>(), ["held 5 amd64", "kept 1:2.3-4 all"]);
        assert_eq!(found[1].deb_file_name(), "kept_1%3a2.3-4_all.deb");
        assert_eq!(found[1].conffiles["/etc/kept.conf"], "0f343b0931126a20f133d67c2b018a3b");
    }
}
