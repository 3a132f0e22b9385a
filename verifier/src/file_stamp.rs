//! A file's identity as the kernel programs see it, computed from `stat()`.
use std::{fs::Metadata, os::unix::fs::MetadataExt};

use provgate_common::{FileKey, FileState, VERDICT_ALLOW, Verdict};

/// Converts `stat()`'s `st_dev` (glibc's encoding) to the kernel's internal `s_dev`
/// (`MAJOR << 20 | MINOR`), which is what the programs read from the superblock.
pub fn kernel_dev(st_dev: u64) -> u32 {
    let major = ((st_dev >> 8) & 0xfff) | ((st_dev >> 32) & !0xfff);
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & !0xff);
    ((major << 20) | (minor & 0xf_ffff)) as u32
}

/// Identity plus change cookie: everything the kernel compares before honouring a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileStamp {
    pub key: FileKey,
    pub ctime_sec: i64,
    pub ctime_nsec: u32,
    pub size: i64,
}

impl FileStamp {
    pub fn of(meta: &Metadata) -> Self {
        Self {
            key: FileKey { ino: meta.ino(), dev: kernel_dev(meta.dev()), _pad: 0 },
            ctime_sec: meta.ctime(),
            ctime_nsec: meta.ctime_nsec() as u32,
            size: meta.size() as i64,
        }
    }

    /// Whether the digest the enforcing programs keep for the file is for its content now.
    pub fn is_current(&self, state: &FileState) -> bool {
        state.is_current(state.write_gen, self.ctime_sec, self.ctime_nsec, self.size)
    }

    pub fn allow_verdict(&self) -> Verdict {
        Verdict { ctime_sec: self.ctime_sec, size: self.size, ctime_nsec: self.ctime_nsec, flags: VERDICT_ALLOW }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_device_numbers() {
        // 8:1 (sda1): glibc 0x801, kernel 0x800001.
        assert_eq!(kernel_dev(0x801), (8 << 20) | 1);
        // 259:3 (nvme partition): major above 255.
        assert_eq!(kernel_dev(libc::makedev(259, 3)), (259 << 20) | 3);
        // Minor above 255 uses glibc's split encoding.
        assert_eq!(kernel_dev(libc::makedev(0, 300)), 300);
        assert_eq!(kernel_dev(libc::makedev(4095, 1_048_575)), (4095 << 20) | 1_048_575);
    }

    #[test]
    fn stamp_changes_when_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"one").unwrap();
        let before = FileStamp::of(&std::fs::metadata(&path).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"two!").unwrap();
        let after = FileStamp::of(&std::fs::metadata(&path).unwrap());
        assert_eq!(before.key, after.key);
        assert_ne!(before, after);
    }
}
