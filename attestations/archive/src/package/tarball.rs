//! A package that is a tarball: npm's (`package/...`), a Python sdist (`NAME-VERSION/...`), or
//! any other, plain or compressed (gzip, xz, zstd: told by its first bytes, not its name).
use std::{
    fs::File,
    io::{self, BufRead},
    rc::Rc,
    sync::atomic::AtomicU64,
};

use super::{Hashed, Package, PackageFormat, Tree, metadata};
use crate::{
    ArchiveError, Compression,
    bounded::Stop,
    limits::Limits,
    tar_walk::{Hash, Links, Rules, walk_compressed},
};

const BUFFER: usize = 256 << 10;
const NPM_MANIFEST: &str = "package/package.json";

/// The metadata files a tarball's kind and name are read from.
fn is_metadata(path: &str) -> bool {
    path == NPM_MANIFEST || (path.matches('/').count() == 1 && path.ends_with("/PKG-INFO"))
}

pub(super) fn read(file: File, size: u64, limits: &Limits) -> Result<Package, ArchiveError> {
    let stop: Stop<ArchiveError> = Rc::default();
    let mut input = io::BufReader::with_capacity(BUFFER, Hashed::new(file, stop.clone()));
    let start = input.fill_buf().map_err(|e| stop.borrow_mut().take().unwrap_or(ArchiveError::Io(e.to_string())))?;
    let compression = Compression::sniff(start);
    let total = AtomicU64::new(0);
    // Unpacked into a directory of the user's choosing: links must stay inside it.
    let rules = Rules { hash: Hash::Every, links: Links::InsideTree };
    let (walked, uncompressed) =
        walk_compressed(&mut input, compression, size, limits, &total, &stop, rules, &is_metadata)?;
    let (sha256, read) = input.into_inner().finish()?;
    let (format, name, version) = match walked.kept.iter().find(|(path, _)| path == NPM_MANIFEST) {
        Some((_, manifest)) => {
            let (name, version) = metadata::npm(manifest);
            (PackageFormat::Npm, name, version)
        }
        None => match walked.kept.first() {
            Some((_, pkg_info)) => {
                let (name, version) = metadata::core_metadata(pkg_info);
                (PackageFormat::Sdist, name, version)
            }
            None => (PackageFormat::Tar, None, None),
        },
    };
    let mut tree = Tree::default();
    let members = walked.stats.members;
    tree.apply(walked.members, "")?;
    Ok(Package {
        format,
        name,
        version,
        files: tree.into_files(),
        sha256,
        compressed_bytes: read,
        uncompressed_bytes: uncompressed,
        members,
    })
}
