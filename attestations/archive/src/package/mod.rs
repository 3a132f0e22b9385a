//! The files of a package, read from its archive while it streams: an npm tarball, a Python
//! wheel or sdist, a zip, a tar (plain, gzip, xz, zstd), a deb or an rpm. Every regular file is
//! hashed (a package's `.js` and `.py` files run through an interpreter with no execute bit and
//! no `#!`), under the bounds of [`Limits`], and the package's name and version are read from
//! its own metadata (package.json, METADATA or PKG-INFO, the deb's control, the rpm's header),
//! else from the file's name.
//!
//! The archive's own SHA-256 is computed from the same bytes the members come from, so that the
//! caller can check that the contents are those of the archive whose signature it verified.
mod deb;
mod metadata;
mod rpm;
mod tarball;
mod zip;

use std::{
    collections::HashMap,
    fs::File,
    io::{self, Read},
    path::Path,
};

use provgate_sbom::Sha256 as Digest;
use sha2::{Digest as _, Sha256};

use crate::{
    ArchiveError,
    bounded::{Stop, stop_with},
    limits::Limits,
    tar_walk::Node,
};

/// What kind of package an archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageFormat {
    /// An npm tarball (`package/package.json` inside).
    Npm,
    Wheel,
    /// A Python source distribution (a tarball with `NAME-VERSION/PKG-INFO`).
    Sdist,
    Zip,
    Tar,
    Deb,
    Rpm,
}

impl PackageFormat {
    /// The kind of archive its file name says; `None` for a file that is no archive provgate
    /// reads (its digest alone is then what a signature vouches for). A tarball's contents then
    /// say whether it is an npm package or an sdist.
    pub fn of_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        let tar_suffixes = [".tgz", ".tar", ".tar.gz", ".tar.xz", ".txz", ".tar.zst", ".tar.zstd", ".tzst"];
        if name.ends_with(".whl") {
            Some(Self::Wheel)
        } else if name.ends_with(".zip") {
            Some(Self::Zip)
        } else if name.ends_with(".deb") || name.ends_with(".udeb") {
            Some(Self::Deb)
        } else if name.ends_with(".rpm") {
            Some(Self::Rpm)
        } else if tar_suffixes.iter().any(|s| name.ends_with(s)) {
            Some(Self::Tar)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Npm => "npm package",
            Self::Wheel => "Python wheel",
            Self::Sdist => "Python sdist",
            Self::Zip => "zip archive",
            Self::Tar => "tarball",
            Self::Deb => "Debian package",
            Self::Rpm => "RPM package",
        }
    }
}

/// One file a package holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// As in the archive, `/`-separated and normalised (`package/index.js`,
    /// `rfc8785/_impl.py`); rooted as installed for a deb or an rpm (`/usr/bin/foo`, a deb's
    /// maintainer scripts under `/var/lib/dpkg/info/`).
    pub path: String,
    pub sha256: Digest,
    pub size: u64,
    pub mode: u32,
}

/// A package's contents.
#[derive(Debug, Clone)]
pub struct Package {
    pub format: PackageFormat,
    pub name: Option<String>,
    pub version: Option<String>,
    /// By path; a later member at the same path replaces an earlier one, as extraction would.
    pub files: Vec<PackageFile>,
    /// The SHA-256 of the archive's bytes the files were read from.
    pub sha256: Digest,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub members: u64,
}

impl Package {
    /// `name@version`, `name`, or nothing.
    pub fn label(&self) -> Option<String> {
        match (&self.name, &self.version) {
            (Some(name), Some(version)) => Some(format!("{name}@{version}")),
            (Some(name), None) => Some(name.clone()),
            _ => None,
        }
    }
}

/// Reads the package at `path` as a `format` archive (from [`PackageFormat::of_name`]).
pub fn read_package(path: &Path, format: PackageFormat, limits: &Limits) -> Result<Package, ArchiveError> {
    let file = File::open(path).map_err(|e| ArchiveError::Io(e.to_string()))?;
    let size = file.metadata().map_err(|e| ArchiveError::Io(e.to_string()))?.len();
    if size > limits.max_layer_bytes {
        return Err(ArchiveError::TooLarge { size, max: limits.max_layer_bytes });
    }
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut package = match format {
        PackageFormat::Npm | PackageFormat::Sdist | PackageFormat::Tar => tarball::read(file, size, limits)?,
        PackageFormat::Wheel | PackageFormat::Zip => zip::read(file, size, format, limits)?,
        PackageFormat::Deb => deb::read(file, size, limits)?,
        PackageFormat::Rpm => rpm::read(file, size, limits)?,
    };
    if package.name.is_none() {
        let (name, version) = metadata::from_file_name(&file_name, package.format);
        package.name = name;
        package.version = version;
    }
    tracing::debug!(
        path = %path.display(), format = package.format.name(), files = package.files.len(),
        uncompressed = package.uncompressed_bytes, "package read"
    );
    Ok(package)
}

/// Reads every byte of the archive once, hashing it; an I/O error is recorded as the reason.
struct Hashed<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    stop: Stop<ArchiveError>,
}

impl<R: Read> Hashed<R> {
    fn new(inner: R, stop: Stop<ArchiveError>) -> Self {
        Self { inner, hasher: Sha256::new(), read: 0, stop }
    }

    /// Reads the rest (anything after the archive's own end), then the digest of it all.
    fn finish(mut self) -> Result<(Digest, u64), ArchiveError> {
        io::copy(&mut self, &mut io::sink())
            .map_err(|e| self.stop.borrow_mut().take().unwrap_or(ArchiveError::Io(e.to_string())))?;
        Ok((Digest(self.hasher.finalize().into()), self.read))
    }
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return Err(stop_with(&self.stop, ArchiveError::Io(e.to_string()))),
        };
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The regular files of a tree walked member by member, hard links resolved to the file they
/// name: what extraction would leave, without extracting.
#[derive(Default)]
struct Tree {
    files: HashMap<String, PackageFile>,
    /// Paths in the order first seen, for a stable listing.
    order: Vec<String>,
}

impl Tree {
    /// Applies one walk's members, each path prefixed with `root` ("" or "/").
    fn apply(&mut self, members: Vec<(String, Node)>, root: &str) -> Result<(), ArchiveError> {
        for (path, node) in members {
            let path = format!("{root}{path}");
            match node {
                Node::File(file) => {
                    // Rules::Every hashes every regular file.
                    let sha256 = file.sha256.ok_or_else(|| member(&path, "was not hashed"))?;
                    self.insert(PackageFile { path, sha256, size: file.size, mode: file.mode });
                }
                Node::HardLink(target) => {
                    let target = format!("{root}{target}");
                    let Some(file) = self.files.get(&target).cloned() else {
                        return Err(member(
                            &path,
                            &format!("hard link to {target:?}, which is no file of the package"),
                        ));
                    };
                    self.insert(PackageFile { path, ..file });
                }
                Node::Dir | Node::Other => {
                    self.files.remove(&path);
                }
            }
        }
        Ok(())
    }

    fn insert(&mut self, file: PackageFile) {
        if !self.files.contains_key(&file.path) {
            self.order.push(file.path.clone());
        }
        self.files.insert(file.path.clone(), file);
    }

    fn into_files(mut self) -> Vec<PackageFile> {
        self.order.into_iter().filter_map(|path| self.files.remove(&path)).collect()
    }
}

fn member(path: &str, problem: &str) -> ArchiveError {
    ArchiveError::Member { path: path.chars().take(300).collect(), problem: problem.to_owned() }
}

fn too_many(members: u64, limits: &Limits) -> Result<(), ArchiveError> {
    if members > limits.max_entries {
        return Err(ArchiveError::TooManyMembers { max: limits.max_entries });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
