//! Turning kernel events into stored records, with the denied file's digest computed after the
//! fact so an admin can approve it by content.
use std::{collections::HashMap, os::unix::fs::MetadataExt as _, path::PathBuf};

use crate::{
    hashing::{Sha256Digest, hash_file},
    identity::{FileStamp, kernel_dev},
    kernel::events::{KernelEvent, boot_ns_to_epoch_ms},
    store::EventRecord,
};

/// Remembers digests by stamp: an audit-mode flood of one file hashes it once.
#[derive(Default)]
pub struct EventDigests {
    by_stamp: HashMap<FileStamp, Sha256Digest>,
}

impl EventDigests {
    pub fn record(&mut self, event: KernelEvent) -> EventRecord {
        let path = self.locate(&event);
        let sha256 = path.as_ref().and_then(|p| self.digest(p, &event));
        EventRecord {
            at_ms: boot_ns_to_epoch_ms(event.boot_ns),
            hook: event.hook,
            action: event.action,
            reason: event.reason,
            tgid: event.tgid,
            pid: event.pid,
            uid: event.uid,
            comm: event.comm,
            cgroup_id: event.cgroup_id,
            dev: event.dev,
            ino: event.ino,
            path: path.map(|p| p.display().to_string()).or(event.path),
            sha256,
        }
    }

    /// An absolute path for the event's file: the kernel's path when it is absolute, else the
    /// process's own view (its executable, or a mapping with the same device and inode).
    fn locate(&self, event: &KernelEvent) -> Option<PathBuf> {
        if let Some(p) = event.path.as_deref().filter(|p| p.starts_with('/')) {
            return Some(PathBuf::from(p));
        }
        if event.ino == 0 {
            return None;
        }
        let exe = std::fs::read_link(format!("/proc/{}/exe", event.tgid)).ok();
        if let Some(exe) = exe.filter(|e| same_file(e, event)) {
            return Some(exe);
        }
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", event.tgid)).ok()?;
        let dev = format!("{:02x}:{:02x}", event.dev >> 20, event.dev & 0xf_ffff);
        maps.lines().find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 6 && f[3] == dev && f[4] == event.ino.to_string()).then(|| PathBuf::from(f[5]))
        })
    }

    fn digest(&mut self, path: &PathBuf, event: &KernelEvent) -> Option<Sha256Digest> {
        let meta = std::fs::metadata(path).ok()?;
        if event.ino != 0 && !same_identity(&meta, event) {
            return None; // the name now points at another file
        }
        let stamp = FileStamp::of(&meta);
        if let Some(d) = self.by_stamp.get(&stamp) {
            return Some(*d);
        }
        let hashed = hash_file(path).ok()?;
        if self.by_stamp.len() > 4096 {
            self.by_stamp.clear();
        }
        self.by_stamp.insert(hashed.stamp, hashed.digest);
        Some(hashed.digest)
    }
}

fn same_identity(meta: &std::fs::Metadata, event: &KernelEvent) -> bool {
    meta.ino() == event.ino && kernel_dev(meta.dev()) == event.dev
}

fn same_file(path: &PathBuf, event: &KernelEvent) -> bool {
    std::fs::metadata(path).is_ok_and(|m| same_identity(&m, event))
}
