//! `provgate run`: load and attach the programs, keep the kernel maps true as trust changes,
//! record events, answer the CLI. In parts: [`startup`] brings the daemon up and down,
//! [`event_loop`] owns its state and serves the ring buffer, the API and the store's changes,
//! [`recorder`] turns kernel events into stored records off that loop (it may hash), [`server`]
//! speaks the API socket and the metrics endpoint, [`status`] and [`metrics`] report.
mod by_name;
mod cgroups;
pub mod engine;
mod event_loop;
mod feed_sync;
mod image_watch;
mod lock;
mod metrics;
mod named_file;
mod recorder;
pub mod scope;
mod script_opens;
mod self_trust;
mod server;
mod startup;
mod status;
pub mod watch;

use std::path::PathBuf;

pub use feed_sync::FeedSettings;
pub use image_watch::{ImageWatchSettings, RepositoryPattern};
use scope::Mode;

#[derive(Clone, Debug)]
pub struct DaemonConfig {
    pub mode: Mode,
    pub scopes: Vec<(PathBuf, Mode)>,
    pub roots: Vec<PathBuf>,
    pub watch: Vec<PathBuf>,
    pub watch_overlays: bool,
    pub keep_on_exit: bool,
    pub observe_only: bool,
    pub deny_anon_exec: bool,
    pub hardened: bool,
    pub debugger_cgroups: Vec<PathBuf>,
    pub admin_cgroups: Vec<PathBuf>,
    pub pin_dir: PathBuf,
    pub verdict_capacity: u32,
    pub event_buffer_bytes: u32,
    pub metrics_address: Option<String>,
    /// The metrics address may be a non-loopback one (`metrics_public`).
    pub metrics_public: bool,
    /// The host's `/` as the daemon sees it (`/host` in the Kubernetes DaemonSet).
    pub host_root: PathBuf,
    /// Events older than this are deleted; `None` keeps them.
    pub event_retention: Option<std::time::Duration>,
    pub store: PathBuf,
    pub run_dir: PathBuf,
    /// Filesystem types or mount points trusted although the kernel cannot vouch for their bytes.
    pub trusted_filesystems: Vec<String>,
    /// Files hardened mode protects beside the store: the configuration, trust policy and root.
    pub protected_files: Vec<PathBuf>,
    /// Trust feeds to follow.
    pub feeds: FeedSettings,
    /// Images to trust as containerd pulls them.
    pub images: ImageWatchSettings,
    /// Where events go besides the store.
    pub events: crate::events_out::EventsConfig,
}

impl DaemonConfig {
    /// The store's file with SQLite's companions (WAL mode keeps -wal and -shm while it is open).
    fn store_files(&self) -> Vec<PathBuf> {
        ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{}{suffix}", self.store.display())))
            .collect()
    }
}

pub fn run(config: DaemonConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(startup::run(config))
}
