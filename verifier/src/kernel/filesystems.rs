//! Filesystems whose bytes the kernel cannot vouch for: the server of a FUSE or network
//! filesystem decides what each reader sees, and may show the kernel's hash one content and the
//! loader another, or change a file behind every cache. Code on them is refused in enforced
//! scopes unless the configuration trusts the filesystem type or the mount.
use std::{os::unix::fs::MetadataExt as _, path::Path};

use thiserror::Error;

use crate::file_stamp::kernel_dev;

/// Filesystem types refused by default, with their superblock magic numbers (`statfs`'s
/// `f_type`). One magic may stand for several type names (FUSE: fuse, fuseblk, virtiofs).
pub const UNTRUSTED: &[(&str, u64)] = &[
    ("fuse", 0x6573_5546),
    ("fuseblk", 0x6573_5546),
    ("virtiofs", 0x6573_5546),
    ("nfs", 0x6969),
    ("nfs4", 0x6969),
    ("cifs", 0xFF53_4D42),
    ("smb3", 0xFE53_4D42),
    ("smb2", 0xFE53_4D42),
    ("smbfs", 0x517B),
    ("9p", 0x0102_1997),
    ("ceph", 0x00C3_6400),
    ("afs", 0x6B41_4653),
    ("openafs", 0x5346_414F),
    ("coda", 0x7375_7245),
    ("gfs2", 0x0116_1970),
    ("ocfs2", 0x7461_636F),
    ("orangefs", 0x2003_0528),
    ("lustre", 0x0BD0_0BD0),
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TrustError {
    #[error("trusted_filesystems entry {0:?}: neither a filesystem type provgate refuses ({known}) nor an absolute mount path", known = known_types())]
    Unknown(String),
    #[error("trusted_filesystems entry {path}: {message}")]
    Mount { path: String, message: String },
}

fn known_types() -> String {
    UNTRUSTED.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

/// The kernel's view of a `trusted_filesystems` configuration: the magic numbers still refused,
/// and the devices of mounts trusted one by one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FilesystemTrust {
    pub untrusted_magics: Vec<u64>,
    pub trusted_devices: Vec<u32>,
}

/// Entries are filesystem type names (`"nfs4"`: every filesystem of that magic is trusted) or
/// absolute paths of mount points (that mount only).
pub fn resolve(trusted: &[String]) -> Result<FilesystemTrust, TrustError> {
    let mut trusted_magics = Vec::new();
    let mut trusted_devices = Vec::new();
    for entry in trusted {
        if entry.starts_with('/') {
            let meta = std::fs::metadata(Path::new(entry))
                .map_err(|e| TrustError::Mount { path: entry.clone(), message: e.to_string() })?;
            trusted_devices.push(kernel_dev(meta.dev()));
        } else {
            let (_, magic) =
                UNTRUSTED.iter().find(|(name, _)| name == entry).ok_or_else(|| TrustError::Unknown(entry.clone()))?;
            trusted_magics.push(*magic);
        }
    }
    let mut untrusted_magics: Vec<u64> =
        UNTRUSTED.iter().map(|(_, magic)| *magic).filter(|m| !trusted_magics.contains(m)).collect();
    untrusted_magics.sort_unstable();
    untrusted_magics.dedup();
    Ok(FilesystemTrust { untrusted_magics, trusted_devices })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_fuse_and_network_filesystems_by_default() {
        let trust = resolve(&[]).unwrap();
        for magic in [0x6573_5546, 0x6969, 0xFF53_4D42, 0x0102_1997] {
            assert!(trust.untrusted_magics.contains(&magic), "{magic:#x}");
        }
        // tmpfs, ext4, overlayfs are local: the kernel reads their bytes itself.
        for magic in [0x0102_1994, 0xEF53, 0x794C_7630] {
            assert!(!trust.untrusted_magics.contains(&magic), "{magic:#x}");
        }
    }

    #[test]
    fn a_trusted_type_trusts_every_name_of_its_magic() {
        let trust = resolve(&["fuse".into()]).unwrap();
        assert!(!trust.untrusted_magics.contains(&0x6573_5546));
        assert!(trust.untrusted_magics.contains(&0x6969));
    }

    #[test]
    fn a_trusted_mount_is_its_device() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let trust = resolve(std::slice::from_ref(&path)).unwrap();
        let dev = kernel_dev(std::fs::metadata(dir.path()).unwrap().dev());
        assert_eq!(trust.trusted_devices, vec![dev]);
        assert_eq!(resolve(&["/no/such/mount".into()]).unwrap_err().to_string().matches("/no/such/mount").count(), 1);
        let err = resolve(&["ext4".into()]).unwrap_err().to_string();
        assert!(err.contains("\"ext4\"") && err.contains("nfs4"), "{err}");
    }
}
