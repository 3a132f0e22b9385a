//! Kernel events become stored records here, on a thread of their own: the file is named (and,
//! when the kernel did not hash it, hashed after the fact, the engine learning the digest so
//! that approving it takes effect at once), the cgroup and container too. That reads /proc and
//! files, which must not hold up the ring buffer or the API. The recorder has its own
//! connection to the store.
use std::{
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, RecvTimeoutError, SyncSender, TrySendError},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};

use provgate_common::REASON_UNTRUSTED_FS;

use super::{cgroups::CgroupNames, engine::Engine};
use crate::{
    daemon::{
        by_name::{Decided, NOT_IDENTIFIED, Received},
        script_opens::ScriptOpens,
    },
    events_out::Sink,
    file_stamp::{FileStamp, kernel_dev},
    hashing::{Sha256, hash_file},
    kernel::events::{KernelEvent, boot_ns_to_epoch_ms, reason_name},
    store::{EventRecord, ProcessContext, Store},
};

/// What the recorder does besides storing events.
pub struct RecorderOptions {
    /// Where the host's files are, for hashing after the fact (see `places_to_open`).
    pub host_root: PathBuf,
    /// The events output, if one is configured.
    pub sink: Option<Sink>,
    /// Events older than this are deleted (`event_retention`); `None` keeps them.
    pub retention: Option<Duration>,
    /// The scripts fanotify saw opened to execute, shared with the watcher.
    pub script_opens: Arc<ScriptOpens>,
}

/// Deleting events past their retention, from the recorder's own connection, at most every
/// quarter of the retention (between a second and an hour), so a busy store never grows without
/// bound and a short retention (tests) is honoured promptly.
struct Pruning {
    retention: Duration,
    every: Duration,
    next: Instant,
}

impl Pruning {
    fn new(retention: Duration) -> Self {
        let every = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600));
        Self { retention, every, next: Instant::now() }
    }

    fn next_in(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now()).max(Duration::from_millis(10))
    }

    fn run_if_due(&mut self, store: &mut Store) {
        if Instant::now() < self.next {
            return;
        }
        self.next = Instant::now() + self.every;
        let before = crate::store::now_ms() - self.retention.as_millis() as i64;
        match store.prune_events(before) {
            Ok(0) => {}
            Ok(pruned) => {
                tracing::info!(pruned, retention = %humantime::format_duration(self.retention), "old events deleted")
            }
            Err(e) => tracing::warn!("deleting events past their retention: {e}"),
        }
    }
}

/// Batches waiting for the recorder; beyond this the loop counts events as not stored rather
/// than wait.
const QUEUE_BATCHES: usize = 1024;

#[derive(Default)]
pub struct RecorderStats {
    pub recorded: AtomicU64,
    pub not_stored: AtomicU64,
    /// Events written to the events output, and those it failed to take.
    pub exported: AtomicU64,
    pub not_exported: AtomicU64,
}

pub struct Recorder {
    queue: Option<SyncSender<Vec<Received>>>,
    script_opens: Arc<ScriptOpens>,
    thread: Option<JoinHandle<()>>,
    pub stats: Arc<RecorderStats>,
}

impl Recorder {
    pub fn start(store_path: &Path, engine: Arc<Engine>, options: RecorderOptions) -> Result<Self> {
        let RecorderOptions { host_root, mut sink, retention, script_opens } = options;
        let mut store = Store::open(store_path)?;
        let stats = Arc::new(RecorderStats::default());
        let (queue, batches) = mpsc::sync_channel::<Vec<Received>>(QUEUE_BATCHES);
        let counts = stats.clone();
        let thread = std::thread::Builder::new()
            .name("provgate-recorder".into())
            .spawn(move || {
                let mut context = EventContext::new(host_root);
                let mut retention = retention.map(Pruning::new);
                loop {
                    let wait = retention.as_ref().map_or(Duration::from_secs(3600), Pruning::next_in);
                    let batch = match batches.recv_timeout(wait) {
                        Ok(batch) => batch,
                        Err(RecvTimeoutError::Timeout) => Vec::new(),
                        Err(RecvTimeoutError::Disconnected) => break,
                    };
                    if let Some(pruning) = &mut retention {
                        pruning.run_if_due(&mut store);
                    }
                    if batch.is_empty() {
                        continue;
                    }
                    let records: Vec<_> = batch.into_iter().filter_map(|e| context.record(&engine, e)).collect();
                    if records.is_empty() {
                        continue;
                    }
                    for r in &records {
                        tracing::info!(
                            action = %r.action, hook = %r.hook, reason = %r.reason, pid = r.tgid, comm = %r.comm,
                            cgroup = r.cgroup_path.as_deref().unwrap_or("?"),
                            "{} {}", r.action, r.path.as_deref().unwrap_or("?")
                        );
                    }
                    let count = records.len() as u64;
                    let ids = match store.insert_events(&records) {
                        Ok(ids) => {
                            counts.recorded.fetch_add(count, Ordering::Relaxed);
                            Some(ids)
                        }
                        Err(e) => {
                            tracing::error!("{count} events could not be recorded: {e}");
                            counts.not_stored.fetch_add(count, Ordering::Relaxed);
                            None
                        }
                    };
                    // After storing, so each exported event carries its id; exported even when
                    // the store failed (with no id), as the output may be all there is then.
                    if let Some(sink) = &mut sink {
                        export(sink, &records, ids.as_deref(), &counts);
                    }
                }
            })
            .context("starting the event recorder")?;
        Ok(Self { queue: Some(queue), script_opens, thread: Some(thread), stats })
    }

    /// Hands events to the recorder; called as they are read, so that a file known by name is
    /// identified at once (see [`Received::new`]).
    pub fn submit(&self, batch: Vec<KernelEvent>) {
        let Some(queue) = &self.queue else { return };
        let batch = batch.into_iter().map(|event| Received::new(event, &self.script_opens)).collect();
        match queue.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) => {
                tracing::error!("{} events could not be recorded: the recorder is behind", batch.len());
                self.stats.not_stored.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
    }

    /// Events read but not handed to the recorder.
    pub fn count_not_stored(&self, count: u64) {
        self.stats.not_stored.fetch_add(count, Ordering::Relaxed);
    }

    /// Records what is queued, then stops.
    pub fn finish(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes a batch to the events output, then flushes it; failures are counted and logged once
/// per batch, never retried (the events are in the store).
fn export(sink: &mut Sink, records: &[EventRecord], ids: Option<&[i64]>, counts: &RecorderStats) {
    let (mut written, mut left_out) = (0u64, 0u64);
    let mut failure = None;
    for (i, record) in records.iter().enumerate() {
        match sink.write(ids.map(|ids| ids[i]), record) {
            Ok(true) => written += 1,
            Ok(false) => left_out += 1,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Err(e) = sink.flush() {
        failure.get_or_insert(e);
    }
    let lost = records.len() as u64 - written;
    if let Some(e) = failure {
        tracing::error!("{lost} events not written out: {e}");
    } else if left_out > 0 {
        tracing::error!("{left_out} events not written out: each is longer than events.max_bytes");
    }
    counts.exported.fetch_add(written, Ordering::Relaxed);
    counts.not_exported.fetch_add(lost, Ordering::Relaxed);
}

struct EventContext {
    cgroups: CgroupNames,
    host_root: PathBuf,
}

impl EventContext {
    fn new(host_root: PathBuf) -> Self {
        Self { cgroups: CgroupNames::new(), host_root }
    }

    /// The record of an event; `None` for a file known by name that turns out to be allowed.
    fn record(&mut self, engine: &Engine, received: Received) -> Option<EventRecord> {
        let Received { mut event, identity } = received;
        let mut reason: std::borrow::Cow<'static, str> = event.reason.into();
        if event.by_name {
            let decided = identity.map(|identity| identity.decide(engine, &mut event));
            tracing::debug!(name = ?event.path, digest = ?event.digest.map(hex::encode), allowed = matches!(decided, Some(Decided::Allowed)), "decided");
            match decided {
                Some(Decided::Allowed) => return None,
                Some(Decided::NotAllowed) => {}
                None => reason = NOT_IDENTIFIED.into(),
            }
        }
        let path = locate(&event);
        // The kernel's own hash when it made one; otherwise the file is hashed after the fact,
        // except on a filesystem whose server could make that read hang or lie.
        let sha256 = match event.digest {
            Some(d) => Some(Sha256(d)),
            None if event.reason == reason_name(REASON_UNTRUSTED_FS) => None,
            None if event.by_name => None,
            None => path.as_ref().and_then(|p| digest(engine, p, &event, &self.host_root)),
        };
        let cgroup_path = self.cgroups.path(event.cgroup_id);
        let context = process_context(&event);
        Some(EventRecord {
            at_ms: boot_ns_to_epoch_ms(event.boot_ns),
            hook: event.hook.into(),
            action: event.action.into(),
            reason,
            tgid: event.tgid,
            pid: event.pid,
            uid: event.uid,
            comm: event.comm,
            cgroup_id: event.cgroup_id,
            container: cgroup_path.as_deref().and_then(crate::workload::container_of),
            cgroup_path,
            dev: event.dev,
            ino: event.ino,
            path: path.map(|p| p.display().to_string()).or(event.path),
            sha256,
            context,
        })
    }
}

/// The longest command line kept per process.
const MAX_COMMAND: usize = 512;

/// Who tried: read from /proc now, so a process that already exited leaves only its parent.
fn process_context(event: &KernelEvent) -> ProcessContext {
    let command = |pid: u32| -> Option<String> {
        let mut raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        raw.truncate(MAX_COMMAND);
        let text: String = String::from_utf8_lossy(&raw).replace('\0', " ").trim_end().to_owned();
        (!text.is_empty()).then_some(text)
    };
    let executable = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).ok().map(|p| p.display().to_string());
    ProcessContext {
        ppid: event.ppid,
        exe: executable(event.tgid),
        command: command(event.tgid),
        parent_command: (event.ppid != 0).then(|| command(event.ppid)).flatten(),
        parent_exe: (event.ppid != 0).then(|| executable(event.ppid)).flatten(),
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
    // The link itself is followed for the identity: its text is a path in the process's view,
    // which need not be the daemon's (a container, or the daemon in one).
    let exe = format!("/proc/{}/exe", event.tgid);
    if std::fs::metadata(&exe).is_ok_and(|m| same_identity(&m, event)) {
        return std::fs::read_link(&exe).ok();
    }
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", event.tgid)).ok()?;
    let dev = format!("{:02x}:{:02x}", event.dev >> 20, event.dev & 0xf_ffff);
    maps.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() >= 6 && f[3] == dev && f[4] == event.ino.to_string()).then(|| PathBuf::from(f[5]))
    })
}

/// The digest of the event's file, named `path` in the process's view: the first place to open
/// it (see [`places_to_open`]) that holds the event's file (same device and inode) is hashed.
fn digest(engine: &Engine, path: &Path, event: &KernelEvent, host_root: &Path) -> Option<Sha256> {
    places_to_open(event.tgid, path, host_root).into_iter().find_map(|place| {
        let meta = std::fs::metadata(&place).ok()?;
        if event.ino != 0 && !same_identity(&meta, event) {
            return None; // another file by that name here, or the name now points at another file
        }
        let stamp = FileStamp::of(&meta);
        engine.digest_or_hash(&stamp, &path.display().to_string(), false, || hash_file(&place)).ok().map(|h| h.digest)
    })
}

/// The one mapping from a path a process named (absolute, in its own view: the kernel's path,
/// its executable's link, a line of its maps) to the paths the daemon opens to hash that file,
/// in order:
///
/// 1. `/proc/<tgid>/root/<path>`: the process's own root and mount namespace. Right for a process
///    in a container (whose paths mean nothing on the host) and for a daemon that runs in a
///    container itself with the host's pid namespace (the Kubernetes DaemonSet), with no mount at
///    all; reading another user's process needs `CAP_SYS_PTRACE`. Gone once the process exits.
/// 2. `<host_root>/<path>`: the host's `/` as the daemon sees it (`/` on the host, the read-only
///    `/host` mount in the DaemonSet), for a process of the host's mount namespace that has
///    already exited (a denied exec often ends its process at once).
///
/// This is preferred to a host-root prefix alone, which names the wrong file (or none) for
/// every containerised process. The caller compares each place's device and inode with the
/// event's, so a place holding another file is never hashed as this one. A path that is not
/// absolute, or climbs with `..` (which could leave the process's root through the proc link),
/// has no place.
fn places_to_open(tgid: u32, path: &Path, host_root: &Path) -> Vec<PathBuf> {
    use std::path::Component;
    let Ok(relative) = path.strip_prefix("/") else { return Vec::new() };
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Vec::new();
    }
    vec![Path::new("/proc").join(tgid.to_string()).join("root").join(relative), host_root.join(relative)]
}

fn same_identity(meta: &std::fs::Metadata, event: &KernelEvent) -> bool {
    meta.ino() == event.ino && kernel_dev(meta.dev()) == event.dev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_opened_in_the_process_view_then_under_the_host_root() {
        let places = places_to_open(42, Path::new("/usr/bin/tool"), Path::new("/host"));
        assert_eq!(places, [PathBuf::from("/proc/42/root/usr/bin/tool"), PathBuf::from("/host/usr/bin/tool")]);
        // On the host, the host root is `/` and the path is itself.
        let places = places_to_open(42, Path::new("/usr/bin/tool"), Path::new("/"));
        assert_eq!(places[1], PathBuf::from("/usr/bin/tool"));
        // Relative paths and `..` have no place.
        assert!(places_to_open(42, Path::new("usr/bin/tool"), Path::new("/")).is_empty());
        assert!(places_to_open(42, Path::new("/usr/../../etc/shadow"), Path::new("/host")).is_empty());
    }

    #[test]
    fn the_process_view_opens_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tool");
        std::fs::write(&file, b"bytes").unwrap();
        let places = places_to_open(std::process::id(), &file, Path::new("/nonexistent-host-root"));
        let (a, b) = (std::fs::metadata(&file).unwrap(), std::fs::metadata(&places[0]).unwrap());
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
        assert_eq!(std::fs::read(&places[0]).unwrap(), b"bytes");
        assert!(std::fs::metadata(&places[1]).is_err());
    }
}
