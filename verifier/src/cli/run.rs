use std::path::{Path, PathBuf};

use crate::{
    daemon::{self, DaemonConfig, scan::CANDIDATE_HELP, scope::Mode},
    kernel::loader::DEFAULT_PIN_DIR,
};

#[derive(Debug, clap::Args)]
#[command(after_help = format!(
    "Scanning: files named by allowlist sources are always hashed; under --root, only \
     candidates are: {CANDIDATE_HELP}. provgate always trusts its own executable and the \
     libraries it has loaded."
))]
pub struct Args {
    /// enforce: deny unknown code with EPERM. audit: allow it and record a would-deny.
    #[arg(long, value_enum)]
    mode: Mode,
    /// Enforce only in this cgroup v2 (and its descendants); repeatable. Without it, host-wide.
    #[arg(long = "cgroup", value_name = "PATH")]
    cgroups: Vec<PathBuf>,
    /// Directory to scan for allowlisted files at start; repeatable.
    #[arg(long = "root", value_name = "DIR")]
    roots: Vec<PathBuf>,
    /// Leave the programs and maps pinned in bpffs when the daemon exits, so enforcement
    /// continues; a restarted daemon takes them over.
    #[arg(long)]
    keep_on_exit: bool,
    /// Do not load the LSM programs: only report execs of unknown files.
    #[arg(long)]
    observe_only: bool,
    /// Deny anonymous executable memory (JIT) in enforced scopes. By default it is counted.
    #[arg(long)]
    deny_anon_exec: bool,
    /// bpffs directory for pinned programs and maps.
    #[arg(long, default_value = DEFAULT_PIN_DIR)]
    pin_dir: PathBuf,
    /// Capacity of the kernel verdict map (files).
    #[arg(long, default_value_t = 1 << 18)]
    verdict_capacity: u32,
    /// Size of the event ring buffer in KiB (a power of two, at least one page). Events that
    /// do not fit are dropped and counted.
    #[arg(long, default_value_t = 1024, value_parser = parse_ring_kib)]
    event_buffer_kib: u32,
}

fn parse_ring_kib(text: &str) -> Result<u32, String> {
    let kib: u32 = text.parse().map_err(|e| format!("{e}"))?;
    if kib >= 4 && kib.is_power_of_two() && kib <= 1 << 20 {
        Ok(kib)
    } else {
        Err("must be a power of two between 4 and 1048576".into())
    }
}

pub fn run(db: &Path, run_dir: &Path, args: Args) -> anyhow::Result<i32> {
    daemon::run(DaemonConfig {
        mode: args.mode,
        cgroups: args.cgroups,
        roots: args.roots,
        keep_on_exit: args.keep_on_exit,
        observe_only: args.observe_only,
        deny_anon_exec: args.deny_anon_exec,
        pin_dir: args.pin_dir,
        verdict_capacity: args.verdict_capacity,
        event_buffer_bytes: args.event_buffer_kib * 1024,
        store: db.to_owned(),
        run_dir: run_dir.to_owned(),
    })?;
    Ok(0)
}
