//! An RPM package: the lead, the signature header, the header (read by the `rpm` crate, after
//! their sizes are bounded here), then the payload, a compressed cpio archive (newc) whose
//! members are recorded at the paths rpm installs them to (`./usr/bin/foo` → `/usr/bin/foo`).
//! A package is installed at `/`: where its symbolic links point is not a question (they are
//! never followed, nor recorded). Hard links in a cpio archive carry their content once, with
//! the last link of an inode; the others get its digest.
use std::{
    collections::HashMap,
    fs::File,
    io::{self, BufRead, Read},
    rc::Rc,
    sync::atomic::AtomicU64,
};

use provgate_sbom::Sha256 as Digest;

use super::{Hashed, Package, PackageFile, PackageFormat, Tree, member, too_many};
use crate::{
    ArchiveError, Compression,
    bounded::{Inflated, Stop},
    limits::Limits,
    tar_walk::{Hash, hash_member, normalise},
};

const BUFFER: usize = 256 << 10;
const LEAD_BYTES: usize = 96;
const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// A header's index and data together. rpm itself allows up to 256 MiB of data; real headers
/// (file lists, changelogs of large packages) stay under a few MiB.
const MAX_HEADER_BYTES: u64 = 64 << 20;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

fn format_error(detail: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Format { format: "rpm", detail: detail.to_string() }
}

/// Appends one header structure (intro, index, data) from `input` to `out`, bounded.
fn read_header<R: Read>(input: &mut R, out: &mut Vec<u8>, which: &str) -> Result<(), ArchiveError> {
    let mut intro = [0u8; 16];
    input.read_exact(&mut intro).map_err(|e| format_error(format!("{which} header: {e}")))?;
    if intro[..4] != HEADER_MAGIC {
        return Err(format_error(format!("{which} header: bad magic")));
    }
    let entries = u64::from(u32::from_be_bytes(intro[8..12].try_into().expect("4 bytes")));
    let data = u64::from(u32::from_be_bytes(intro[12..16].try_into().expect("4 bytes")));
    let size = entries * 16 + data;
    if size > MAX_HEADER_BYTES {
        return Err(format_error(format!("{which} header of {size} bytes, more than the {MAX_HEADER_BYTES} allowed")));
    }
    out.extend_from_slice(&intro);
    let start = out.len();
    input.take(size).read_to_end(out).map_err(|e| format_error(format!("{which} header: {e}")))?;
    if (out.len() - start) as u64 != size {
        return Err(format_error(format!("{which} header: truncated")));
    }
    Ok(())
}

pub(super) fn read(file: File, size: u64, limits: &Limits) -> Result<Package, ArchiveError> {
    let stop: Stop<ArchiveError> = Rc::default();
    let mut input = io::BufReader::with_capacity(BUFFER, Hashed::new(file, stop.clone()));
    let io_error =
        |e: io::Error, stop: &Stop<ArchiveError>| stop.borrow_mut().take().unwrap_or_else(|| format_error(e));

    let mut headers = vec![0u8; LEAD_BYTES];
    input.read_exact(&mut headers).map_err(|e| io_error(e, &stop))?;
    if headers[..4] != LEAD_MAGIC {
        return Err(format_error("no RPM lead (not an rpm file)"));
    }
    read_header(&mut input, &mut headers, "signature")?;
    // The signature header is padded to a multiple of 8 bytes.
    let padding = (8 - (headers.len() - LEAD_BYTES) % 8) % 8;
    let mut pad = vec![0u8; padding];
    input.read_exact(&mut pad).map_err(|e| io_error(e, &stop))?;
    headers.extend_from_slice(&pad);
    read_header(&mut input, &mut headers, "main")?;
    let metadata = rpm::PackageMetadata::parse(&mut io::Cursor::new(&headers)).map_err(format_error)?;
    let name = metadata.get_name().map_err(format_error)?.to_owned();
    let version =
        format!("{}-{}", metadata.get_version().map_err(format_error)?, metadata.get_release().map_err(format_error)?);

    // The payload's own magic says how it is compressed (the header's tag may be stale).
    let start = input.fill_buf().map_err(|e| io_error(e, &stop))?;
    let compression = Compression::sniff(start);
    let compressed = size.saturating_sub(headers.len() as u64);
    let total = AtomicU64::new(0);
    let decoder = compression.decoder(&mut input)?;
    let mut inflated = Inflated::new(decoder, compression.name(), compressed, limits, &total, stop.clone());
    let walked = walk_cpio(io::BufReader::with_capacity(BUFFER, &mut inflated), limits);
    let (files, members) = match (stop.borrow_mut().take(), walked) {
        (Some(reason), _) => return Err(reason),
        (None, walked) => walked?,
    };
    let uncompressed = inflated.count();
    drop(inflated);
    let (sha256, read) = input.into_inner().finish()?;
    Ok(Package {
        format: PackageFormat::Rpm,
        name: Some(name),
        version: Some(version),
        files,
        sha256,
        compressed_bytes: read,
        uncompressed_bytes: uncompressed,
        members,
    })
}

/// An inode with several links: its digest and size once the payload carried its content (with
/// one of the links), and the paths (with their modes) that get it.
#[derive(Default)]
struct Inode {
    content: Option<(Digest, u64)>,
    paths: Vec<(String, u32)>,
}

/// The cpio members of the payload, to the trailer; then whatever follows, read to its end.
fn walk_cpio<R: Read>(mut payload: R, limits: &Limits) -> Result<(Vec<PackageFile>, u64), ArchiveError> {
    let cpio_error = |e: io::Error| ArchiveError::Format { format: "rpm payload (cpio)", detail: e.to_string() };
    let mut tree = Tree::default();
    let mut buffer = vec![0u8; BUFFER];
    let mut members = 0u64;
    let mut links: HashMap<u32, Inode> = HashMap::new();
    loop {
        let mut entry = cpio::NewcReader::new(payload).map_err(cpio_error)?;
        if entry.entry().is_trailer() {
            payload = entry.finish().map_err(cpio_error)?;
            break;
        }
        members += 1;
        too_many(members, limits)?;
        let shown = entry.entry().name().to_owned();
        let path = format!("/{}", normalise(shown.as_bytes()).map_err(|problem| member(&shown, problem))?);
        let mode = entry.entry().mode();
        let (nlink, ino, size) = (entry.entry().nlink(), entry.entry().ino(), entry.entry().file_size());
        match mode & S_IFMT {
            S_IFREG => {
                let sha256 = hash_member(&mut entry, Hash::Every, mode, &mut buffer)
                    .map_err(|e| member(&shown, &format!("reading its content: {e}")))?
                    .ok_or_else(|| member(&shown, "was not hashed"))?;
                if nlink > 1 {
                    let inode = links.entry(ino).or_default();
                    if size > 0 {
                        inode.content = Some((sha256, u64::from(size)));
                    }
                    inode.paths.push((path, mode));
                } else {
                    tree.insert(PackageFile { path, sha256, size: u64::from(size), mode });
                }
            }
            S_IFDIR => tree.apply(vec![(path, crate::Node::Dir)], "")?,
            // Symbolic links, devices, FIFOs: no content of their own.
            _ => tree.apply(vec![(path, crate::Node::Other)], "")?,
        }
        payload = entry.finish().map_err(cpio_error)?;
    }
    io::copy(&mut payload, &mut io::sink()).map_err(cpio_error)?;
    for (_, Inode { content, paths }) in links {
        let Some((sha256, size)) = content else {
            let (path, _) = &paths[0];
            return Err(member(path, "hard link whose content the payload never carries"));
        };
        for (path, mode) in paths {
            tree.insert(PackageFile { path, sha256, size, mode });
        }
    }
    Ok((tree.into_files(), members))
}
