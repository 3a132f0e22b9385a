//! The members of one tar stream, read raw so that every size is ours to bound: GNU long names
//! and PAX headers are read here, each within a few kilobytes, instead of whole by the tar
//! crate. Nothing is written anywhere and no link is followed; regular files are hashed as they
//! pass (all of them, or only the candidates, as [`Rules`] say).
use std::{
    io::{self, Read},
    sync::atomic::AtomicU64,
};

use provgate_sbom::Sha256 as Digest;
use sha2::{Digest as _, Sha256};
use tar::{EntryType, PaxExtensions};

use crate::{
    ArchiveError,
    bounded::{Compression, Inflated, Stop},
    limits::{Limits, MAX_METADATA_BYTES, MAX_PATH_BYTES, MAX_PAX_BYTES},
};

/// What a tar stream says about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File(FileNode),
    /// A hard link to another path of the tree (this stream's, or, in an image, a lower
    /// layer's).
    HardLink(String),
    Dir,
    /// A symbolic link, device or FIFO: no content of its own to trust, but it replaces
    /// whatever was at this path.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileNode {
    /// The SHA-256 of a file hashed; `None` for a file [`Rules::hash`] passed over.
    pub sha256: Option<Digest>,
    pub size: u64,
    pub mode: u32,
}

/// Which regular files are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// Only candidates for execution (an execute bit, or `\x7fELF` / `#!` at the start): an
    /// image's layers, where most files are data.
    Candidates,
    /// Every regular file: a package's, whose `.js` or `.py` files run through an interpreter
    /// without any of those marks.
    Every,
}

/// Where a symbolic link may point. Links are never followed here; the rule is about what an
/// extraction would do with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Anywhere: an image's root filesystem, or a package installed at `/` (a deb, an rpm),
    /// where an absolute target names a path of the same system and `..` stops at the root.
    Anywhere,
    /// Inside the archive's own tree: a package unpacked into a directory (npm, an sdist, a
    /// plain tarball), where a link out of it would reach files no signature vouches for.
    InsideTree,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub hash: Hash,
    pub links: Links,
}

/// What one tar walk saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkStats {
    pub members: u64,
    pub regular_files: u64,
    pub hashed: u64,
    pub hashed_bytes: u64,
}

const BUFFER: usize = 256 << 10;

/// Metadata that precedes the member it describes.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

/// What a tar walk found: its members in order, as normalised paths relative to the tree's root,
/// and the content of the files `keep` asked for (metadata such as `package/package.json`).
#[derive(Debug, Default)]
pub struct Walked {
    pub members: Vec<(String, Node)>,
    pub kept: Vec<(String, Vec<u8>)>,
    pub stats: WalkStats,
}

/// A `keep` that keeps nothing.
pub fn keep_none(_: &str) -> bool {
    false
}

/// Walks a tar stream compressed as `compression`, `compressed` bytes long: decompression bounded
/// by `limits` (and, with every other stream of the same image or package, by `total`), members
/// hashed as [`Rules`] say. Whatever follows the tar end marker is read too, within the same
/// bounds, so that a digest of the input covers every byte. A reason recorded in `stop` deep in
/// the chain (by the caller's own reader too) is the error returned: the one that surfaced is its
/// echo. Returns the walk and the uncompressed size.
#[allow(clippy::too_many_arguments)]
pub fn walk_compressed<R: Read, E: From<ArchiveError> + std::fmt::Display>(
    input: R,
    compression: Compression,
    compressed: u64,
    limits: &Limits,
    total: &AtomicU64,
    stop: &Stop<E>,
    rules: Rules,
    keep: &dyn Fn(&str) -> bool,
) -> Result<(Walked, u64), E> {
    let outcome = (|| {
        let decoder = compression.decoder(input)?;
        let mut inflated = Inflated::new(decoder, compression.name(), compressed, limits, total, stop.clone());
        // The tar reader asks for 512-byte headers and skips content in 8 KiB reads: a buffer
        // in between lets the decompressor fill large blocks instead.
        let mut buffered = io::BufReader::with_capacity(BUFFER, &mut inflated);
        let walked = walk(&mut buffered, limits, rules, keep)?;
        io::copy(&mut buffered, &mut io::sink()).map_err(|e| ArchiveError::Tar(e.to_string()))?;
        drop(buffered);
        Ok((walked, inflated.count()))
    })();
    match stop.borrow_mut().take() {
        Some(reason) => Err(reason),
        None => outcome.map_err(E::from),
    }
}

/// The members of the tar stream `stream`.
pub fn walk<R: Read>(
    stream: R,
    limits: &Limits,
    rules: Rules,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Walked, ArchiveError> {
    let mut archive = tar::Archive::new(stream);
    let tar_error = |e: io::Error| ArchiveError::Tar(e.to_string());
    let entries = archive.entries().map_err(tar_error)?.raw(true);
    let mut members = Vec::new();
    let mut kept = Vec::new();
    let mut stats = WalkStats::default();
    let mut pending = Pending::default();
    let mut buffer = vec![0u8; BUFFER];
    for entry in entries {
        let mut entry = entry.map_err(tar_error)?;
        stats.members += 1;
        if stats.members > limits.max_entries {
            return Err(ArchiveError::TooManyMembers { max: limits.max_entries });
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
                let extension = extension.map_err(|e| ArchiveError::Tar(format!("malformed PAX header: {e}")))?;
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
                let size = entry.header().entry_size().map_err(|e| member(&name, &format!("unreadable size: {e}")))?;
                let reading = |e: io::Error| member(&name, &format!("reading its content: {e}"));
                let sha256 = if size <= MAX_METADATA_BYTES && keep(&path) {
                    let mut content = Vec::with_capacity(size as usize);
                    entry.read_to_end(&mut content).map_err(reading)?;
                    let sha256 = Digest::of(&content);
                    kept.push((path.clone(), content));
                    Some(sha256)
                } else {
                    hash_member(&mut entry, rules.hash, mode, &mut buffer).map_err(reading)?
                };
                stats.regular_files += 1;
                if sha256.is_some() {
                    stats.hashed += 1;
                    stats.hashed_bytes += size;
                }
                members.push((path, Node::File(FileNode { sha256, size, mode })));
            }
            EntryType::Link => {
                let target = link.ok_or_else(|| member(&name, "hard link without a target"))?;
                // A hard link names another member of the archive: a path inside the image.
                let target = normalise(&target).map_err(|problem| {
                    let target = String::from_utf8_lossy(&target);
                    member(&name, &format!("hard link target {target:?}: {problem}"))
                })?;
                members.push((path, Node::HardLink(target)));
            }
            EntryType::Directory => members.push((path, Node::Dir)),
            // Symbolic links are never followed (nothing is written or opened through them);
            // whether one may point out of the tree is the rules' call.
            EntryType::Symlink => {
                if rules.links == Links::InsideTree {
                    let target = link.ok_or_else(|| member(&name, "symbolic link without a target"))?;
                    stays_inside(&path, &target).map_err(|problem| member(&name, &problem))?;
                }
                members.push((path, Node::Other))
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => members.push((path, Node::Other)),
            EntryType::GNUSparse => {
                return Err(member(&name, "GNU sparse files are not supported"));
            }
            other => {
                return Err(member(
                    &name,
                    &format!("member type {:?} is not one provgate reads", other.as_byte() as char),
                ));
            }
        }
    }
    Ok(Walked { members, kept, stats })
}

pub(crate) fn member(name: &[u8], problem: &str) -> ArchiveError {
    let path: String = String::from_utf8_lossy(name).chars().take(300).collect();
    ArchiveError::Member { path, problem: problem.to_owned() }
}

fn trim_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

fn read_small<R: Read>(entry: &mut tar::Entry<'_, R>, max: usize, what: &str) -> Result<Vec<u8>, ArchiveError> {
    let size = entry.header().entry_size().map_err(|e| ArchiveError::Tar(format!("{what}: unreadable size: {e}")))?;
    if size > max as u64 {
        return Err(ArchiveError::Tar(format!("{what} of {size} bytes, more than the {max} allowed")));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    entry.read_to_end(&mut bytes).map_err(|e| ArchiveError::Tar(format!("{what}: {e}")))?;
    Ok(bytes)
}

/// The path of a member relative to the tree's root, `/`-separated, without `.` parts.
/// A `..` part or an absolute path is refused: no layer or package builder writes them, and an
/// extractor that honoured them would write outside the tree.
pub fn normalise(name: &[u8]) -> Result<String, &'static str> {
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
            ".." => return Err("path climbs out of the archive's tree with '..'"),
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// Reads a regular file's content; returns its SHA-256 if `hash` takes it. Content it does not
/// take is only read past, never hashed.
pub fn hash_member<R: Read>(content: &mut R, hash: Hash, mode: u32, buffer: &mut [u8]) -> io::Result<Option<Digest>> {
    let mut start = [0u8; provgate_sbom::MAGIC_BYTES];
    let mut filled = 0;
    while filled < start.len() {
        match content.read(&mut start[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    if hash == Hash::Candidates && !provgate_sbom::is_candidate(mode, &start[..filled]) {
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

/// Whether a symbolic link at `path` (normalised) to `target` resolves inside the tree.
pub fn stays_inside(path: &str, target: &[u8]) -> Result<(), String> {
    let shown = || String::from_utf8_lossy(target).chars().take(300).collect::<String>();
    if target.starts_with(b"/") {
        return Err(format!("symbolic link to the absolute path {:?}, outside the package", shown()));
    }
    // Its directory's depth: the link resolves from there.
    let mut depth = path.matches('/').count() as i64;
    for part in target.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("symbolic link to {:?} climbs out of the package", shown()));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}
