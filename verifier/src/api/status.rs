//! What the daemon reports about itself through its API: what runs, in which mode, on which
//! scopes, with which kernel support, and its counters.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    daemon::{
        scope::{CgroupScope, Mode},
        watch::WatchedFs,
    },
    kernel::{loader::Enforcement, maps::Counters, support::KernelSupport},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Loading programs and filling the verdict map; nothing enforced by this daemon yet.
    Starting,
    /// Programs attached and the verdict map filled.
    Active,
    Stopping,
}

/// What a change of trust did to the kernel maps: file verdicts (observe-only) and allowed
/// digests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapChanges {
    pub inserted: usize,
    pub removed: usize,
    pub digests_inserted: usize,
    pub digests_removed: usize,
}

/// What the kernel holds for one file, as `explain` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum KernelFileState {
    /// A digest for the file's current content (the observe-only program keeps no digest).
    Current { sha256: Option<String>, allowed: bool },
    /// A digest for an earlier version: the file was written since; its next use rehashes it.
    Stale { sha256: Option<String> },
    /// Nothing yet: the kernel hashes the file at its first use.
    NotHashed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramStat {
    pub program: String,
    pub run_time_ns: u64,
    pub run_count: u64,
}

/// Work done by the daemon's user-space side.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DaemonCounters {
    pub hashes: u64,
    pub bytes_hashed: u64,
    pub cache_hits: u64,
    pub cached_files: usize,
    pub map_updates: u64,
    pub map_errors: u64,
    pub exec_permission_events: u64,
    /// Files whose execs skip the daemon until they are written (fanotify ignore marks placed
    /// since the last flush), and the flushes at the limit.
    #[serde(default)]
    pub exec_skip_marks: u64,
    #[serde(default)]
    pub exec_skip_mark_flushes: u64,
    pub close_write_events: u64,
    pub fanotify_overflows: u64,
    pub events_recorded: u64,
    pub events_not_stored: u64,
    /// Events written to the `[events]` output, and those it did not take.
    #[serde(default)]
    pub events_exported: u64,
    #[serde(default)]
    pub events_not_exported: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub started_at_ms: i64,
    pub state: State,
    pub mode: Mode,
    /// Empty: host-wide.
    pub cgroups: Vec<CgroupScope>,
    pub enforcement: Option<Enforcement>,
    pub observe_only_requested: bool,
    pub kernel: KernelSupport,
    pub keep_on_exit: bool,
    /// Hardened mode: root in an enforced scope cannot tamper with provgate.
    #[serde(default)]
    pub hardened: bool,
    #[serde(default)]
    pub deny_anon_exec: bool,
    /// Optional programs the kernel refused, with why (their protection is missing).
    #[serde(default)]
    pub unavailable: Vec<String>,
    pub took_over: bool,
    pub pin_dir: PathBuf,
    pub store: PathBuf,
    pub verdicts: usize,
    pub verdict_capacity: u32,
    pub allowed_digests: usize,
    pub watched: Vec<WatchedFs>,
    pub metrics_address: Option<String>,
    pub counters: Counters,
    pub daemon: DaemonCounters,
    pub events_recorded: u64,
    pub program_stats: Vec<ProgramStat>,
    /// Trust feeds followed and how their last sync went.
    #[serde(default)]
    pub feeds: Vec<crate::store::FeedRecord>,
}

impl DaemonStatus {
    /// Whether the daemon is doing what it was asked: attached, and enforcing through LSM
    /// programs unless observe-only was requested.
    pub fn is_ready(&self) -> bool {
        self.state == State::Active
            && match &self.enforcement {
                Some(Enforcement::Lsm) => true,
                Some(Enforcement::ObserveOnly { .. }) => self.observe_only_requested,
                None => false,
            }
    }
}
