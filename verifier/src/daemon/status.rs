//! The daemon's status file: what runs, in which mode, on which scopes, with which kernel
//! support. Written atomically; read by `provgate status`.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::scope::{CgroupScope, Mode};
use crate::kernel::{loader::Enforcement, maps::Counters, support::KernelSupport};

pub const DEFAULT_RUN_DIR: &str = "/run/provgate";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Loading programs and filling the verdict map; nothing enforced by this daemon yet.
    Starting,
    /// Programs attached and the verdict map filled.
    Active,
    Stopping,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramStat {
    pub program: String,
    pub run_time_ns: u64,
    pub run_count: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
    pub state: State,
    pub mode: Mode,
    /// `None`: host-wide.
    pub cgroups: Vec<CgroupScope>,
    pub enforcement: Option<Enforcement>,
    pub observe_only_requested: bool,
    pub kernel: KernelSupport,
    pub keep_on_exit: bool,
    pub took_over: bool,
    pub pin_dir: PathBuf,
    pub store: PathBuf,
    pub verdicts: usize,
    pub allowed_digests: i64,
    pub counters: Counters,
    pub events_recorded: u64,
    pub program_stats: Vec<ProgramStat>,
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

pub fn status_path(run_dir: &Path) -> PathBuf {
    run_dir.join("status.json")
}

pub fn write(run_dir: &Path, status: &DaemonStatus) -> std::io::Result<()> {
    std::fs::create_dir_all(run_dir)?;
    let path = status_path(run_dir);
    let tmp = run_dir.join(format!(".status.json.{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, &path)
}

pub fn read(run_dir: &Path) -> std::io::Result<DaemonStatus> {
    let bytes = std::fs::read(status_path(run_dir))?;
    serde_json::from_slice(&bytes).map_err(std::io::Error::other)
}

pub fn remove(run_dir: &Path) {
    let _ = std::fs::remove_file(status_path(run_dir));
}

/// Whether `pid` is a live process (not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}
