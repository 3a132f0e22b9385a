//! The daemon's loop: it owns the state and serves the ring buffer, the API and the store's
//! changes. Nothing on it hashes a file: events go to the recorder, and files a new source
//! names are hashed on a blocking worker.
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Result;
use aya::maps::{MapData, RingBuf};
use tokio::{io::unix::AsyncFd, sync::mpsc};

use super::{
    DaemonConfig, engine::Engine, recorder::Recorder, scope::CgroupScope, server::Call, startup::StopSignals, watch,
};
use crate::{
    api::{Answer, KernelFileState, MapChanges, Request, State},
    file_stamp::FileStamp,
    filecache::FileCache,
    kernel::{
        events::decode,
        loader::{Attached, Enforcement},
    },
    scan,
    store::Store,
};

/// Unread bytes in the ring buffer after which the kernel wakes the reader; below that the
/// reader picks events up on its next poll tick.
pub const WAKEUP_BYTES: u64 = 64 * 1024;
const POLL_EVENTS: Duration = Duration::from_millis(200);
/// How often the store is checked for new trust (a reload request applies it at once).
const REFRESH: Duration = Duration::from_millis(500);

pub struct Daemon {
    pub config: DaemonConfig,
    pub store: Store,
    /// The store's trust generation the kernel maps reflect.
    pub trust_generation: i64,
    /// The worker hashing files new sources name (observe-only), at most one at a time.
    pub rehash: Option<tokio::task::JoinHandle<()>>,
    /// A trust change came while a worker ran: hash again when it ends.
    pub rehash_wanted: bool,
    pub engine: Arc<Engine>,
    pub watcher: Option<watch::Watcher>,
    pub attached: Attached,
    pub scopes: Vec<CgroupScope>,
    pub started_at_ms: i64,
    pub state: State,
    pub recorder: Recorder,
    pub last_dropped: u64,
    pub kernel: crate::kernel::support::KernelSupport,
}

impl Daemon {
    pub async fn serve(
        &mut self,
        ring: RingBuf<MapData>,
        mut calls: mpsc::Receiver<Call>,
        stop: &mut StopSignals,
    ) -> Result<()> {
        // SAFETY: the ring buffer owns its map descriptor, which stays open and the same for
        // as long as the AsyncFd owns the ring buffer.
        let mut ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        let mut poll = tokio::time::interval(POLL_EVENTS);
        let mut refresh = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                ready = ring.readable_mut() => {
                    let mut guard = ready?;
                    self.drain(guard.get_inner_mut());
                    guard.clear_ready();
                }
                _ = poll.tick() => self.drain(ring.get_mut()),
                _ = refresh.tick() => {
                    let generation = self.store.trust_generation()?;
                    if generation != self.trust_generation {
                        self.trust_generation = generation;
                        self.reload_trust()?;
                    }
                    self.rehash_named_files();
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
        self.drain(ring.get_mut());
        Ok(())
    }

    fn reload_trust(&mut self) -> Result<MapChanges> {
        let started = Instant::now();
        let changes = self.engine.set_allowed(self.store.allowed_digests()?);
        tracing::info!(
            inserted = changes.inserted,
            removed = changes.removed,
            allowed = self.engine.allowed_digests(),
            cached = self.engine.cached_files(),
            micros = started.elapsed().as_micros() as u64,
            "trust reloaded"
        );
        // The observe-only program has verdicts only for files the daemon hashed: files a new
        // source names by path may never have been.
        if self.attached.enforcement != Enforcement::Lsm {
            self.rehash_wanted = true;
            self.rehash_named_files();
        }
        Ok(changes)
    }

    /// Hashes, off this loop and one worker at a time, the files sources name that the engine
    /// has no digest for; the worker reads the paths through its own store connection.
    fn rehash_named_files(&mut self) {
        if !self.rehash_wanted || self.rehash.as_ref().is_some_and(|worker| !worker.is_finished()) {
            return;
        }
        self.rehash_wanted = false;
        let engine = self.engine.clone();
        let store_path = self.config.store.clone();
        self.rehash = Some(tokio::task::spawn_blocking(move || {
            let named = match Store::open(&store_path).and_then(|store| store.recorded_paths()) {
                Ok(named) => named,
                Err(e) => return tracing::warn!("reading the paths sources name: {e}"),
            };
            let unknown: Vec<PathBuf> = named
                .into_iter()
                .filter(|p| std::fs::metadata(p).is_ok_and(|m| engine.cached_digest(&FileStamp::of(&m)).is_none()))
                .collect();
            let (hashed, _, _) = scan::hash_paths(&unknown, scan::Select::All, &mut FileCache::default(), None);
            for h in hashed {
                engine.record(&h.path.display().to_string(), h.file, true);
            }
        }));
    }

    pub fn save_cache(&mut self) {
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

    /// Hands what the ring buffer holds to the recorder.
    fn drain(&mut self, ring: &mut RingBuf<MapData>) {
        let mut batch = Vec::new();
        let mut undecoded = 0;
        while let Some(item) = ring.next() {
            match decode(&item) {
                Some(event) => batch.push(event),
                // A record of another layout: left by an older version's pinned programs.
                None => undecoded += 1,
            }
        }
        if undecoded > 0 {
            tracing::warn!("{undecoded} events of an unknown layout could not be read");
            self.recorder.count_not_stored(undecoded);
        }
        if !batch.is_empty() {
            self.recorder.submit(batch);
        }
    }

    pub fn answer(&mut self, request: Request) -> Answer {
        let failed = |error: String| Answer::Failed { error };
        match request {
            Request::Status => Answer::Status { status: Box::new(self.status()) },
            Request::Reload => {
                let started = Instant::now();
                match self.reload_trust() {
                    Ok(changes) => Answer::Reloaded { changes, micros: started.elapsed().as_micros() as u64 },
                    Err(e) => failed(format!("{e:#}")),
                }
            }
            Request::KernelState { path } => match self.kernel_state(&path) {
                Ok(kernel) => Answer::KernelState { kernel },
                Err(e) => failed(format!("{}: {e:#}", path.display())),
            },
            Request::Metrics => Answer::Metrics { text: self.metrics() },
        }
    }

    /// What the kernel holds for a file now.
    fn kernel_state(&self, path: &Path) -> Result<KernelFileState> {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_PATH: no open hook runs and nothing is read; the descriptor names the inode.
        let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH).open(path)?;
        let stamp = crate::file_stamp::FileStamp::of(&file.metadata()?);
        if self.attached.enforcement != Enforcement::Lsm {
            return Ok(match self.engine.verdict(&stamp.key) {
                Some(v) if v == stamp.allow_verdict() => KernelFileState::Current { sha256: None, allowed: true },
                Some(_) => KernelFileState::Stale { sha256: None },
                None => KernelFileState::NotHashed,
            });
        }
        let Some(state) = self.attached.maps.file_state(&file)? else {
            return Ok(KernelFileState::NotHashed);
        };
        let digest = crate::hashing::Sha256(state.digest);
        Ok(if stamp.is_current(&state) {
            KernelFileState::Current { sha256: Some(digest.to_hex()), allowed: self.engine.is_allowed(&digest) }
        } else {
            KernelFileState::Stale { sha256: Some(digest.to_hex()) }
        })
    }
}
