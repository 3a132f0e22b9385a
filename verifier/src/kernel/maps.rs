//! Typed handles on the maps shared with the programs.
use aya::{
    Ebpf,
    maps::{Array, HashMap as BpfHashMap, InodeStorage, MapData, MapError, PerCpuArray, RingBuf},
};
use provgate_common::{FileState, HOOK_COUNT, ProtectedKey, Settings, counter, names};
use serde::{Deserialize, Serialize};

use super::{loader::LoadError, verdicts::Verdicts};

/// The allowed digests the enforcing programs look the kernel's hashes up in.
pub type AllowedMap = BpfHashMap<MapData, [u8; 32], u32>;

pub struct KernelMaps {
    verdicts: Option<Verdicts>,
    allowed: Option<AllowedMap>,
    files: InodeStorage<MapData, FileState>,
    scopes: BpfHashMap<MapData, u64, u32>,
    untrusted_fs: BpfHashMap<MapData, u64, u32>,
    trusted_devs: BpfHashMap<MapData, u32, u32>,
    protected: BpfHashMap<MapData, ProtectedKey, u32>,
    settings: Array<MapData, Settings>,
    counters: PerCpuArray<MapData, u64>,
    events: Option<RingBuf<MapData>>,
}

/// Counters summed over CPUs. Per-hook arrays are indexed by the `HOOK_*` constants, and read
/// and written in JSON as objects keyed by hook name.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counters {
    #[serde(with = "per_hook")]
    pub allowed: [u64; HOOK_COUNT],
    #[serde(with = "per_hook")]
    pub denied: [u64; HOOK_COUNT],
    #[serde(with = "per_hook")]
    pub audited: [u64; HOOK_COUNT],
    pub events_dropped: u64,
    pub anon_exec: u64,
    pub daemon_exempt: u64,
    pub read_errors: u64,
    pub kernel_hashes: u64,
    pub kernel_hashed_bytes: u64,
    pub invalidations: u64,
}

/// `[u64; HOOK_COUNT]` as `{"exec": 3, "mmap": 0, ...}`.
mod per_hook {
    use std::collections::BTreeMap;

    use provgate_common::HOOK_COUNT;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::kernel::events::hook_name;

    pub fn serialize<S: Serializer>(counts: &[u64; HOOK_COUNT], serializer: S) -> Result<S::Ok, S::Error> {
        let named: BTreeMap<&str, u64> = counts.iter().enumerate().map(|(h, n)| (hook_name(h as u8), *n)).collect();
        named.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u64; HOOK_COUNT], D::Error> {
        let named = BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut counts = [0; HOOK_COUNT];
        for (h, count) in counts.iter_mut().enumerate() {
            *count = named.get(hook_name(h as u8)).copied().unwrap_or(0);
        }
        Ok(counts)
    }
}

fn take<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, LoadError>
where
    T: TryFrom<aya::maps::Map, Error = MapError>,
{
    let map = ebpf.take_map(name).ok_or(LoadError::Map(name, MapError::InvalidName { name: name.into() }))?;
    T::try_from(map).map_err(|e| LoadError::Map(name, e))
}

impl KernelMaps {
    pub fn take(ebpf: &mut Ebpf) -> Result<Self, LoadError> {
        Ok(Self {
            verdicts: Some(Verdicts::new(take(ebpf, names::VERDICTS)?, take(ebpf, names::VERDICT_SLOTS)?)),
            allowed: Some(take(ebpf, names::ALLOWED)?),
            files: take(ebpf, names::FILES)?,
            scopes: take(ebpf, names::SCOPES)?,
            untrusted_fs: take(ebpf, names::UNTRUSTED_FS)?,
            trusted_devs: take(ebpf, names::TRUSTED_DEVS)?,
            protected: take(ebpf, names::PROTECTED)?,
            settings: take(ebpf, names::SETTINGS)?,
            counters: take(ebpf, names::COUNTERS)?,
            events: Some(take(ebpf, names::EVENTS)?),
        })
    }

    /// The ring buffer, for the event reader; can be taken once.
    pub fn take_events(&mut self) -> Option<RingBuf<MapData>> {
        self.events.take()
    }

    pub fn write_settings(&mut self, settings: &Settings) -> Result<(), MapError> {
        self.settings.set(0, settings, 0)
    }

    /// Before the scope map changes under running programs (a daemon taking over pinned
    /// programs): adds the scope filter's keys of `next` to the settings the programs use now,
    /// since a filter must never lack a key its map holds, and empties their inline scopes, so
    /// that until the new settings are written every scope is read from the map.
    pub fn prepare_scope_change(&mut self, next: &Settings) -> Result<(), MapError> {
        let mut now = self.settings.get(&0, 0)?;
        now.scopes.union(&next.scopes);
        now.inline_scopes = Default::default();
        self.settings.set(0, now, 0)
    }

    /// Makes the scope map hold exactly `scopes` (cgroup id -> mode and `SCOPE_*` flags).
    pub fn set_scopes(&mut self, scopes: &[(u64, u32)]) -> Result<(), MapError> {
        set_exactly(&mut self.scopes, scopes)
    }

    /// Makes the untrusted filesystem types exactly `magics`.
    pub fn set_untrusted_filesystems(&mut self, magics: &[u64]) -> Result<(), MapError> {
        set_exactly(&mut self.untrusted_fs, &magics.iter().map(|m| (*m, 1)).collect::<Vec<_>>())
    }

    /// Makes the trusted mounts (kernel device numbers) exactly `devs`.
    pub fn set_trusted_devices(&mut self, devs: &[u32]) -> Result<(), MapError> {
        set_exactly(&mut self.trusted_devs, &devs.iter().map(|d| (*d, 1)).collect::<Vec<_>>())
    }

    /// Makes the protected objects exactly `keys`.
    pub fn set_protected(&mut self, keys: &[ProtectedKey]) -> Result<(), MapError> {
        set_exactly(&mut self.protected, &keys.iter().map(|k| (*k, 1)).collect::<Vec<_>>())
    }

    /// What the kernel holds for the file behind `file` (any descriptor, `O_PATH` included).
    pub fn file_state(&self, file: &std::fs::File) -> Result<Option<FileState>, MapError> {
        match self.files.get(file, 0) {
            Ok(state) => Ok(Some(state)),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The enforcing programs keep each file's digest in BPF inode storage; a kernel that cannot
    /// allocate it (seen with a CPU lacking CX16, where lock-free allocations fail) would deny
    /// every file. Creating and removing one entry, for provgate's own executable, proves it works.
    pub fn probe_inode_storage(&mut self) -> Result<(), LoadError> {
        let unusable = |message: String| LoadError::Program { name: names::FILES, message };
        let exe = std::fs::File::open("/proc/self/exe").map_err(|e| unusable(format!("/proc/self/exe: {e}")))?;
        self.files
            .insert(&exe, FileState::default(), 0)
            .map_err(|e| unusable(format!("the kernel cannot create BPF inode storage: {e}")))?;
        let _ = self.files.remove(&exe);
        Ok(())
    }

    /// The observe-only verdicts, for the daemon's engine; can be taken once.
    pub fn take_verdicts(&mut self) -> Option<Verdicts> {
        self.verdicts.take()
    }

    /// The allowed-digest map, for the daemon's engine; can be taken once.
    pub fn take_allowed(&mut self) -> Option<AllowedMap> {
        self.allowed.take()
    }

    pub fn counters(&self) -> Counters {
        let get = |index: u32| -> u64 { self.counters.get(&index, 0).map(|per_cpu| per_cpu.iter().sum()).unwrap_or(0) };
        let per_hook = |base: u32| std::array::from_fn(|hook| get(base + hook as u32));
        Counters {
            allowed: per_hook(counter::ALLOWED),
            denied: per_hook(counter::DENIED),
            audited: per_hook(counter::AUDITED),
            events_dropped: get(counter::EVENTS_DROPPED),
            anon_exec: get(counter::ANON_EXEC),
            daemon_exempt: get(counter::DAEMON_EXEMPT),
            read_errors: get(counter::READ_ERRORS),
            kernel_hashes: get(counter::KERNEL_HASHES),
            kernel_hashed_bytes: get(counter::KERNEL_HASHED_BYTES),
            invalidations: get(counter::INVALIDATIONS),
        }
    }
}

/// Makes a hash map hold exactly `entries`: stale keys removed, the rest written.
fn set_exactly<K, V>(map: &mut BpfHashMap<MapData, K, V>, entries: &[(K, V)]) -> Result<(), MapError>
where
    K: aya::Pod + PartialEq,
    V: aya::Pod,
{
    let stale: Vec<K> = map.keys().filter_map(Result::ok).filter(|k| !entries.iter().any(|(e, _)| e == k)).collect();
    for key in stale {
        map.remove(&key)?;
    }
    for (key, value) in entries {
        map.insert(key, value, 0)?;
    }
    Ok(())
}
