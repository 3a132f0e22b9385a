//! The members of one layer's tar stream, read raw so that every size is ours to bound: GNU
//! long names and PAX headers are read here, each within a few kilobytes, instead of whole by
//! the tar crate. Nothing is written anywhere; regular files that are candidates are hashed as
//! they pass.
use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use tar::{EntryType, PaxExtensions};

use super::{LayerStats, reader::LayerError};
use crate::limits::{Limits, MAX_PATH_BYTES, MAX_PAX_BYTES};

/// What a layer says about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File(FileNode),
    /// A hard link to another path of the image (this layer's, or a lower one's).
    HardLink(String),
    Dir,
    /// A symbolic link, device or FIFO: no content of its own to trust, but it replaces
    /// whatever a lower layer had at this path.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileNode {
    /// The SHA-256 of a candidate file; `None` for a file that is not one.
    pub sha256: Option<Digest>,
    pub size: u64,
    pub mode: u32,
}

/// What one layer changes, in the order of its members. Whiteouts apply to lower layers only
/// (OCI image spec, "Whiteouts"), so they are kept apart from the members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerChanges {
    /// Paths removed (`dir/.wh.name` removes `dir/name`).
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer contents are removed (`dir/.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    pub members: Vec<(String, Node)>,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
const BUFFER: usize = 256 << 10;

/// Metadata that precedes the member it describes.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

pub(super) fn walk<R: Read>(stream: R, limits: &Limits) -> Result<(LayerChanges, LayerStats), LayerError> {
    let mut archive = tar::Archive::new(stream);
    let tar_error = |e: io::Error| LayerError::Tar(e.to_string());
    let entries = archive.entries().map_err(tar_error)?.raw(true);
    let mut changes = LayerChanges::default();
    let mut stats = LayerStats::default();
    let mut pending = Pending::default();
    let mut buffer = vec![0u8; BUFFER];
    for entry in entries {
        let mut entry = entry.map_err(tar_error)?;
        stats.members += 1;
        if stats.members > limits.max_entries {
            return Err(LayerError::TooManyMembers { max: limits.max_entries });
        }
        let kind = entry.header().entry_type();
        match kind {
            EntryType::GNULongName => {
                pending.long_name = Some(read_small(&mut entry, MAX_PATH_BYTES, "GNU long name")?);
                continue;
            }
            EntryType::GNULongLink => {
                pending.long_link = Some(read_small(&mut entry, MAX_PATH_BYTES, "GNU long link name")?);
                continue;
            }
            EntryType::XHeader => {
                pending.pax = Some(read_small(&mut entry, MAX_PAX_BYTES, "PAX header")?);
                continue;
            }
            // Global PAX headers set defaults (git archive puts its commit there); none of
            // what they may say matters to which files an image holds.
            EntryType::XGlobalHeader => {
                read_small(&mut entry, MAX_PAX_BYTES, "global PAX header")?;
                continue;
            }
            _ => {}
        }
        let pending = std::mem::take(&mut pending);
        let mut name = pending.long_name.map(trim_nul).unwrap_or_else(|| entry.header().path_bytes().into_owned());
        let mut link =
            pending.long_link.map(trim_nul).or_else(|| entry.header().link_name_bytes().map(|l| l.into_owned()));
        if let Some(pax) = &pending.pax {
            for extension in PaxExtensions::new(pax) {
                let extension = extension.map_err(|e| LayerError::Tar(format!("malformed PAX header: {e}")))?;
                match extension.key_bytes() {
                    b"path" => name = extension.value_bytes().to_owned(),
                    b"linkpath" => link = Some(extension.value_bytes().to_owned()),
                    // The tar crate reads raw members by their header's size; a PAX size (a
                    // member over 8 GiB) or a PAX sparse map would misalign or misread the
                    // content, so such members are refused rather than hashed wrongly.
                    b"size" => {
                        return Err(member(&name, "PAX size records (members over 8 GiB) are not supported"));
                    }
                    key if key.starts_with(b"GNU.sparse.") => {
                        return Err(member(&name, "PAX sparse files are not supported"));
                    }
                    _ => {}
                }
            }
        }
        let path = normalise(&name).map_err(|problem| member(&name, problem))?;
        let mode = entry.header().mode().map_err(|e| member(&name, &format!("unreadable mode: {e}")))?;
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                if let Some(change) = whiteout(&path).map_err(|problem| member(&name, problem))? {
                    match change {
                        Whiteout::Path(target) => changes.whiteouts.push(target),
                        Whiteout::Opaque(dir) => changes.opaque_dirs.push(dir),
                        Whiteout::Ignored => {}
                    }
                    continue;
                }
                let size = entry.header().entry_size().map_err(|e| member(&name, &format!("unreadable size: {e}")))?;
                let sha256 = hash_if_candidate(&mut entry, mode, &mut buffer)
                    .map_err(|e| member(&name, &format!("reading its content: {e}")))?;
                stats.regular_files += 1;
                if sha256.is_some() {
                    stats.candidates += 1;
                    stats.hashed_bytes += size;
                }
                changes.members.push((path, Node::File(FileNode { sha256, size, mode })));
            }
            EntryType::Link => {
                let target = link.ok_or_else(|| member(&name, "hard link without a target"))?;
                // A hard link names another member of the archive: a path inside the image.
                let target = normalise(&target).map_err(|problem| {
                    member(&name, &format!("hard link target {:?}: {problem}", String::from_utf8_lossy(&target)))
                })?;
                changes.members.push((path, Node::HardLink(target)));
            }
            EntryType::Directory => changes.members.push((path, Node::Dir)),
            // Symbolic links are never followed (nothing is written or opened through them),
            // so where they point, inside or outside the image, does not matter here.
            EntryType::Symlink | EntryType::Char | EntryType::Block | EntryType::Fifo => {
                changes.members.push((path, Node::Other))
            }
            EntryType::GNUSparse => {
                return Err(member(&name, "GNU sparse files are not supported"));
            }
            other => {
                return Err(member(
                    &name,
                    &format!("member type {:?} is not one a layer holds", other.as_byte() as char),
                ));
            }
        }
    }
    Ok((changes, stats))
}

fn member(name: &[u8], problem: &str) -> LayerError {
    let path: String = String::from_utf8_lossy(name).chars().take(300).collect();
    LayerError::Member { path, problem: problem.to_owned() }
}

fn trim_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

fn read_small<R: Read>(entry: &mut tar::Entry<'_, R>, max: usize, what: &str) -> Result<Vec<u8>, LayerError> {
    let size = entry.header().entry_size().map_err(|e| LayerError::Tar(format!("{what}: unreadable size: {e}")))?;
    if size > max as u64 {
        return Err(LayerError::Tar(format!("{what} of {size} bytes, more than the {max} allowed")));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    entry.read_to_end(&mut bytes).map_err(|e| LayerError::Tar(format!("{what}: {e}")))?;
    Ok(bytes)
}

/// The path of a member relative to the image's root, `/`-separated, without `.` parts.
/// A `..` part or an absolute path is refused: no layer builder writes them, and an extractor
/// that honoured them would write outside the root filesystem.
fn normalise(name: &[u8]) -> Result<String, &'static str> {
    if name.len() > MAX_PATH_BYTES {
        return Err("path longer than 4096 bytes");
    }
    if name.contains(&0) {
        return Err("path contains a NUL byte");
    }
    if name.starts_with(b"/") {
        return Err("absolute path");
    }
    let text = String::from_utf8_lossy(name);
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("path climbs out of the image's root with '..'"),
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

enum Whiteout {
    Path(String),
    Opaque(String),
    /// AUFS's own bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`), not a whiteout.
    Ignored,
}

fn whiteout(path: &str) -> Result<Option<Whiteout>, &'static str> {
    let (dir, base) = match path.rsplit_once('/') {
        Some((dir, base)) => (dir, base),
        None => ("", path),
    };
    let Some(removed) = base.strip_prefix(WHITEOUT) else {
        return Ok(None);
    };
    let join = |name: &str| {
        if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
    };
    if base == OPAQUE {
        return Ok(Some(Whiteout::Opaque(dir.to_owned())));
    }
    if removed.starts_with(WHITEOUT) {
        return Ok(Some(Whiteout::Ignored));
    }
    if removed.is_empty() || removed == "." || removed == ".." {
        return Err("whiteout of no file");
    }
    Ok(Some(Whiteout::Path(join(removed))))
}

/// Reads a regular file's content; returns its SHA-256 if it is a candidate. Content that is
/// not a candidate is only read past, never hashed.
fn hash_if_candidate<R: Read>(content: &mut R, mode: u32, buffer: &mut [u8]) -> io::Result<Option<Digest>> {
    let mut start = [0u8; provgate_sbom::MAGIC_BYTES];
    let mut filled = 0;
    while filled < start.len() {
        match content.read(&mut start[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    if !provgate_sbom::is_candidate(mode, &start[..filled]) {
        io::copy(content, &mut io::sink())?;
        return Ok(None);
    }
    let mut hasher = Sha256::new();
    hasher.update(&start[..filled]);
    loop {
        match content.read(buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(Digest(hasher.finalize().into())))
}
