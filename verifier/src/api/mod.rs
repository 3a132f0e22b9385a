//! The daemon's API as both sides see it: the requests the CLI sends over the daemon's Unix
//! socket (one line of JSON each way), the answers, and the status the daemon reports. The daemon
//! serves it (`daemon::server`); the CLI calls it through [`client`].
pub mod client;
mod status;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
pub use status::{DaemonCounters, DaemonStatus, KernelFileState, MapChanges, ProgramStat, State};

/// Where the daemon keeps its lock and API socket unless configured otherwise.
pub const DEFAULT_RUN_DIR: &str = "/run/provgate";

/// The API socket in a run directory.
pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join("api.sock")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// The daemon's status.
    Status,
    /// Re-read trust from the store now and update the kernel maps.
    Reload,
    /// What the kernel holds for a file: the digest it computed and whether it is still
    /// current (enforcing programs), or the daemon's verdict for it (observe-only).
    KernelState { path: PathBuf },
    /// Metrics in the Prometheus text format.
    Metrics,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum Answer {
    Status {
        status: Box<DaemonStatus>,
    },
    Reloaded {
        changes: MapChanges,
        micros: u64,
    },
    KernelState {
        kernel: KernelFileState,
    },
    Metrics {
        text: String,
    },
    /// The request could not be answered, and why.
    Failed {
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::{Answer, MapChanges, Request};

    #[test]
    fn requests_and_answers_read_back() {
        let line = serde_json::to_string(&Request::KernelState { path: "/usr/bin/x".into() }).unwrap();
        assert_eq!(line, r#"{"op":"kernel-state","path":"/usr/bin/x"}"#);
        assert!(matches!(serde_json::from_str(&line).unwrap(), Request::KernelState { .. }));
        let extra = r#"{"op":"kernel-state","path":"/x","extra":1}"#;
        assert!(serde_json::from_str::<Request>(extra).is_err(), "unknown fields refused");
        let answer = Answer::Reloaded { changes: MapChanges { inserted: 2, ..Default::default() }, micros: 7 };
        let read: Answer = serde_json::from_str(&serde_json::to_string(&answer).unwrap()).unwrap();
        assert!(matches!(read, Answer::Reloaded { changes: MapChanges { inserted: 2, .. }, micros: 7 }));
    }
}
