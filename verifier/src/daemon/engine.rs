//! The verdict engine: which files are trusted right now. It knows every file it has hashed
//! (the file cache), the allowed digests, and what it has put in the kernel's verdict map, and
//! keeps the map equal to "files whose current digest is allowed" as files and trust change.
//! Shared by the start-up scan, the watcher thread, event handling and trust reloads; hashing
//! always happens outside its lock.
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
    filecache::FileCache,
    hashing::{HashedFile, Sha256Digest},
    identity::FileStamp,
    kernel::maps::VerdictMap,
    store::CachedFile,
};

struct State {
    allowed: HashSet<Sha256Digest>,
    cache: FileCache,
    /// What this daemon has written into the kernel map.
    in_map: HashMap<FileKey, Verdict>,
    /// The daemon's own executable and libraries, trusted without a digest.
    self_trust: HashMap<FileKey, Verdict>,
    map: VerdictMap,
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

/// What a change did to the kernel map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MapChanges {
    pub inserted: usize,
    pub removed: usize,
}

impl Engine {
    pub fn new(
        map: VerdictMap,
        cache: FileCache,
        allowed: HashSet<Sha256Digest>,
        self_trust: HashMap<FileKey, Verdict>,
    ) -> Self {
        Self {
            state: Mutex::new(State { allowed, cache, in_map: HashMap::new(), self_trust, map }),
            stats: EngineStats::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached digest for a file with exactly this stamp.
    pub fn cached_digest(&self, stamp: &FileStamp) -> Option<Sha256Digest> {
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
    pub fn set_allowed(&self, allowed: HashSet<Sha256Digest>) -> MapChanges {
        let mut state = self.lock();
        state.allowed = allowed;
        self.reconcile(&mut state)
    }

    /// Makes the kernel map exactly match the engine's view, removing entries a previous daemon
    /// left behind for files that are no longer trusted.
    pub fn sync_from_scratch(&self) -> Result<MapChanges, MapError> {
        let mut state = self.lock();
        let existing: Vec<FileKey> = state.map.keys().collect::<Result<_, _>>()?;
        state.in_map = existing
            .into_iter()
            .filter_map(|k| state.map.get(&k, 0).ok().map(|v| (k, v)))
            .collect();
        Ok(self.reconcile(&mut state))
    }

    fn reconcile(&self, state: &mut State) -> MapChanges {
        let mut desired: HashMap<FileKey, Verdict> = state
            .cache
            .entries()
            .filter(|f| state.allowed.contains(&f.digest))
            .map(|f| (f.stamp.key, f.stamp.allow_verdict()))
            .collect();
        desired.extend(state.self_trust.iter().map(|(k, v)| (*k, *v)));
        let mut changes = MapChanges::default();
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

    fn apply(&self, state: &mut State, key: FileKey, verdict: Option<Verdict>) {
        if state.in_map.get(&key).copied() == verdict {
            return;
        }
        let result = match verdict {
            Some(v) => state.map.insert(key, v, 0),
            None => match state.map.remove(&key) {
                Err(MapError::KeyNotFound) => Ok(()),
                other => other,
            },
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

    pub fn allowed_digests(&self) -> usize {
        self.lock().allowed.len()
    }

    pub fn cached_files(&self) -> usize {
        self.lock().cache.len()
    }

    /// Cache entries not yet saved to the store.
    pub fn take_unsaved(&self) -> Vec<CachedFile> {
        self.lock().cache.take_unsaved()
    }
}

impl State {
    fn desired(&self, stamp: &FileStamp, digest: &Sha256Digest) -> Option<Verdict> {
        if let Some(own) = self.self_trust.get(&stamp.key) {
            return Some(*own);
        }
        self.allowed.contains(digest).then(|| stamp.allow_verdict())
    }
}
