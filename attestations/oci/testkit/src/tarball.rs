//! Tar layers built member by member. Names and link targets are written into the headers as
//! given, so tests can build what no well-behaved tool writes (`../` names, absolute hard-link
//! targets, huge long names).
use std::io::Write as _;

use tar::{EntryType, Header};

#[derive(Debug, Clone)]
pub enum Member {
    File {
        path: String,
        content: Vec<u8>,
        mode: u32,
    },
    Dir {
        path: String,
    },
    Symlink {
        path: String,
        target: String,
    },
    HardLink {
        path: String,
        target: String,
    },
    /// Removes `path` of lower layers.
    Whiteout {
        path: String,
    },
    /// Hides what lower layers have in `dir`.
    Opaque {
        dir: String,
    },
    /// A GNU long-name member of `size` bytes of 'a' before a file named by it.
    LongName {
        size: usize,
        content: Vec<u8>,
    },
    /// A member of any type, with raw header bytes.
    Raw {
        kind: EntryType,
        name: Vec<u8>,
        link: Vec<u8>,
        content: Vec<u8>,
        mode: u32,
    },
}

impl Member {
    pub fn file(path: &str, content: &[u8], mode: u32) -> Self {
        Self::File { path: path.into(), content: content.to_vec(), mode }
    }
}

fn header(kind: EntryType, name: &[u8], link: &[u8], size: u64, mode: u32) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    let gnu = header.as_gnu_mut().expect("a GNU header");
    assert!(name.len() <= gnu.name.len() && link.len() <= gnu.linkname.len(), "use LongName for long names");
    gnu.name[..name.len()].copy_from_slice(name);
    gnu.linkname[..link.len()].copy_from_slice(link);
    header.set_cksum();
    header
}

/// A tar stream of `members`, with the two zero blocks that end it.
pub fn tar(members: &[Member]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |kind: EntryType, name: &[u8], link: &[u8], content: &[u8], mode: u32| {
        let header = header(kind, name, link, content.len() as u64, mode);
        builder.append(&header, content).expect("append to a Vec");
    };
    for member in members {
        match member {
            Member::File { path, content, mode } => add(EntryType::Regular, path.as_bytes(), b"", content, *mode),
            Member::Dir { path } => add(EntryType::Directory, path.as_bytes(), b"", b"", 0o755),
            Member::Symlink { path, target } => add(EntryType::Symlink, path.as_bytes(), target.as_bytes(), b"", 0o777),
            Member::HardLink { path, target } => add(EntryType::Link, path.as_bytes(), target.as_bytes(), b"", 0o644),
            Member::Whiteout { path } => {
                let (dir, base) = path.rsplit_once('/').map_or(("", path.as_str()), |(d, b)| (d, b));
                let name = if dir.is_empty() { format!(".wh.{base}") } else { format!("{dir}/.wh.{base}") };
                add(EntryType::Regular, name.as_bytes(), b"", b"", 0o644);
            }
            Member::Opaque { dir } => {
                add(EntryType::Regular, format!("{dir}/.wh..wh..opq").as_bytes(), b"", b"", 0o644)
            }
            Member::LongName { size, content } => {
                add(EntryType::GNULongName, b"././@LongLink", b"", &vec![b'a'; *size], 0o644);
                add(EntryType::Regular, b"placeholder", b"", content, 0o755);
            }
            Member::Raw { kind, name, link, content, mode } => add(*kind, name, link, content, *mode),
        }
    }
    builder.into_inner().expect("finish the tar stream")
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip into a Vec");
    encoder.finish().expect("gzip into a Vec")
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).expect("zstd into a Vec")
}
