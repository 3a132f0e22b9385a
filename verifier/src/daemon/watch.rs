//! Watching filesystems with fanotify so the verdict map follows the files:
//! - `FAN_OPEN_EXEC_PERM`: the kernel holds an exec until the daemon answers. The daemon hashes
//!   the file (unless its stamp is cached), records its verdict, then allows the open; the LSM
//!   hook that runs next finds the verdict. So the first exec of an allowlisted binary written a
//!   moment earlier succeeds. The daemon always answers "allow": the LSM decides and reports.
//! - `FAN_CLOSE_WRITE`: a written file is hashed on a worker thread, so a library written and
//!   closed is trusted by the time it is loaded.
//! - Overlay filesystems (container roots) are marked as they are mounted: the mount table is
//!   watched through `/proc/self/mountinfo`.
use std::{
    collections::HashSet,
    ffi::CString,
    fs::File,
    io::Read as _,
    os::{
        fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
        unix::{ffi::OsStrExt as _, fs::MetadataExt as _},
    },
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread::JoinHandle,
};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use super::{
    engine::Engine,
    script_opens::{ScriptOpen, ScriptOpens},
};
use crate::{file_stamp::FileStamp, hashing::hash_open_file, scan::is_candidate_file};

#[derive(Default)]
pub struct WatchStats {
    pub exec_permission_events: AtomicU64,
    /// Files whose execs the kernel no longer hands over until they are modified (see
    /// [`SkipMarks`]), counted since the last flush: an upper bound, as the kernel drops the
    /// mark of a file that is written.
    pub skip_marks: AtomicU64,
    pub skip_mark_flushes: AtomicU64,
    pub close_write_events: AtomicU64,
    pub overflows: AtomicU64,
    pub hash_errors: AtomicU64,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct WatchedFs {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub dev: u64,
}

pub struct Watcher {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub stats: Arc<WatchStats>,
    pub watched: Arc<Mutex<Vec<WatchedFs>>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

const EVENT_MASK: u64 = libc::FAN_OPEN_EXEC_PERM | libc::FAN_CLOSE_WRITE;
const POLL_MS: i32 = 250;

struct Fanotify(OwnedFd);

impl Fanotify {
    fn new() -> Result<Self> {
        // Unlimited queue: a dropped permission event is an exec that nobody hashed, and the LSM
        // would deny it; losing none is worth the memory of a burst of close-write events.
        let flags = libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC | libc::FAN_NONBLOCK | libc::FAN_UNLIMITED_QUEUE;
        let event_flags = (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as u32;
        // SAFETY: plain syscall.
        let fd = unsafe { libc::fanotify_init(flags, event_flags) };
        if fd < 0 {
            bail!("fanotify_init: {}", std::io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn mark_filesystem(&self, path: &Path) -> std::io::Result<()> {
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
        // SAFETY: valid fd and NUL-terminated path.
        let rc = unsafe {
            libc::fanotify_mark(
                self.0.as_raw_fd(),
                libc::FAN_MARK_ADD | libc::FAN_MARK_FILESYSTEM,
                EVENT_MASK,
                libc::AT_FDCWD,
                c_path.as_ptr(),
            )
        };
        if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
    }

    /// Suppresses every event about this file, whatever mark would report it. The daemon must
    /// never be handed a descriptor of its own SQLite files: closing any descriptor of a file
    /// drops all of the process's POSIX locks on it, SQLite's included.
    fn ignore_file(&self, path: &Path) -> std::io::Result<()> {
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
        // SAFETY: valid fd and NUL-terminated path.
        let rc = unsafe {
            libc::fanotify_mark(
                self.0.as_raw_fd(),
                libc::FAN_MARK_ADD | libc::FAN_MARK_IGNORED_MASK | libc::FAN_MARK_IGNORED_SURV_MODIFY,
                EVENT_MASK,
                libc::AT_FDCWD,
                c_path.as_ptr(),
            )
        };
        if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
    }

    /// Stops exec-permission events about the open `file` until it is next modified: an ignore
    /// mark that does not survive modification is cleared by the kernel on the file's first
    /// write or truncation, so changed content reaches the daemon again.
    fn skip_execs_until_modified(&self, file: &File) -> std::io::Result<()> {
        // SAFETY: valid descriptors; a NULL path marks the inode of `file` itself.
        let rc = unsafe {
            libc::fanotify_mark(
                self.0.as_raw_fd(),
                libc::FAN_MARK_ADD | libc::FAN_MARK_IGNORED_MASK,
                libc::FAN_OPEN_EXEC_PERM,
                file.as_raw_fd(),
                std::ptr::null(),
            )
        };
        if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
    }

    /// Removes every mark on single files (the filesystems' marks stay).
    fn flush_file_marks(&self) -> std::io::Result<()> {
        // SAFETY: valid descriptor; FAN_MARK_FLUSH takes no path.
        let rc = unsafe {
            libc::fanotify_mark(self.0.as_raw_fd(), libc::FAN_MARK_FLUSH, 0, libc::AT_FDCWD, std::ptr::null())
        };
        if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
    }

    fn allow(&self, event_fd: i32) {
        let response = libc::fanotify_response { fd: event_fd, response: libc::FAN_ALLOW };
        // SAFETY: writes a fanotify_response from a valid struct.
        let n = unsafe {
            libc::write(
                self.0.as_raw_fd(),
                (&response as *const libc::fanotify_response).cast(),
                size_of::<libc::fanotify_response>(),
            )
        };
        if n < 0 {
            tracing::error!("fanotify response: {}", std::io::Error::last_os_error());
        }
    }
}

/// The most files whose execs are skipped at once. Each mark pins its inode in the kernel's
/// memory (a few hundred bytes with its dentry), so the marks are bounded: at the limit they are
/// all flushed and placed again as files are executed, the most used first.
pub const SKIP_MARKS_MAX: u64 = 65_536;

/// Files hashed and unchanged since never wait for the daemon again: once the daemon knows a
/// file's digest for its current stamp (so the verdict map is right for it, allowed or not), it
/// marks the file so the kernel stops holding its execs, until the file is written. `#!` scripts
/// are not marked: the observe program identifies a script by the open the daemon is handed (see
/// `script_opens`).
#[derive(Clone)]
struct SkipMarks {
    fan: Arc<Fanotify>,
    /// The store's files, whose ignore marks a flush removes and which are marked again.
    never_handed_over: Arc<[PathBuf]>,
    stats: Arc<WatchStats>,
}

impl SkipMarks {
    fn mark(&self, file: &File) {
        if self.stats.skip_marks.load(Ordering::Relaxed) >= SKIP_MARKS_MAX {
            self.flush();
        }
        match self.fan.skip_execs_until_modified(file) {
            Ok(()) => {
                self.stats.skip_marks.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::debug!("fanotify ignore mark: {e}"),
        }
    }

    fn flush(&self) {
        tracing::info!("{SKIP_MARKS_MAX} files skip the daemon at their exec: flushing those marks");
        if let Err(e) = self.fan.flush_file_marks() {
            tracing::error!("flushing fanotify marks: {e}");
            return;
        }
        for path in self.never_handed_over.iter().filter(|p| p.exists()) {
            if let Err(e) = self.fan.ignore_file(path) {
                tracing::error!("fanotify ignore mark on {}: {e}", path.display());
            }
        }
        self.stats.skip_marks.store(0, Ordering::Relaxed);
        self.stats.skip_mark_flushes.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks again the files the file cache knows unchanged, after a restart (marks belong to
    /// the daemon's fanotify descriptor): each is opened and compared, never hashed.
    fn rebuild(&self, engine: &Engine) {
        let mut marked = 0;
        for (path, stamp) in engine.cached_file_stamps(SKIP_MARKS_MAX as usize) {
            let Ok(file) = crate::hashing::open_for_hashing(Path::new(&path)) else { continue };
            if file.metadata().is_ok_and(|m| FileStamp::of(&m) == stamp) && !is_script(&file) {
                self.mark(&file);
                marked += 1;
            }
        }
        tracing::info!(files = marked, "execs of unchanged cached files skip the daemon");
    }
}

/// A mount from /proc/self/mountinfo.
struct Mount {
    mount_point: PathBuf,
    fstype: String,
}

fn mounts() -> Vec<Mount> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split_whitespace().nth(4)?;
            let fstype = right.split_whitespace().next()?;
            Some(Mount { mount_point: PathBuf::from(super::scope::unescape(mount_point)), fstype: fstype.to_owned() })
        })
        .collect()
}

struct Marks {
    fan: Arc<Fanotify>,
    devs: HashSet<u64>,
    watched: Arc<Mutex<Vec<WatchedFs>>>,
}

impl Marks {
    fn add(&mut self, mount_point: &Path, fstype: &str) -> std::io::Result<bool> {
        let dev = std::fs::metadata(mount_point)?.dev();
        if !self.devs.insert(dev) {
            return Ok(false);
        }
        self.fan.mark_filesystem(mount_point)?;
        tracing::info!(mount = %mount_point.display(), fstype, "watching filesystem");
        self.watched.lock().unwrap_or_else(|e| e.into_inner()).push(WatchedFs {
            mount_point: mount_point.to_owned(),
            fstype: fstype.to_owned(),
            dev,
        });
        Ok(true)
    }

    fn add_new_overlays(&mut self) {
        for m in mounts().into_iter().filter(|m| m.fstype == "overlay") {
            if let Err(e) = self.add(&m.mount_point, &m.fstype) {
                tracing::warn!(mount = %m.mount_point.display(), "cannot watch overlay: {e}");
            }
        }
    }
}

/// Starts watching the filesystems holding `paths` (and overlays as they appear, if asked).
/// Events about the files in `ignore` (the store's) are never delivered.
pub fn start(
    engine: Arc<Engine>,
    paths: &[PathBuf],
    overlays: bool,
    ignore: &[PathBuf],
    script_opens: Arc<ScriptOpens>,
) -> Result<Watcher> {
    let fan = Arc::new(Fanotify::new()?);
    let stats = Arc::new(WatchStats::default());
    let skips = SkipMarks { fan: fan.clone(), never_handed_over: ignore.into(), stats: stats.clone() };
    for path in ignore.iter().filter(|p| p.exists()) {
        fan.ignore_file(path).with_context(|| format!("fanotify ignore mark on {}", path.display()))?;
    }
    let watched = Arc::new(Mutex::new(Vec::new()));
    let mut marks = Marks { fan: fan.clone(), devs: HashSet::new(), watched: watched.clone() };
    let all = mounts();
    for path in paths {
        let canonical = path.canonicalize().with_context(|| format!("watch {}", path.display()))?;
        let fstype = all
            .iter()
            .filter(|m| canonical.starts_with(&m.mount_point))
            .max_by_key(|m| m.mount_point.as_os_str().len())
            .map_or("unknown".to_owned(), |m| m.fstype.clone());
        marks
            .add(&canonical, &fstype)
            .with_context(|| format!("fanotify mark on the filesystem of {}", canonical.display()))?;
    }
    if overlays {
        marks.add_new_overlays();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (written_tx, written_rx) = mpsc::channel::<(File, PathBuf)>();
    let writer = {
        let (engine, stats) = (engine.clone(), stats.clone());
        std::thread::Builder::new()
            .name("provgate-written".into())
            .spawn(move || hash_written_files(&engine, &stats, written_rx))?
    };
    let rebuild = {
        let (engine, skips) = (engine.clone(), skips.clone());
        std::thread::Builder::new().name("provgate-skip-marks".into()).spawn(move || skips.rebuild(&engine))?
    };
    let reader = {
        let (stop, stats) = (stop.clone(), stats.clone());
        std::thread::Builder::new().name("provgate-fanotify".into()).spawn(move || {
            let exec_opens = ExecOpens { engine: &engine, stats: &stats, scripts: &script_opens, skips };
            read_events(&fan, &exec_opens, &stop, marks, overlays, written_tx)
        })?
    };
    Ok(Watcher { stop, threads: vec![reader, writer, rebuild], stats, watched })
}

/// What an exec's open needs: the engine to record the verdict in, the counters, the memory of
/// scripts opened to execute, and the marks that spare unchanged files the wait.
struct ExecOpens<'a> {
    engine: &'a Engine,
    stats: &'a WatchStats,
    scripts: &'a ScriptOpens,
    skips: SkipMarks,
}

fn read_events(
    fan: &Fanotify,
    exec_opens: &ExecOpens,
    stop: &AtomicBool,
    mut marks: Marks,
    overlays: bool,
    written: mpsc::Sender<(File, PathBuf)>,
) {
    let own_pid = std::process::id() as i32;
    let mountinfo = File::open("/proc/self/mountinfo").ok();
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = vec![libc::pollfd { fd: fan.0.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        if let (true, Some(m)) = (overlays, &mountinfo) {
            // The mount table signals changes with POLLPRI.
            fds.push(libc::pollfd { fd: m.as_raw_fd(), events: libc::POLLPRI, revents: 0 });
        }
        // SAFETY: fds is a valid array of pollfd.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, POLL_MS) };
        if ready <= 0 {
            continue;
        }
        if fds.len() > 1 && fds[1].revents & (libc::POLLPRI | libc::POLLERR) != 0 {
            if let Some(mut m) = mountinfo.as_ref() {
                // Reading to the end re-arms the notification.
                let _ = std::io::Seek::seek(&mut m, std::io::SeekFrom::Start(0));
                let _ = m.read_to_end(&mut Vec::new());
            }
            marks.add_new_overlays();
        }
        if fds[0].revents & libc::POLLIN == 0 {
            continue;
        }
        // SAFETY: reads into our buffer.
        let n = unsafe { libc::read(fan.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            continue;
        }
        let mut offset = 0usize;
        while offset + size_of::<libc::fanotify_event_metadata>() <= n as usize {
            // SAFETY: the kernel wrote complete event records; read_unaligned copes with any
            // alignment of the buffer.
            let event: libc::fanotify_event_metadata =
                unsafe { std::ptr::read_unaligned(buf.as_ptr().add(offset).cast()) };
            if event.event_len == 0 || event.vers != libc::FANOTIFY_METADATA_VERSION {
                tracing::error!("unexpected fanotify event format (version {})", event.vers);
                break;
            }
            offset += event.event_len as usize;
            if event.mask & libc::FAN_Q_OVERFLOW != 0 {
                exec_opens.stats.overflows.fetch_add(1, Ordering::Relaxed);
                tracing::error!("fanotify queue overflowed: some file changes were not seen");
            }
            if event.fd < 0 {
                continue;
            }
            // SAFETY: the kernel gave us this descriptor with the event; we own it.
            let file = File::from(unsafe { OwnedFd::from_raw_fd(event.fd) });
            if event.mask & libc::FAN_OPEN_EXEC_PERM != 0 {
                exec_opens.stats.exec_permission_events.fetch_add(1, Ordering::Relaxed);
                if event.pid != own_pid {
                    verdict_before_exec(exec_opens, event.pid as u32, &file);
                }
                fan.allow(event.fd);
            }
            if event.mask & libc::FAN_CLOSE_WRITE != 0 && event.pid != own_pid {
                exec_opens.stats.close_write_events.fetch_add(1, Ordering::Relaxed);
                let path = fd_path(event.fd);
                let _ = written.send((file, path));
            }
        }
    }
}

fn fd_path(fd: i32) -> PathBuf {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_else(|_| PathBuf::from("?"))
}

/// The synchronous path: make sure the kernel map knows this file before the exec proceeds, and
/// remember a `#!` script's identity for the observe program, which only learns its name. A file
/// whose digest is then known is marked so its next execs do not wait, until it is written.
fn verdict_before_exec(exec_opens: &ExecOpens, tgid: u32, file: &File) {
    let ExecOpens { engine, stats, scripts, skips } = exec_opens;
    let Ok(meta) = file.metadata() else { return };
    if !meta.is_file() {
        return;
    }
    let stamp = FileStamp::of(&meta);
    let script = is_script(file);
    let needs_verdict = !engine.has_current_verdict(&stamp);
    let path = if script || needs_verdict { fd_path(file.as_raw_fd()) } else { PathBuf::new() };
    if needs_verdict {
        let hashed = engine.digest_or_hash(&stamp, &path.display().to_string(), true, || hash_open_file(file, &path));
        if let Err(e) = hashed {
            stats.hash_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("hashing before exec: {e}");
            return;
        }
    }
    if script {
        scripts.remember(ScriptOpen { tgid, stamp, path });
    } else {
        skips.mark(file);
    }
}

fn is_script(file: &File) -> bool {
    use std::os::unix::fs::FileExt as _;
    let mut start = [0u8; 2];
    file.read_at(&mut start, 0).is_ok_and(|n| n == 2) && start == *b"#!"
}

fn hash_written_files(engine: &Engine, stats: &WatchStats, written: mpsc::Receiver<(File, PathBuf)>) {
    while let Ok((file, path)) = written.recv() {
        let Ok(meta) = file.metadata() else { continue };
        if !is_candidate_file(&file, &meta) {
            continue;
        }
        match hash_open_file(&file, &path) {
            Ok(hashed) => engine.record(&path.display().to_string(), hashed, true),
            Err(e) => {
                stats.hash_errors.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("hashing a written file: {e}");
            }
        }
    }
}
