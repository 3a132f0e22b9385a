//! `provgate run`: load and attach the programs, keep the verdict map true as files and trust
//! change, record events, answer the CLI.
mod api;
mod cgroups;
pub mod engine;
mod events;
mod lock;
pub mod scope;
mod self_trust;
pub mod status;
pub mod watch;

use std::{
    os::{fd::FromRawFd as _, unix::fs::MetadataExt as _},
    path::{Path, PathBuf},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use aya::maps::{MapData, RingBuf};
use provgate_common::{HOOK_COUNT, MODE_OFF, Settings};
use tokio::{
    io::unix::AsyncFd,
    signal::unix::{SignalKind, signal},
    sync::mpsc,
};

use crate::{
    filecache::FileCache,
    kernel::{
        events::{decode, hook_name},
        loader::{self, Attached, Enforcement, LoaderConfig},
    },
    scan,
    store::{EventRecord, Store, now_ms},
};
use engine::Engine;
use scope::{CgroupScope, Mode};
use status::{DaemonCounters, DaemonStatus, ProgramStat, State};

#[derive(Clone, Debug)]
pub struct DaemonConfig {
    pub mode: Mode,
    pub scopes: Vec<(PathBuf, Mode)>,
    pub roots: Vec<PathBuf>,
    pub watch: Vec<PathBuf>,
    pub watch_overlays: bool,
    pub keep_on_exit: bool,
    pub observe_only: bool,
    pub deny_anon_exec: bool,
    pub hardened: bool,
    pub debugger_cgroups: Vec<PathBuf>,
    pub admin_cgroups: Vec<PathBuf>,
    pub pin_dir: PathBuf,
    pub verdict_capacity: u32,
    pub event_buffer_bytes: u32,
    pub metrics_address: Option<String>,
    pub store: PathBuf,
    pub run_dir: PathBuf,
    /// Filesystem types or mount points trusted although the kernel cannot vouch for their bytes.
    pub trusted_filesystems: Vec<String>,
    /// Files hardened mode protects beside the store: the configuration, trust policy and root.
    pub protected_files: Vec<PathBuf>,
}

/// Unread bytes in the ring buffer after which the kernel wakes the reader; below that the
/// reader picks events up on its next poll tick.
const WAKEUP_BYTES: u64 = 64 * 1024;
const POLL_EVENTS: Duration = Duration::from_millis(200);
/// How often the store is checked for new trust (a reload request applies it at once).
const REFRESH: Duration = Duration::from_millis(500);
/// The kernel's identifier of the initial pid namespace (PROC_PID_INIT_INO).
const INIT_PID_NS: u64 = 0xEFFF_FFFC;

/// SIGTERM and SIGINT, registered before anything else so that a stop request that arrives
/// during start-up is honoured by a clean shutdown instead of the default action.
struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> Result<Self> {
        Ok(Self { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

struct Daemon {
    config: DaemonConfig,
    store: Store,
    store_version: i64,
    engine: Arc<Engine>,
    watcher: Option<watch::Watcher>,
    attached: Attached,
    scopes: Vec<CgroupScope>,
    started_at_ms: i64,
    state: State,
    events_recorded: u64,
    events_not_stored: u64,
    last_dropped: u64,
    kernel: crate::kernel::support::KernelSupport,
}

pub fn run(config: DaemonConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run_async(config))
}

async fn run_async(config: DaemonConfig) -> Result<()> {
    let mut stop = StopSignals::register()?;
    // Everything the daemon creates (socket, store, pins) is root-only.
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0o077) };
    let _lock = lock::acquire(&config.run_dir)?;
    let started_at_ms = now_ms();
    let mut store = Store::open(&config.store)?;
    store.integrity_check()?;
    let scopes = resolve_scopes(&config)?;

    let mut loaded = loader::load(&LoaderConfig {
        pin_dir: config.pin_dir.clone(),
        keep_on_exit: config.keep_on_exit,
        // Pinned while running, so a killed daemon leaves enforcement on.
        hold_pins: config.keep_on_exit || config.hardened,
        observe_only: config.observe_only,
        verdict_capacity: config.verdict_capacity,
        event_buffer_bytes: config.event_buffer_bytes,
    })
    .context("loading the BPF programs")?;
    tracing::info!("{}", loaded.support.summary());

    let enforcing = loaded.enforcement == Enforcement::Lsm;
    let engine = Arc::new(initial_scan(&config, &mut store, &mut loaded)?);
    let mut watch_paths = config.roots.clone();
    watch_paths.extend(config.watch.iter().cloned());
    // The enforcing programs hash files themselves; only the observe program needs the daemon
    // to hash what is written and executed.
    let watcher = if enforcing || (watch_paths.is_empty() && !config.watch_overlays) {
        None
    } else {
        // The store's files exist by now (WAL mode keeps -wal and -shm while the store is open).
        let store_files: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{}{suffix}", config.store.display())))
            .collect();
        Some(
            watch::start(engine.clone(), &watch_paths, config.watch_overlays, &store_files)
                .context("watching files")?,
        )
    };

    let settings = settings(&config, &scopes)?;
    loaded.maps.set_scopes(&scopes.iter().map(|s| (s.id, s.kernel_value())).collect::<Vec<_>>())?;
    let filesystems = crate::kernel::filesystems::resolve(&config.trusted_filesystems)?;
    loaded.maps.set_untrusted_filesystems(&filesystems.untrusted_magics)?;
    loaded.maps.set_trusted_devices(&filesystems.trusted_devices)?;
    loaded.maps.write_settings(&settings)?;
    let kernel = loaded.support.clone();
    let mut attached = loaded.attach().context("attaching the BPF programs")?;
    if settings.hardened != 0 {
        let protected = attached.protected_objects(&protected_paths(&config))?;
        attached.maps.set_protected(&protected).context("protecting provgate's objects")?;
    }
    let ring = attached.maps.take_events().context("event ring buffer")?;

    let (calls_tx, calls) = mpsc::channel(64);
    let socket = api::bind_socket(&crate::cli::client::socket_path(&config.run_dir))?;
    tokio::spawn(api::serve_socket(socket, calls_tx.clone()));
    if let Some(address) = &config.metrics_address {
        let listener = api::bind_metrics(address).await?;
        tokio::spawn(api::serve_metrics(listener, calls_tx));
    }

    let mut daemon = Daemon {
        store_version: store.data_version()?,
        store,
        engine,
        watcher,
        attached,
        scopes,
        started_at_ms,
        state: State::Active,
        events_recorded: 0,
        events_not_stored: 0,
        last_dropped: 0,
        kernel,
        config,
    };
    tracing::info!(
        mode = %daemon.config.mode,
        scopes = ?daemon.scopes.iter().map(|s| format!("{} ({})", s.path.display(), s.mode)).collect::<Vec<_>>(),
        enforcement = ?daemon.attached.enforcement,
        took_over = daemon.attached.took_over,
        verdicts = daemon.engine.map_entries(),
        "provgate is active"
    );
    let result = daemon.serve(ring, calls, &mut stop).await;

    daemon.state = State::Stopping;
    daemon.watcher.take();
    daemon.save_cache();
    if daemon.config.keep_on_exit {
        // The pinned programs keep enforcing; no exemption must outlive this process, whose
        // pid could be reused by anything.
        daemon.attached.maps.write_settings(&Settings { daemon_tgid: 0, ..settings })?;
    }
    let _ = std::fs::remove_file(crate::cli::client::socket_path(&daemon.config.run_dir));
    daemon.attached.shutdown();
    result
}

/// Builds the engine and makes the kernel maps match it exactly. For the observe-only program,
/// which cannot hash, hashes what sources name and what the roots hold first (in parallel,
/// reusing the file cache); the enforcing programs hash files themselves.
fn initial_scan(config: &DaemonConfig, store: &mut Store, loaded: &mut loader::Loaded) -> Result<Engine> {
    let started = Instant::now();
    let mut cache = FileCache::load(store)?;
    let mut errors = Vec::new();
    let observing = loaded.enforcement != Enforcement::Lsm;
    // Files a source names are hashed whatever they are; under the roots, only candidates.
    let named = if observing { store.recorded_paths()? } else { Vec::new() };
    let roots = if observing { config.roots.as_slice() } else { &[] };
    let under_roots = scan::files_under(roots, &mut errors);
    let (mut hashed, mut hash_errors, mut stats) =
        scan::hash_paths_checkpointed(&named, scan::Select::All, &mut cache, store, None)?;
    let (more, more_errors, more_stats) =
        scan::hash_paths_checkpointed(&under_roots, scan::Select::Candidates, &mut cache, store, None)?;
    hashed.extend(more);
    hash_errors.extend(more_errors);
    stats.add(&more_stats);
    errors.extend(hash_errors.iter().map(ToString::to_string));
    for error in errors.iter().take(20) {
        tracing::warn!("scan: {error}");
    }
    if errors.len() > 20 {
        tracing::warn!("scan: {} more errors not shown", errors.len() - 20);
    }
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        files = stats.files,
        not_candidates = stats.skipped,
        hashed = stats.hashed,
        cache_hits = stats.cache_hits,
        mb_hashed = stats.bytes_hashed / 1_000_000,
        seconds,
        "start-up scan"
    );
    match cache.prune_vanished(store) {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "forgot cached files that no longer exist"),
        Err(e) => tracing::warn!("pruning the file cache: {e}"),
    }
    let map = loaded.maps.take_verdicts().context("verdict map")?;
    let allowed_map = loaded.maps.take_allowed().context("allowed-digest map")?;
    let engine = Engine::new(map, allowed_map, cache, store.allowed_digests()?, self_trust::own_executable()?);
    engine.stats.hashes.fetch_add(stats.hashed as u64, Ordering::Relaxed);
    engine.stats.bytes_hashed.fetch_add(stats.bytes_hashed, Ordering::Relaxed);
    engine.stats.cache_hits.fetch_add(stats.cache_hits as u64, Ordering::Relaxed);
    let changes = engine.sync_from_scratch()?;
    tracing::info!(
        allowed_files = hashed.iter().filter(|h| engine.verdict(&h.file.stamp.key).is_some()).count(),
        inserted = changes.inserted,
        removed = changes.removed,
        digests = engine.allowed_digests(),
        "kernel maps synchronised"
    );
    Ok(engine)
}

/// The daemon's thread-group id as the kernel sees it, or 0 (no exemption) when the daemon
/// runs in a child pid namespace, where getpid() is not the id the programs compare with.
fn daemon_tgid() -> u32 {
    let in_init_ns = std::fs::metadata("/proc/self/ns/pid").is_ok_and(|m| m.ino() == INIT_PID_NS);
    if in_init_ns {
        std::process::id()
    } else {
        tracing::warn!(
            "provgate runs in a child pid namespace: its own process cannot be exempted from \
             enforcement; run it in the host pid namespace (docker run --pid=host)"
        );
        0
    }
}

/// The enforcement scopes, then the debugger and admin cgroups with the mode of the scope each
/// sits in.
fn resolve_scopes(config: &DaemonConfig) -> Result<Vec<CgroupScope>> {
    let mut scopes =
        config.scopes.iter().map(|(path, mode)| scope::resolve(path, *mode)).collect::<Result<Vec<_>, _>>()?;
    let host = scopes.is_empty().then_some(config.mode);
    let roles =
        config.debugger_cgroups.iter().map(|p| (p, true)).chain(config.admin_cgroups.iter().map(|p| (p, false)));
    for (path, debugger) in roles {
        let Some(mut role) = scope::resolve_role(path, &scopes, host)? else {
            tracing::warn!(cgroup = %path.display(), "in no enforced scope: nothing to exempt it from");
            continue;
        };
        if let Some(existing) = scopes.iter_mut().find(|s| s.id == role.id) {
            existing.debugger |= debugger;
            existing.admin |= !debugger;
            continue;
        }
        role.debugger = debugger;
        role.admin = !debugger;
        scopes.push(role);
    }
    Ok(scopes)
}

/// provgate's own files: the store (with SQLite's companions), the configuration, the trust
/// policy and root, the run and pin directories.
fn protected_paths(config: &DaemonConfig) -> loader::ProtectedPaths {
    let store = &config.store;
    let files = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", store.display())))
        .chain(config.protected_files.iter().cloned())
        .collect();
    loader::ProtectedPaths { files, dirs: vec![config.run_dir.clone(), config.pin_dir.clone()] }
}

fn settings(config: &DaemonConfig, scopes: &[CgroupScope]) -> Result<Settings> {
    // Role cgroups only refine a scope; they do not make the host scoped.
    let workload_scopes = config.scopes.len();
    Ok(Settings {
        host_mode: if workload_scopes == 0 { config.mode.to_kernel() } else { MODE_OFF },
        scope_levels: scopes.iter().fold(0u32, |mask, s| mask | (1 << s.level)),
        daemon_tgid: daemon_tgid(),
        deny_anon_exec: u32::from(config.deny_anon_exec),
        wakeup_bytes: WAKEUP_BYTES,
        daemon_start_ticks: own_start_ticks()?,
        hardened: u32::from(config.hardened),
        memfd_dev: memfd_device(),
    })
}

/// This process's start time in clock ticks since boot, as the programs compute it from the
/// kernel's `start_boottime` (`/proc/self/stat` field 22).
fn own_start_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("/proc/self/stat")?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).context("/proc/self/stat: no command name")?;
    after_comm.split_whitespace().nth(19).and_then(|f| f.parse().ok()).context("/proc/self/stat: no start time")
}

/// The device of the kernel's internal shmem mount, where every memfd lives.
fn memfd_device() -> u32 {
    let name = c"provgate-probe";
    // SAFETY: a valid NUL-terminated name; the descriptor is owned and closed below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        tracing::warn!("memfd_create: {}; memfds are checked like other files", std::io::Error::last_os_error());
        return 0;
    }
    // SAFETY: fd is a fresh descriptor we own.
    let file = std::fs::File::from(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
    file.metadata().map(|m| crate::identity::kernel_dev(m.dev())).unwrap_or(0)
}

impl Daemon {
    async fn serve(
        &mut self,
        ring: RingBuf<MapData>,
        mut calls: mpsc::Receiver<api::Call>,
        stop: &mut StopSignals,
    ) -> Result<()> {
        // SAFETY: the ring buffer owns its map descriptor, which stays open and the same for
        // as long as the AsyncFd owns the ring buffer.
        let mut ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        let mut context = events::EventContext::new();
        let mut poll = tokio::time::interval(POLL_EVENTS);
        let mut refresh = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                ready = ring.readable_mut() => {
                    let mut guard = ready?;
                    self.drain(guard.get_inner_mut(), &mut context);
                    guard.clear_ready();
                }
                _ = poll.tick() => self.drain(ring.get_mut(), &mut context),
                _ = refresh.tick() => {
                    let version = self.store.data_version()?;
                    if version != self.store_version {
                        self.store_version = version;
                        self.reload_trust()?;
                    }
                    self.save_cache();
                    self.watch_drops();
                }
                Some(call) = calls.recv() => {
                    let answer = self.answer(call.request);
                    let _ = call.reply.send(answer);
                }
                _ = stop.recv() => break,
            }
        }
        self.drain(ring.get_mut(), &mut context);
        Ok(())
    }

    fn reload_trust(&mut self) -> Result<engine::MapChanges> {
        let started = Instant::now();
        let changes = self.engine.set_allowed(self.store.allowed_digests()?);
        // Files a new source names by path may never have been hashed.
        let unknown: Vec<PathBuf> = self.store.recorded_paths()?;
        let mut cache = FileCache::default();
        let (hashed, _, _) = scan::hash_paths(
            &unknown.into_iter().filter(|p| self.is_unknown(p)).collect::<Vec<_>>(),
            scan::Select::All,
            &mut cache,
            None,
        );
        for h in hashed {
            self.engine.record(&h.path.display().to_string(), h.file, true);
        }
        tracing::info!(
            inserted = changes.inserted,
            removed = changes.removed,
            allowed = self.engine.allowed_digests(),
            cached = self.engine.cached_files(),
            micros = started.elapsed().as_micros() as u64,
            "trust reloaded"
        );
        Ok(changes)
    }

    fn is_unknown(&self, path: &Path) -> bool {
        std::fs::metadata(path).is_ok_and(|m| self.engine.cached_digest(&crate::identity::FileStamp::of(&m)).is_none())
    }

    fn save_cache(&mut self) {
        let unsaved = self.engine.take_unsaved();
        if !unsaved.is_empty()
            && let Err(e) = self.store.save_file_cache(&unsaved)
        {
            tracing::warn!("saving {} file cache entries: {e}", unsaved.len());
        }
    }

    fn watch_drops(&mut self) {
        let dropped = self.attached.maps.counters().events_dropped;
        if dropped > self.last_dropped {
            tracing::error!(
                dropped = dropped - self.last_dropped,
                total = dropped,
                "the event ring buffer was full: events were dropped (counted, not recorded)"
            );
            self.last_dropped = dropped;
        }
    }

    fn drain(&mut self, ring: &mut RingBuf<MapData>, context: &mut events::EventContext) {
        let mut batch = Vec::new();
        while let Some(item) = ring.next() {
            if let Some(event) = decode(&item) {
                batch.push(event);
            }
        }
        if batch.is_empty() {
            return;
        }
        let records: Vec<EventRecord> = batch.into_iter().map(|e| context.record(&self.engine, e)).collect();
        for r in &records {
            tracing::info!(
                action = r.action, hook = r.hook, reason = r.reason, pid = r.tgid, comm = %r.comm,
                cgroup = r.cgroup_path.as_deref().unwrap_or("?"), "{} {}", r.action, r.path.as_deref().unwrap_or("?")
            );
        }
        match self.store.insert_events(&records) {
            Ok(()) => self.events_recorded += records.len() as u64,
            Err(e) => {
                self.events_not_stored += records.len() as u64;
                tracing::error!("{} events could not be recorded: {e}", records.len());
            }
        }
    }

    fn answer(&mut self, request: api::Request) -> serde_json::Value {
        use serde_json::json;
        match request {
            api::Request::Status => json!({ "ok": true, "status": self.status() }),
            api::Request::Reload => {
                let started = Instant::now();
                match self.reload_trust() {
                    Ok(changes) => {
                        json!({ "ok": true, "changes": changes, "micros": started.elapsed().as_micros() as u64 })
                    }
                    Err(e) => json!({ "ok": false, "error": format!("{e:#}") }),
                }
            }
            api::Request::Verdict { dev, ino } => {
                let key = provgate_common::FileKey { dev, ino, _pad: 0 };
                let verdict = self
                    .engine
                    .verdict(&key)
                    .map(|v| json!({ "ctime_sec": v.ctime_sec, "ctime_nsec": v.ctime_nsec, "size": v.size }));
                json!({ "ok": true, "verdict": verdict })
            }
            api::Request::Metrics => serde_json::Value::String(self.metrics()),
        }
    }

    fn status(&self) -> DaemonStatus {
        let stats = &self.engine.stats;
        let watch = self.watcher.as_ref().map(|w| &w.stats);
        let load = |v: &std::sync::atomic::AtomicU64| v.load(Ordering::Relaxed);
        DaemonStatus {
            pid: std::process::id(),
            started_at_ms: self.started_at_ms,
            state: self.state,
            mode: self.config.mode,
            cgroups: self.scopes.clone(),
            enforcement: Some(self.attached.enforcement.clone()),
            observe_only_requested: self.config.observe_only,
            kernel: self.kernel.clone(),
            keep_on_exit: self.config.keep_on_exit,
            hardened: self.config.hardened,
            deny_anon_exec: self.config.deny_anon_exec,
            unavailable: self.attached.missing.clone(),
            took_over: self.attached.took_over,
            pin_dir: self.config.pin_dir.clone(),
            store: self.config.store.clone(),
            verdicts: self.engine.map_entries(),
            verdict_capacity: self.config.verdict_capacity,
            allowed_digests: self.engine.allowed_digests(),
            watched: self
                .watcher
                .as_ref()
                .map(|w| w.watched.lock().unwrap_or_else(|e| e.into_inner()).clone())
                .unwrap_or_default(),
            metrics_address: self.config.metrics_address.clone(),
            counters: self.attached.maps.counters(),
            daemon: DaemonCounters {
                hashes: load(&stats.hashes),
                bytes_hashed: load(&stats.bytes_hashed),
                cache_hits: load(&stats.cache_hits),
                cached_files: self.engine.cached_files(),
                map_updates: load(&stats.map_updates),
                map_errors: load(&stats.map_errors),
                exec_permission_events: watch.map_or(0, |w| load(&w.exec_permission_events)),
                close_write_events: watch.map_or(0, |w| load(&w.close_write_events)),
                fanotify_overflows: watch.map_or(0, |w| load(&w.overflows)),
                events_recorded: self.events_recorded,
                events_not_stored: self.events_not_stored,
            },
            events_recorded: self.events_recorded,
            program_stats: self
                .attached
                .program_stats()
                .into_iter()
                .map(|(program, run_time_ns, run_count)| ProgramStat {
                    program: program.into(),
                    run_time_ns,
                    run_count,
                })
                .collect(),
        }
    }

    fn metrics(&self) -> String {
        let s = self.status();
        let mut m = api::MetricsText::default();
        let mut decisions = Vec::new();
        let labels: Vec<(String, u64)> = (0..HOOK_COUNT)
            .flat_map(|h| {
                let hook = hook_name(h as u8);
                [
                    (format!("{{hook=\"{hook}\",verdict=\"allowed\"}}"), s.counters.allowed[h]),
                    (format!("{{hook=\"{hook}\",verdict=\"denied\"}}"), s.counters.denied[h]),
                    (format!("{{hook=\"{hook}\",verdict=\"would_deny\"}}"), s.counters.audited[h]),
                ]
            })
            .collect();
        for (label, value) in &labels {
            decisions.push((label.as_str(), *value as f64));
        }
        m.metric("provgate_decisions_total", "counter", "Kernel decisions by hook and verdict.", &decisions);
        let single = |m: &mut api::MetricsText, name: &str, kind: &str, help: &str, value: f64| {
            m.metric(name, kind, help, &[("", value)]);
        };
        let enforcing = matches!(s.enforcement, Some(Enforcement::Lsm));
        single(
            &mut m,
            "provgate_enforcing",
            "gauge",
            "1 when the LSM programs are attached, 0 when observe-only.",
            f64::from(u8::from(enforcing)),
        );
        single(
            &mut m,
            "provgate_cache_hits_total",
            "counter",
            "Files whose digest came from the file cache.",
            s.daemon.cache_hits as f64,
        );
        single(&mut m, "provgate_hashes_total", "counter", "Files hashed.", s.daemon.hashes as f64);
        single(&mut m, "provgate_hashed_bytes_total", "counter", "Bytes hashed.", s.daemon.bytes_hashed as f64);
        single(&mut m, "provgate_events_recorded_total", "counter", "Kernel events stored.", s.events_recorded as f64);
        single(
            &mut m,
            "provgate_events_dropped_total",
            "counter",
            "Kernel events lost because the ring buffer was full.",
            s.counters.events_dropped as f64,
        );
        single(
            &mut m,
            "provgate_events_not_stored_total",
            "counter",
            "Kernel events read but not stored (store errors).",
            s.daemon.events_not_stored as f64,
        );
        single(
            &mut m,
            "provgate_anon_exec_total",
            "counter",
            "Anonymous executable mappings seen in scope.",
            s.counters.anon_exec as f64,
        );
        single(&mut m, "provgate_verdict_map_entries", "gauge", "Files in the kernel verdict map.", s.verdicts as f64);
        single(
            &mut m,
            "provgate_verdict_map_capacity",
            "gauge",
            "Capacity of the kernel verdict map.",
            f64::from(s.verdict_capacity),
        );
        single(
            &mut m,
            "provgate_verdict_map_fill_ratio",
            "gauge",
            "Fill of the kernel verdict map.",
            s.verdicts as f64 / f64::from(s.verdict_capacity.max(1)),
        );
        single(
            &mut m,
            "provgate_allowed_digests",
            "gauge",
            "Distinct digests on the allowlist.",
            s.allowed_digests as f64,
        );
        single(
            &mut m,
            "provgate_exec_permission_events_total",
            "counter",
            "Execs held until their file was hashed (fanotify).",
            s.daemon.exec_permission_events as f64,
        );
        single(
            &mut m,
            "provgate_close_write_events_total",
            "counter",
            "Written files seen (fanotify).",
            s.daemon.close_write_events as f64,
        );
        single(
            &mut m,
            "provgate_fanotify_overflows_total",
            "counter",
            "fanotify queue overflows.",
            s.daemon.fanotify_overflows as f64,
        );
        m.finish()
    }
}
