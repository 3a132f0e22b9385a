//! `provgate run`: load and attach the programs, keep the verdict map true, record events.
mod events;
mod lock;
pub mod scan;
pub mod scope;
mod self_trust;
pub mod status;

use std::{
    collections::HashMap,
    os::unix::fs::MetadataExt as _,
    path::PathBuf,
    time::Duration,
};

use anyhow::{Context as _, Result};
use aya::maps::{MapData, RingBuf};
use provgate_common::{FileKey, MODE_OFF, Settings, Verdict};
use tokio::{io::unix::AsyncFd, signal::unix::{SignalKind, signal}};

use crate::{
    kernel::{
        events::decode,
        loader::{self, Attached, LoaderConfig},
        maps::KernelMaps,
    },
    store::{Store, now_ms},
};
use scope::{CgroupScope, Mode};
use status::{DaemonStatus, ProgramStat, State};

#[derive(Clone, Debug)]
pub struct DaemonConfig {
    pub mode: Mode,
    pub cgroups: Vec<PathBuf>,
    pub roots: Vec<PathBuf>,
    pub keep_on_exit: bool,
    pub observe_only: bool,
    pub deny_anon_exec: bool,
    pub pin_dir: PathBuf,
    pub verdict_capacity: u32,
    pub event_buffer_bytes: u32,
    pub store: PathBuf,
    pub run_dir: PathBuf,
}

/// Unread bytes in the ring buffer after which the kernel wakes the reader; below that the
/// reader picks events up on its next poll tick.
const WAKEUP_BYTES: u64 = 64 * 1024;
const POLL_EVENTS: Duration = Duration::from_millis(200);
const REFRESH: Duration = Duration::from_millis(500);
/// The kernel's identifier of the initial pid namespace (PROC_PID_INIT_INO).
const INIT_PID_NS: u64 = 0xEFFF_FFFC;

struct Daemon {
    config: DaemonConfig,
    store: Store,
    store_version: i64,
    scanner: scan::Scanner,
    scopes: Vec<CgroupScope>,
    status: DaemonStatus,
}

pub fn run(config: DaemonConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run_async(config))
}

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

async fn run_async(config: DaemonConfig) -> Result<()> {
    let mut stop = StopSignals::register()?;
    let _lock = lock::acquire(&config.run_dir)?;
    let store = Store::open(&config.store)?;
    store.integrity_check()?;
    let scopes = config
        .cgroups
        .iter()
        .map(|p| scope::resolve(p, config.mode))
        .collect::<Result<Vec<_>, _>>()?;
    let loader_config = LoaderConfig {
        pin_dir: config.pin_dir.clone(),
        keep_on_exit: config.keep_on_exit,
        observe_only: config.observe_only,
        verdict_capacity: config.verdict_capacity,
        event_buffer_bytes: config.event_buffer_bytes,
    };
    let mut daemon = Daemon {
        status: initial_status(&config, &scopes),
        store_version: store.data_version()?,
        store,
        scanner: scan::Scanner::default(),
        scopes,
        config,
    };
    daemon.publish();

    let mut loaded = loader::load(&loader_config).context("loading the BPF programs")?;
    daemon.status.kernel = loaded.support.clone();
    daemon.status.enforcement = Some(loaded.enforcement.clone());
    tracing::info!("{}", loaded.support.summary());
    daemon.refresh_verdicts(&mut loaded.maps)?;
    let settings = daemon.settings();
    loaded.maps.set_scopes(&daemon.scopes.iter().map(|s| (s.id, s.mode.to_kernel())).collect::<Vec<_>>())?;
    loaded.maps.write_settings(&settings)?;
    let mut attached = loaded.attach().context("attaching the BPF programs")?;
    daemon.status.took_over = attached.took_over;
    daemon.status.state = State::Active;
    daemon.update_counters(&attached);
    daemon.publish();
    tracing::info!(
        mode = %daemon.config.mode,
        scopes = ?daemon.scopes.iter().map(|s| s.path.display().to_string()).collect::<Vec<_>>(),
        enforcement = ?attached.enforcement,
        took_over = attached.took_over,
        "provgate is active"
    );

    let ring = attached.maps.take_events().context("event ring buffer")?;
    let result = daemon.serve(&mut attached, ring, &mut stop).await;

    daemon.status.state = State::Stopping;
    daemon.publish();
    if daemon.config.keep_on_exit {
        // The pinned programs keep enforcing; no exemption must outlive this process, whose
        // pid could be reused by anything.
        attached.maps.write_settings(&Settings { daemon_tgid: 0, ..settings })?;
    }
    attached.shutdown();
    status::remove(&daemon.config.run_dir);
    result
}

fn initial_status(config: &DaemonConfig, scopes: &[CgroupScope]) -> DaemonStatus {
    DaemonStatus {
        pid: std::process::id(),
        started_at_ms: now_ms(),
        updated_at_ms: now_ms(),
        state: State::Starting,
        mode: config.mode,
        cgroups: scopes.to_vec(),
        enforcement: None,
        observe_only_requested: config.observe_only,
        kernel: crate::kernel::support::KernelSupport::probe(),
        keep_on_exit: config.keep_on_exit,
        took_over: false,
        pin_dir: config.pin_dir.clone(),
        store: config.store.clone(),
        verdicts: 0,
        allowed_digests: 0,
        counters: Default::default(),
        events_recorded: 0,
        program_stats: Vec::new(),
    }
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

impl Daemon {
    fn settings(&self) -> Settings {
        let scope_levels = self.scopes.iter().fold(0u32, |mask, s| mask | (1 << s.level));
        Settings {
            host_mode: if self.scopes.is_empty() { self.config.mode.to_kernel() } else { MODE_OFF },
            scope_levels,
            daemon_tgid: daemon_tgid(),
            deny_anon_exec: u32::from(self.config.deny_anon_exec),
            wakeup_bytes: WAKEUP_BYTES,
        }
    }

    fn publish(&mut self) {
        self.status.updated_at_ms = now_ms();
        if let Err(e) = status::write(&self.config.run_dir, &self.status) {
            tracing::warn!(dir = %self.config.run_dir.display(), "cannot write status: {e}");
        }
    }

    /// Hashes what sources name and what the roots hold, and makes the verdict map match.
    fn refresh_verdicts(&mut self, maps: &mut KernelMaps) -> Result<()> {
        let allowed = self.store.allowed_digests()?;
        let files = self.store.recorded_paths()?;
        let outcome = self.scanner.scan(&files, &self.config.roots, &allowed);
        for error in outcome.errors.iter().take(20) {
            tracing::warn!("scan: {error}");
        }
        if outcome.errors.len() > 20 {
            tracing::warn!("scan: {} more errors not shown", outcome.errors.len() - 20);
        }
        let mut desired: HashMap<FileKey, Verdict> = outcome.verdicts;
        desired.extend(self_trust::verdicts());
        let (inserted, removed) = maps.sync_verdicts(&desired)?;
        tracing::info!(
            files = outcome.files_seen,
            allowed_files = outcome.allowed_files,
            verdicts = inserted,
            removed,
            hashed = self.scanner.hashed_files,
            "verdict map synchronised"
        );
        self.status.verdicts = desired.len();
        self.status.allowed_digests = allowed.len() as i64;
        Ok(())
    }

    fn update_counters(&mut self, attached: &Attached) {
        let counters = attached.maps.counters();
        if counters.events_dropped > self.status.counters.events_dropped {
            tracing::error!(
                dropped = counters.events_dropped - self.status.counters.events_dropped,
                total = counters.events_dropped,
                "the event ring buffer was full: events were dropped (counted, not recorded)"
            );
        }
        self.status.counters = counters;
        self.status.program_stats = attached
            .program_stats()
            .into_iter()
            .map(|(program, run_time_ns, run_count)| ProgramStat { program: program.into(), run_time_ns, run_count })
            .collect();
    }

    async fn serve(&mut self, attached: &mut Attached, ring: RingBuf<MapData>, stop: &mut StopSignals) -> Result<()> {
        // SAFETY: the ring buffer owns its map descriptor, which stays open and the same for
        // as long as the AsyncFd owns the ring buffer.
        let mut ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        let mut digests = events::EventDigests::default();
        let mut poll = tokio::time::interval(POLL_EVENTS);
        let mut refresh = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                ready = ring.readable_mut() => {
                    let mut guard = ready?;
                    self.drain(guard.get_inner_mut(), &mut digests);
                    guard.clear_ready();
                }
                _ = poll.tick() => self.drain(ring.get_mut(), &mut digests),
                _ = refresh.tick() => {
                    let version = self.store.data_version()?;
                    if version != self.store_version {
                        self.store_version = version;
                        self.refresh_verdicts(&mut attached.maps)?;
                    }
                    self.update_counters(attached);
                    self.publish();
                }
                _ = stop.recv() => break,
            }
        }
        self.drain(ring.get_mut(), &mut digests);
        Ok(())
    }

    fn drain(&mut self, ring: &mut RingBuf<MapData>, digests: &mut events::EventDigests) {
        let mut batch = Vec::new();
        while let Some(item) = ring.next() {
            if let Some(event) = decode(&item) {
                batch.push(event);
            }
        }
        if batch.is_empty() {
            return;
        }
        let records: Vec<_> = batch.into_iter().map(|e| digests.record(e)).collect();
        for r in &records {
            tracing::info!(
                action = r.action, hook = r.hook, reason = r.reason, pid = r.tgid, comm = %r.comm,
                path = r.path.as_deref().unwrap_or("?"), "{} {}", r.action, r.path.as_deref().unwrap_or("?")
            );
        }
        match self.store.insert_events(&records) {
            Ok(()) => self.status.events_recorded += records.len() as u64,
            Err(e) => tracing::error!("{} events could not be recorded: {e}", records.len()),
        }
    }
}
