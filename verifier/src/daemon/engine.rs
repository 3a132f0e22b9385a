//! The verdict engine: what is trusted right now. It keeps two kernel maps true as trust and
//! files change: the allowed digests (which the enforcing programs look the kernel's own hashes
//! up in) and, for the observe-only program that cannot hash, the verdict map of files whose
//! current digest is allowed (from the file cache). Shared by the start-up scan, the watcher
//! thread, event handling and trust reloads; hashing always happens outside its lock.
use crate::api::MapChanges;
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use aya::maps::MapError;
use provgate_common::{FileKey, Verdict};

use crate::{
    file_stamp::FileStamp,
    filecache::FileCache,
    hashing::{HashedFile, Sha256},
    kernel::{maps::AllowedMap, verdicts::Verdicts},
    store::CachedFile,
};

struct State {
    allowed: HashSet<Sha256>,
    cache: FileCache,
    /// What this daemon has written into the kernel's verdict map.
    in_map: HashMap<FileKey, Verdict>,
    /// The daemon's own executable, trusted without a source: by file for the verdict map,
    /// by digest for the allowed map.
    self_trust: SelfTrust,
    map: Verdicts,
    /// What this daemon has written into the kernel's allowed-digest map.
    in_allowed: HashSet<Sha256>,
    allowed_map: AllowedMap,
}

/// The daemon's own executable: what it trusts without any source saying so.
#[derive(Default)]
pub struct SelfTrust {
    pub files: HashMap<FileKey, Verdict>,
    pub digests: HashSet<Sha256>,
}

/// Counters for status and metrics.
#[derive(Default)]
pub struct EngineStats {
    pub hashes: AtomicU64,
    pub bytes_hashed: AtomicU64,
    pub cache_hits: AtomicU64,
    pub map_updates: AtomicU64,
    pub map_errors: AtomicU64,
}

pub struct Engine {
    state: Mutex<State>,
    pub stats: EngineStats,
}

impl Engine {
    pub fn new(
        map: Verdicts,
        allowed_map: AllowedMap,
        cache: FileCache,
        allowed: HashSet<Sha256>,
        self_trust: SelfTrust,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                allowed,
                cache,
                in_map: HashMap::new(),
                self_trust,
                map,
                in_allowed: HashSet::new(),
                allowed_map,
            }),
            stats: EngineStats::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached digest for a file with exactly this stamp.
    pub fn cached_digest(&self, stamp: &FileStamp) -> Option<Sha256> {
        let digest = self.lock().cache.digest(stamp);
        if digest.is_some() {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        digest
    }

    /// Whether the kernel map holds an allow verdict matching this stamp exactly.
    pub fn has_current_verdict(&self, stamp: &FileStamp) -> bool {
        self.lock().in_map.get(&stamp.key) == Some(&stamp.allow_verdict())
    }

    /// The verdict this daemon has in the kernel map for a file identity.
    pub fn verdict(&self, key: &FileKey) -> Option<Verdict> {
        self.lock().in_map.get(key).copied()
    }

    /// The digest of the file with this stamp: the cached one, else `hash()` now, recorded under
    /// `path` (so its verdict follows). `record_hit`: a cache hit is recorded too, which sets the
    /// verdict for this stamp (what the watcher needs before an exec goes on). The one home of
    /// "cached, else hashed and recorded" for the watcher, the recorder and by-name reports.
    pub fn digest_or_hash<E>(
        &self,
        stamp: &FileStamp,
        path: &str,
        record_hit: bool,
        hash: impl FnOnce() -> Result<HashedFile, E>,
    ) -> Result<HashedFile, E> {
        if let Some(digest) = self.cached_digest(stamp) {
            let hit = HashedFile { digest, stamp: *stamp };
            if record_hit {
                self.record(path, hit, false);
            }
            return Ok(hit);
        }
        let hashed = hash()?;
        self.record(path, hashed, true);
        Ok(hashed)
    }

    /// Records a file's digest (hashed by the caller, or found in the cache) and updates its
    /// verdict: allowed digests get an allow verdict for this stamp, others none.
    pub fn record(&self, path: &str, file: HashedFile, freshly_hashed: bool) {
        if freshly_hashed {
            self.stats.hashes.fetch_add(1, Ordering::Relaxed);
            self.stats.bytes_hashed.fetch_add(file.stamp.size as u64, Ordering::Relaxed);
        }
        let mut state = self.lock();
        state.cache.insert(CachedFile { stamp: file.stamp, digest: file.digest, path: path.to_owned() });
        let desired = state.desired(&file.stamp, &file.digest);
        self.apply(&mut state, file.stamp.key, desired);
    }

    /// Adopts a new set of allowed digests and updates the verdicts of every known file.
    pub fn set_allowed(&self, allowed: HashSet<Sha256>) -> MapChanges {
        let mut state = self.lock();
        state.allowed = allowed;
        self.reconcile(&mut state)
    }

    /// Makes the kernel maps exactly match the engine's view, removing entries a previous
    /// daemon left behind for files and digests that are no longer trusted.
    pub fn sync_from_scratch(&self) -> Result<MapChanges, MapError> {
        let mut state = self.lock();
        state.in_map = state.map.adopt()?;
        state.in_allowed = state.allowed_map.keys().map(|k| k.map(Sha256)).collect::<Result<_, _>>()?;
        Ok(self.reconcile(&mut state))
    }

    fn reconcile(&self, state: &mut State) -> MapChanges {
        let mut changes = self.reconcile_allowed(state);
        let mut desired: HashMap<FileKey, Verdict> = state
            .cache
            .entries()
            .filter(|f| state.allowed.contains(&f.digest))
            .map(|f| (f.stamp.key, f.stamp.allow_verdict()))
            .collect();
        desired.extend(state.self_trust.files.iter().map(|(k, v)| (*k, *v)));
        let stale: Vec<FileKey> = state.in_map.keys().filter(|k| !desired.contains_key(k)).copied().collect();
        for key in stale {
            self.apply(state, key, None);
            changes.removed += 1;
        }
        for (key, verdict) in desired {
            if state.in_map.get(&key) != Some(&verdict) {
                self.apply(state, key, Some(verdict));
                changes.inserted += 1;
            }
        }
        changes
    }

    /// The allowed-digest map: exactly the allowlist plus the daemon's own executable.
    fn reconcile_allowed(&self, state: &mut State) -> MapChanges {
        let mut changes = MapChanges::default();
        let stale: Vec<Sha256> = state
            .in_allowed
            .iter()
            .filter(|d| !state.allowed.contains(d) && !state.self_trust.digests.contains(d))
            .copied()
            .collect();
        for digest in stale {
            match state.allowed_map.remove(&digest.0) {
                Ok(()) | Err(MapError::KeyNotFound) => {
                    state.in_allowed.remove(&digest);
                    changes.digests_removed += 1;
                    self.stats.map_updates.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.map_error("removing an allowed digest", &digest, &e),
            }
        }
        let missing: Vec<Sha256> = state
            .allowed
            .iter()
            .chain(&state.self_trust.digests)
            .filter(|d| !state.in_allowed.contains(d))
            .copied()
            .collect();
        for digest in missing {
            match state.allowed_map.insert(digest.0, 1, 0) {
                Ok(()) => {
                    state.in_allowed.insert(digest);
                    changes.digests_inserted += 1;
                    self.stats.map_updates.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.map_error("inserting an allowed digest", &digest, &e),
            }
        }
        changes
    }

    fn map_error(&self, what: &str, digest: &Sha256, error: &MapError) {
        self.stats.map_errors.fetch_add(1, Ordering::Relaxed);
        tracing::error!(digest = %digest.to_hex(), "{what} failed: {error}");
    }

    fn apply(&self, state: &mut State, key: FileKey, verdict: Option<Verdict>) {
        if state.in_map.get(&key).copied() == verdict {
            return;
        }
        let result = match verdict {
            Some(v) => state.map.insert(key, v),
            None => state.map.remove(&key),
        };
        match result {
            Ok(()) => {
                self.stats.map_updates.fetch_add(1, Ordering::Relaxed);
                match verdict {
                    Some(v) => state.in_map.insert(key, v),
                    None => state.in_map.remove(&key),
                };
            }
            Err(e) => {
                self.stats.map_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(dev = key.dev, ino = key.ino, "verdict map update failed: {e}");
            }
        }
    }

    pub fn map_entries(&self) -> usize {
        self.lock().in_map.len()
    }

    pub fn is_allowed(&self, digest: &Sha256) -> bool {
        let state = self.lock();
        state.allowed.contains(digest) || state.self_trust.digests.contains(digest)
    }

    pub fn allowed_digests(&self) -> usize {
        self.lock().allowed.len()
    }

    pub fn cached_files(&self) -> usize {
        self.lock().cache.len()
    }

    /// Up to `limit` cached files, by path and stamp.
    pub fn cached_file_stamps(&self, limit: usize) -> Vec<(String, FileStamp)> {
        self.lock().cache.entries().take(limit).map(|f| (f.path.clone(), f.stamp)).collect()
    }

    /// Cache entries not yet saved to the store.
    pub fn take_unsaved(&self) -> Vec<CachedFile> {
        self.lock().cache.take_unsaved()
    }
}

impl State {
    fn desired(&self, stamp: &FileStamp, digest: &Sha256) -> Option<Verdict> {
        if let Some(own) = self.self_trust.files.get(&stamp.key) {
            return Some(*own);
        }
        self.allowed.contains(digest).then(|| stamp.allow_verdict())
    }
}
