//! Turning kernel events into stored records: the denied file's digest is computed after the
//! fact (and learnt by the engine, so approving it takes effect at once), the cgroup and
//! container are named.
use std::{os::unix::fs::MetadataExt as _, path::PathBuf};

use provgate_common::REASON_UNTRUSTED_FS;

use super::{
    cgroups::{CgroupNames, container_of},
    engine::Engine,
};
use crate::{
    hashing::{HashedFile, Sha256Digest, hash_file},
    identity::{FileStamp, kernel_dev},
    kernel::events::{KernelEvent, boot_ns_to_epoch_ms, reason_name},
    store::EventRecord,
};

pub struct EventContext {
    cgroups: CgroupNames,
}

impl EventContext {
    pub fn new() -> Self {
        Self { cgroups: CgroupNames::new() }
    }

    pub fn record(&mut self, engine: &Engine, event: KernelEvent) -> EventRecord {
        let path = locate(&event);
        // The kernel's own hash when it made one; otherwise the file is hashed after the fact,
        // except on a filesystem whose server could make that read hang or lie.
        let sha256 = match event.digest {
            Some(d) => Some(Sha256Digest(d)),
            None if event.reason == reason_name(REASON_UNTRUSTED_FS) => None,
            None => path.as_ref().and_then(|p| digest(engine, p, &event)),
        };
        let cgroup_path = self.cgroups.path(event.cgroup_id);
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
            container: cgroup_path.as_deref().and_then(container_of),
            cgroup_path,
            dev: event.dev,
            ino: event.ino,
            path: path.map(|p| p.display().to_string()).or(event.path),
            sha256,
        }
    }
}

/// An absolute path for the event's file: the kernel's path when it is absolute, else the
/// process's own view (its executable, or a mapping with the same device and inode).
fn locate(event: &KernelEvent) -> Option<PathBuf> {
    if let Some(p) = event.path.as_deref().filter(|p| p.starts_with('/')) {
        return Some(PathBuf::from(p));
    }
    if event.ino == 0 {
        return None;
    }
    let exe = std::fs::read_link(format!("/proc/{}/exe", event.tgid)).ok();
    if let Some(exe) = exe.filter(|e| std::fs::metadata(e).is_ok_and(|m| same_identity(&m, event))) {
        return Some(exe);
    }
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", event.tgid)).ok()?;
    let dev = format!("{:02x}:{:02x}", event.dev >> 20, event.dev & 0xf_ffff);
    maps.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() >= 6 && f[3] == dev && f[4] == event.ino.to_string()).then(|| PathBuf::from(f[5]))
    })
}

fn digest(engine: &Engine, path: &PathBuf, event: &KernelEvent) -> Option<Sha256Digest> {
    let meta = std::fs::metadata(path).ok()?;
    if event.ino != 0 && !same_identity(&meta, event) {
        return None; // the name now points at another file
    }
    let stamp = FileStamp::of(&meta);
    if let Some(d) = engine.cached_digest(&stamp) {
        return Some(d);
    }
    let hashed: HashedFile = hash_file(path).ok()?;
    engine.record(&path.display().to_string(), hashed, true);
    Some(hashed.digest)
}

fn same_identity(meta: &std::fs::Metadata, event: &KernelEvent) -> bool {
    meta.ino() == event.ino && kernel_dev(meta.dev()) == event.dev
}
