//! Bringing the daemon up (lock, store, programs, scopes, settings, the first sync of the
//! kernel maps, the API) and down again.
use std::{
    os::{fd::FromRawFd as _, unix::fs::MetadataExt as _},
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use anyhow::{Context as _, Result};
use provgate_common::{InlineScope, MODE_OFF, Settings};
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::mpsc,
};

use super::{
    DaemonConfig,
    engine::Engine,
    event_loop::{Daemon, WAKEUP_BYTES},
    feed_sync::FeedSyncer,
    image_watch::ImageWatcher,
    lock, recorder,
    scope::{self, CgroupScope},
    self_trust, server, watch,
};
use crate::{
    api::{State, socket_path},
    filecache::FileCache,
    kernel::loader::{self, Enforcement, LoaderConfig},
    scan,
    store::{Store, now_ms},
};

/// The kernel's identifier of the initial pid namespace (PROC_PID_INIT_INO).
const INIT_PID_NS: u64 = 0xEFFF_FFFC;

/// SIGTERM and SIGINT, registered before anything else so that a stop request that arrives
/// during start-up is honoured by a clean shutdown instead of the default action.
pub struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> Result<Self> {
        Ok(Self { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
    }

    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

pub async fn run(config: DaemonConfig) -> Result<()> {
    let mut stop = StopSignals::register()?;
    // Everything the daemon creates (socket, store, pins) is root-only.
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0o077) };
    let _lock = lock::acquire(&config.run_dir)?;
    let started_at_ms = now_ms();
    let mut store = Store::open(&config.store)?;
    store.integrity_check()?;
    let scopes = resolve_scopes(&config)?;
    // Before anything is attached: an events output that cannot be opened stops the start.
    let sink = crate::events_out::Sink::open(&config.events)?;
    if let Some(sink) = &sink {
        tracing::info!("events out: one JSON object per line to {}", sink.name());
    }

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
    let script_opens = Arc::new(super::script_opens::ScriptOpens::default());
    let watcher = if enforcing || (watch_paths.is_empty() && !config.watch_overlays) {
        None
    } else {
        // The store's files exist by now: the watcher must not hold them.
        Some(
            watch::start(
                engine.clone(),
                &watch_paths,
                config.watch_overlays,
                &config.store_files(),
                script_opens.clone(),
            )
            .context("watching files")?,
        )
    };

    let settings = settings(&config, &scopes)?;
    loaded.maps.prepare_scope_change(&settings)?;
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
    let socket = server::bind_socket(&socket_path(&config.run_dir))?;
    tokio::spawn(server::serve_socket(socket, calls_tx.clone()));
    if let Some(address) = &config.metrics_address {
        let listener = server::bind_metrics(address, config.metrics_public).await?;
        tokio::spawn(server::serve_metrics(listener, calls_tx));
    }
    let options = recorder::RecorderOptions {
        host_root: config.host_root.clone(),
        sink,
        retention: config.event_retention,
        script_opens,
    };
    let recorder = recorder::Recorder::start(&config.store, engine.clone(), options)?;
    let mut feeds = FeedSyncer::start(config.store.clone(), config.feeds.clone())?;
    let mut images = ImageWatcher::start(config.store.clone(), config.images.clone())?;

    let mut daemon = Daemon {
        trust_generation: store.trust_generation()?,
        rehash: None,
        rehash_wanted: false,
        store,
        engine,
        watcher,
        attached,
        scopes,
        started_at_ms,
        state: State::Active,
        recorder,
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
    if daemon.config.keep_on_exit {
        // The pinned programs keep enforcing; no exemption must outlive this process, whose
        // pid could be reused by anything. First, before anything that can take time.
        daemon.attached.maps.write_settings(&Settings { daemon_tgid: 0, ..settings })?;
    }
    let _ = std::fs::remove_file(socket_path(&daemon.config.run_dir));
    daemon.watcher.take();
    daemon.recorder.finish();
    if let Some(feeds) = feeds.as_mut() {
        feeds.finish();
    }
    if let Some(images) = images.as_mut() {
        images.finish();
    }
    daemon.save_cache();
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
    let files = config.store_files().into_iter().chain(config.protected_files.iter().cloned()).collect();
    loader::ProtectedPaths { files, dirs: vec![config.run_dir.clone(), config.pin_dir.clone()] }
}

fn settings(config: &DaemonConfig, scopes: &[CgroupScope]) -> Result<Settings> {
    // Role cgroups only refine a scope; they do not make the host scoped.
    let workload_scopes = config.scopes.len();
    let mut settings = Settings {
        host_mode: if workload_scopes == 0 { config.mode.to_kernel() } else { MODE_OFF },
        scope_levels: scopes.iter().fold(0u32, |mask, s| mask | (1 << s.level)),
        daemon_tgid: daemon_tgid(),
        deny_anon_exec: u32::from(config.deny_anon_exec),
        wakeup_bytes: WAKEUP_BYTES,
        daemon_start_ticks: own_start_ticks()?,
        hardened: u32::from(config.hardened),
        memfd_dev: memfd_device(),
        inline_scopes: Default::default(),
        scopes: Default::default(),
    };
    for scope in scopes {
        settings.scopes.insert(scope.id);
    }
    for (entry, scope) in settings.inline_scopes.iter_mut().zip(scopes) {
        *entry = InlineScope::new(scope.id, scope.kernel_value());
    }
    Ok(settings)
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
    file.metadata().map(|m| crate::file_stamp::kernel_dev(m.dev())).unwrap_or(0)
}
