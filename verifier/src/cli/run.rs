use std::path::{Path, PathBuf};

use super::Paths;
use crate::{
    config::Config,
    daemon::{self, DaemonConfig, FeedSettings, ImageWatchSettings, RepositoryPattern, scope::Mode},
    scan::CANDIDATE_HELP,
};

/// Flags override the configuration file (see `provgate config`).
#[derive(Debug, clap::Args)]
#[command(after_help = format!(
    "The enforcing programs hash every file in the kernel on its first use. For the observe-only \
     program, which cannot, files named by allowlist sources are always hashed; under --root, \
     only candidates are: {CANDIDATE_HELP}. provgate always trusts its own executable (never the \
     libraries it loaded)."
))]
pub struct Args {
    /// enforce: deny unknown code with EPERM. audit: allow it and record a would-deny.
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Enforce only in this cgroup v2 (and its descendants); repeatable. Replaces the
    /// configured scopes. Without any scope, host-wide.
    #[arg(long = "cgroup", value_name = "PATH")]
    cgroups: Vec<PathBuf>,
    /// Directory to scan at start and to watch; repeatable. Replaces the configured roots.
    #[arg(long = "root", value_name = "DIR")]
    roots: Vec<PathBuf>,
    /// Watch this path's filesystem without scanning it; repeatable. Replaces the configured list.
    #[arg(long = "watch", value_name = "PATH")]
    watch: Vec<PathBuf>,
    /// Do not watch overlay filesystems (container roots) as they are mounted.
    #[arg(long)]
    no_watch_overlays: bool,
    /// Leave the programs and maps pinned in bpffs when the daemon exits, so enforcement
    /// continues; a restarted daemon takes them over.
    #[arg(long)]
    keep_on_exit: bool,
    /// Do not load the LSM programs: only report execs of unknown files.
    #[arg(long)]
    observe_only: bool,
    /// Deny anonymous executable memory (JIT) in enforced scopes, and what amounts to it (W^X
    /// on private file mappings, READ_IMPLIES_EXEC, executable stacks, userfaultfd). By default
    /// it is counted.
    #[arg(long)]
    deny_anon_exec: bool,
    /// Hardened mode (the default with --mode enforce): root in an enforced scope cannot
    /// disable, bypass or impersonate provgate (see `provgate config`).
    #[arg(long, overrides_with = "no_hardened")]
    hardened: bool,
    /// Turn hardened mode off.
    #[arg(long)]
    no_hardened: bool,
    /// A cgroup whose processes may trace other processes (debuggers); repeatable. Replaces the
    /// configured list.
    #[arg(long = "debugger-cgroup", value_name = "PATH")]
    debugger_cgroups: Vec<PathBuf>,
    /// A cgroup exempt from the hardened tamper rules; repeatable. Replaces the configured list.
    #[arg(long = "admin-cgroup", value_name = "PATH")]
    admin_cgroups: Vec<PathBuf>,
    /// bpffs directory for pinned programs and maps.
    #[arg(long)]
    pin_dir: Option<PathBuf>,
    /// Capacity of the kernel verdict map (files).
    #[arg(long)]
    verdict_capacity: Option<u32>,
    /// Size of the event ring buffer in KiB (a power of two, at least 4). Events that do not fit
    /// are dropped and counted.
    #[arg(long, value_parser = parse_ring_kib)]
    event_buffer_kib: Option<u32>,
    /// Serve Prometheus metrics on this address (loopback unless --metrics-public); "" disables
    /// them.
    #[arg(long)]
    metrics_address: Option<String>,
    /// Allow a non-loopback metrics address (the endpoint has no authentication).
    #[arg(long)]
    metrics_public: bool,
    /// The host's root directory as the daemon sees it ("/host" in a container with the host's /
    /// mounted there), where denied files of exited processes are hashed.
    #[arg(long, value_name = "DIR")]
    host_root: Option<PathBuf>,
    /// Trust code on this filesystem type (fuse, nfs4, ...) or mount point although the kernel
    /// cannot vouch for its bytes; repeatable. Replaces the configured list.
    #[arg(long = "trust-filesystem", value_name = "TYPE|MOUNT")]
    trusted_filesystems: Vec<String>,
}

/// A repeatable flag replaces the configured list when given at all.
fn or_config<T>(flag: Vec<T>, configured: Vec<T>) -> Vec<T> {
    if flag.is_empty() { configured } else { flag }
}

fn parse_ring_kib(text: &str) -> Result<u32, String> {
    let kib: u32 = text.parse().map_err(|e| format!("{e}"))?;
    if kib >= 4 && kib.is_power_of_two() && kib <= 1 << 20 {
        Ok(kib)
    } else {
        Err("must be a power of two between 4 and 1048576".into())
    }
}

pub fn run(paths: &Paths, config_file: &Path, config: Config, args: Args) -> anyhow::Result<i32> {
    let feeds = FeedSettings { interval: config.feed_interval, config: config.clone() };
    let patterns = config.images.auto.iter().map(|p| RepositoryPattern::parse(p)).collect::<Result<Vec<_>, _>>();
    let images = ImageWatchSettings {
        patterns: patterns.map_err(|e| anyhow::anyhow!("[images] auto: {e}"))?,
        socket: config.images.containerd_socket.clone(),
        config: config.clone(),
    };
    let mode = args.mode.unwrap_or(config.mode);
    let scopes: Vec<(PathBuf, Mode)> = if args.cgroups.is_empty() {
        config.scopes.iter().map(|s| (s.cgroup.clone(), s.mode.unwrap_or(mode))).collect()
    } else {
        args.cgroups.into_iter().map(|c| (c, mode)).collect()
    };
    let enforces =
        if scopes.is_empty() { mode == Mode::Enforce } else { scopes.iter().any(|(_, m)| *m == Mode::Enforce) };
    let protected_files = [config_file.to_owned()]
        .into_iter()
        .chain(config.trust_policy.clone())
        .chain(config.trusted_root.clone())
        .collect();
    let metrics_address = args.metrics_address.unwrap_or(config.metrics_address);
    let host_root = args.host_root.unwrap_or(config.host_root);
    anyhow::ensure!(host_root.is_absolute(), "--host-root {}: must be an absolute path", host_root.display());
    daemon::run(DaemonConfig {
        mode,
        scopes,
        roots: or_config(args.roots, config.roots),
        watch: or_config(args.watch, config.watch),
        watch_overlays: config.watch_overlays && !args.no_watch_overlays,
        keep_on_exit: args.keep_on_exit || config.keep_on_exit,
        observe_only: args.observe_only || config.observe_only,
        deny_anon_exec: args.deny_anon_exec || config.deny_anon_exec,
        hardened: if args.hardened {
            true
        } else if args.no_hardened {
            false
        } else {
            config.hardened.unwrap_or(enforces)
        },
        debugger_cgroups: or_config(args.debugger_cgroups, config.debugger_cgroups),
        admin_cgroups: or_config(args.admin_cgroups, config.admin_cgroups),
        pin_dir: args.pin_dir.unwrap_or(config.pin_dir),
        verdict_capacity: args.verdict_capacity.unwrap_or(config.verdict_capacity),
        event_buffer_bytes: args.event_buffer_kib.unwrap_or(config.event_buffer_kib) * 1024,
        metrics_address: (!metrics_address.is_empty()).then_some(metrics_address),
        metrics_public: args.metrics_public || config.metrics_public,
        host_root,
        store: paths.db.clone(),
        run_dir: paths.run_dir.clone(),
        trusted_filesystems: or_config(args.trusted_filesystems, config.trusted_filesystems),
        protected_files,
        feeds,
        images,
        event_retention: (!config.event_retention.is_zero()).then_some(config.event_retention),
        events: config.events,
    })?;
    Ok(0)
}
