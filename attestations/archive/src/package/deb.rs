//! A Debian package: an ar archive of `debian-binary`, `control.tar[.gz|.xz|.zst]` and
//! `data.tar[.gz|.xz|.zst]`, read in that order as dpkg requires. The files of data.tar are
//! recorded at the paths dpkg installs them to (`/usr/bin/foo`); the control members other than
//! `control` itself (maintainer scripts, conffiles, md5sums, ...) at the paths dpkg keeps them
//! under, `/var/lib/dpkg/info/PACKAGE.NAME` (`PACKAGE:ARCH.NAME` for a `Multi-Arch: same`
//! package), since dpkg runs the scripts from there.
use std::{
    fs::File,
    io::{self, Read},
    rc::Rc,
    sync::atomic::AtomicU64,
};

use super::{Hashed, Package, PackageFile, PackageFormat, Tree, metadata, too_many};
use crate::{
    ArchiveError, Compression,
    bounded::Stop,
    limits::Limits,
    tar_walk::{Hash, Links, Node, Rules, walk_compressed},
};

const BUFFER: usize = 256 << 10;
/// A package is installed at `/`: absolute links name paths of the same system.
const RULES: Rules = Rules { hash: Hash::Every, links: Links::Anywhere };

fn format_error(detail: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Format { format: "deb", detail: detail.to_string() }
}

/// The compression a member's name says (`data.tar.xz`); dpkg-deb names them so.
fn compression(name: &str, stem: &str) -> Result<Compression, ArchiveError> {
    match name.strip_prefix(stem) {
        Some("") => Ok(Compression::None),
        Some(".gz") => Ok(Compression::Gzip),
        Some(".xz") => Ok(Compression::Xz),
        Some(".zst") => Ok(Compression::Zstd),
        _ => Err(format_error(format!("member {name}: a compression provgate does not read (gzip, xz, zstd or none)"))),
    }
}

pub(super) fn read(file: File, size: u64, limits: &Limits) -> Result<Package, ArchiveError> {
    let stop: Stop<ArchiveError> = Rc::default();
    let mut archive = ar::Archive::new(io::BufReader::with_capacity(BUFFER, Hashed::new(file, stop.clone())));
    let total = AtomicU64::new(0);
    let mut members = 0u64;
    let mut control: Option<(Vec<PackageFile>, Vec<u8>)> = None;
    let mut data = None;
    let mut ar_members = 0u64;
    let failed = |e: io::Error, stop: &Stop<ArchiveError>| stop.borrow_mut().take().unwrap_or_else(|| format_error(e));
    while let Some(entry) = archive.next_entry() {
        let entry = entry.map_err(|e| failed(e, &stop))?;
        ar_members += 1;
        too_many(ar_members, limits)?;
        let name = String::from_utf8_lossy(entry.header().identifier()).trim_end_matches('/').to_owned();
        let compressed = entry.header().size();
        // control.tar and data.tar: compressed as their names say, bounded by their own size.
        let walk_member = |entry, stem: &str, keep: &dyn Fn(&str) -> bool| {
            walk_compressed(entry, compression(&name, stem)?, compressed, limits, &total, &stop, RULES, keep)
        };
        if ar_members == 1 {
            let mut version = Vec::new();
            entry.take(64).read_to_end(&mut version).map_err(|e| failed(e, &stop))?;
            if name != "debian-binary" || !version.starts_with(b"2.") {
                return Err(format_error("its first member is not debian-binary of format 2.x"));
            }
        } else if name.starts_with("control.tar") {
            if control.is_some() {
                return Err(format_error("two control members"));
            }
            let (walked, _) = walk_member(entry, "control.tar", &|p| p == "control")?;
            members += walked.stats.members;
            let fields = walked
                .kept
                .into_iter()
                .next()
                .map(|(_, c)| c)
                .ok_or_else(|| format_error("control.tar has no control file"))?;
            let files = walked
                .members
                .into_iter()
                .filter_map(|(path, node)| match node {
                    Node::File(f) if path != "control" && !path.contains('/') => {
                        Some(PackageFile { path, sha256: f.sha256?, size: f.size, mode: f.mode })
                    }
                    _ => None,
                })
                .collect();
            control = Some((files, fields));
        } else if name.starts_with("data.tar") {
            if control.is_none() {
                return Err(format_error("data.tar comes before control.tar"));
            }
            if data.is_some() {
                return Err(format_error("two data members"));
            }
            let (walked, _) = walk_member(entry, "data.tar", &crate::tar_walk::keep_none)?;
            members += walked.stats.members;
            too_many(members, limits)?;
            data = Some(walked.members);
        }
        // Anything else (a debsig signature, `_gpgorigin`) installs nothing; it is hashed with
        // the rest of the archive all the same.
    }
    let input = archive.into_inner().map_err(|e| failed(e, &stop))?;
    let (sha256, read) = input.into_inner().finish()?;
    let (Some((scripts, fields)), Some(data)) = (control, data) else {
        return Err(format_error("no data.tar member"));
    };
    let fields = metadata::headers(&fields, &["Package", "Version", "Architecture", "Multi-Arch"]);
    let name = fields[0].clone().ok_or_else(|| format_error("its control file names no Package"))?;
    // dpkg names the info files of a Multi-Arch: same package with its architecture.
    let info_name = match (&fields[2], fields[3].as_deref()) {
        (Some(arch), Some("same")) => format!("{name}:{arch}"),
        _ => name.clone(),
    };
    let mut tree = Tree::default();
    tree.apply(data, "/")?;
    for script in scripts {
        tree.insert(PackageFile { path: format!("/var/lib/dpkg/info/{info_name}.{}", script.path), ..script });
    }
    Ok(Package {
        format: PackageFormat::Deb,
        name: Some(name),
        version: fields[1].clone(),
        files: tree.into_files(),
        sha256,
        compressed_bytes: read.max(size),
        uncompressed_bytes: total.into_inner(),
        members,
    })
}
