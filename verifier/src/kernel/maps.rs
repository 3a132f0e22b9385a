//! Typed handles on the maps shared with the programs.
use aya::{
    Ebpf,
    maps::{Array, HashMap as BpfHashMap, MapData, MapError, PerCpuArray, RingBuf},
};
use provgate_common::{FileKey, HOOK_COUNT, Settings, Verdict, counter, names};
use serde::{Deserialize, Serialize};

use super::loader::LoadError;

/// The verdict map: file identity -> allow verdict with change cookie.
pub type VerdictMap = BpfHashMap<MapData, FileKey, Verdict>;

pub struct KernelMaps {
    verdicts: Option<VerdictMap>,
    scopes: BpfHashMap<MapData, u64, u32>,
    settings: Array<MapData, Settings>,
    counters: PerCpuArray<MapData, u64>,
    events: Option<RingBuf<MapData>>,
}

/// Counters summed over CPUs. Per-hook arrays are indexed exec, mmap, mprotect, exec-observed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counters {
    pub allowed: [u64; HOOK_COUNT],
    pub denied: [u64; HOOK_COUNT],
    pub audited: [u64; HOOK_COUNT],
    pub events_dropped: u64,
    pub anon_exec: u64,
    pub daemon_exempt: u64,
    pub read_errors: u64,
}

fn take<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, LoadError>
where
    T: TryFrom<aya::maps::Map, Error = MapError>,
{
    let map = ebpf
        .take_map(name)
        .ok_or(LoadError::Map(name, MapError::InvalidName { name: name.into() }))?;
    T::try_from(map).map_err(|e| LoadError::Map(name, e))
}

impl KernelMaps {
    pub fn take(ebpf: &mut Ebpf) -> Result<Self, LoadError> {
        Ok(Self {
            verdicts: Some(take(ebpf, names::VERDICTS)?),
            scopes: take(ebpf, names::SCOPES)?,
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

    /// Makes the scope map hold exactly `scopes` (cgroup id -> mode).
    pub fn set_scopes(&mut self, scopes: &[(u64, u32)]) -> Result<(), MapError> {
        let stale: Vec<u64> = self
            .scopes
            .keys()
            .filter_map(Result::ok)
            .filter(|id| !scopes.iter().any(|(s, _)| s == id))
            .collect();
        for id in stale {
            self.scopes.remove(&id)?;
        }
        for (id, mode) in scopes {
            self.scopes.insert(id, mode, 0)?;
        }
        Ok(())
    }

    /// The verdict map, for the daemon's engine; can be taken once.
    pub fn take_verdicts(&mut self) -> Option<VerdictMap> {
        self.verdicts.take()
    }

    pub fn counters(&self) -> Counters {
        let get = |index: u32| -> u64 {
            self.counters
                .get(&index, 0)
                .map(|per_cpu| per_cpu.iter().sum())
                .unwrap_or(0)
        };
        let per_hook = |base: u32| std::array::from_fn(|hook| get(base + hook as u32));
        Counters {
            allowed: per_hook(counter::ALLOWED),
            denied: per_hook(counter::DENIED),
            audited: per_hook(counter::AUDITED),
            events_dropped: get(counter::EVENTS_DROPPED),
            anon_exec: get(counter::ANON_EXEC),
            daemon_exempt: get(counter::DAEMON_EXEMPT),
            read_errors: get(counter::READ_ERRORS),
        }
    }
}
