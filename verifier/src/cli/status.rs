use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use super::Paths;
use crate::{
    api::{
        DaemonStatus, State,
        client::{self, ClientError},
    },
    kernel::{
        events::hook_name,
        loader::{DEFAULT_PIN_DIR, Enforcement, pinned_state_exists},
    },
    store::now_ms,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Wait up to this many seconds for the daemon to be enforcing; exit 0 once it is.
    #[arg(long, value_name = "SECONDS")]
    wait: Option<f64>,
    #[arg(long)]
    json: bool,
    /// bpffs directory of pinned programs, to report enforcement that outlived its daemon.
    #[arg(long, default_value = DEFAULT_PIN_DIR)]
    pin_dir: PathBuf,
}

const NOT_RUNNING: i32 = 3;
const NOT_ENFORCING: i32 = 2;

fn query(paths: &Paths) -> Result<DaemonStatus, ClientError> {
    client::status(&paths.run_dir)
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let deadline = args.wait.map(|w| Instant::now() + Duration::from_secs_f64(w.max(0.0)));
    loop {
        let current = query(paths);
        match (&current, deadline) {
            (Ok(s), _) if s.is_ready() => {
                print(s, args.json);
                return Ok(0);
            }
            (Ok(s), _) if s.state == State::Active => {
                // Attached, but not the enforcement asked for: waiting will not change it.
                print(s, args.json);
                eprintln!("provgate: the daemon is running but NOT enforcing");
                return Ok(NOT_ENFORCING);
            }
            (Err(ClientError::PermissionDenied(_)), _) => return Err(current.unwrap_err().into()),
            (_, Some(deadline)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            (Ok(s), _) => {
                print(s, args.json);
                eprintln!("provgate: the daemon is not active yet");
                return Ok(NOT_ENFORCING);
            }
            (Err(e), _) => {
                let pinned = pinned_state_exists(&args.pin_dir);
                if args.json {
                    println!("{}", serde_json::json!({ "running": false, "pinned_programs": pinned }));
                } else {
                    println!("provgate: daemon not running");
                    if pinned {
                        println!(
                            "pinned programs in {} are still enforcing (--keep-on-exit); start the daemon to take them over",
                            args.pin_dir.display()
                        );
                    }
                }
                if let Some(wait) = args.wait {
                    eprintln!("provgate: gave up after {wait}s waiting for the daemon to enforce ({e})");
                    return Ok(1);
                }
                return Ok(NOT_RUNNING);
            }
        }
    }
}

fn print(s: &DaemonStatus, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(s).unwrap_or_default());
        return;
    }
    let state = match s.state {
        State::Starting => "starting",
        State::Active => "active",
        State::Stopping => "stopping",
    };
    let up = (now_ms() - s.started_at_ms).max(0) / 1000;
    println!("provgate: {state} (pid {}, up {up}s)", s.pid);
    println!("mode:         {}", s.mode);
    if s.cgroups.is_empty() {
        println!("scope:        host-wide");
    }
    for c in &s.cgroups {
        let role = match (c.debugger, c.admin) {
            (true, true) => ", debugger, admin",
            (true, false) => ", debugger",
            (false, true) => ", admin",
            (false, false) => "",
        };
        println!("scope:        cgroup {} (id {}, level {}, {}{role})", c.path.display(), c.id, c.level, c.mode);
    }
    match &s.enforcement {
        Some(Enforcement::Lsm) => println!(
            "enforcement:  BPF LSM on exec, mmap and mprotect; hardened {}; anonymous exec {}",
            yes_no(s.hardened),
            if s.deny_anon_exec { "denied" } else { "allowed" }
        ),
        Some(Enforcement::ObserveOnly { reason }) => {
            println!("enforcement:  OBSERVE-ONLY, nothing is denied: {reason}")
        }
        None => println!("enforcement:  not yet attached"),
    }
    println!("kernel:       {}", s.kernel.summary());
    for why in &s.unavailable {
        println!("unavailable:  {why}");
    }
    println!(
        "verdicts:     {} files in the kernel map (capacity {}); {} allowed digests",
        s.verdicts, s.verdict_capacity, s.allowed_digests
    );
    for w in &s.watched {
        println!("watching:     {} ({})", w.mount_point.display(), w.fstype);
    }
    for hook in 0..provgate_common::HOOK_COUNT {
        let (a, d, w) = (s.counters.allowed[hook], s.counters.denied[hook], s.counters.audited[hook]);
        if a + d + w > 0 {
            println!("{:<13} allowed {a}, denied {d}, would-deny {w}", format!("{}:", hook_name(hook as u8)));
        }
    }
    println!("anon exec:    {} (JIT mappings seen in scope)", s.counters.anon_exec);
    println!(
        "kernel hash:  {} files hashed in the kernel ({} MB), {} digests made stale by writes",
        s.counters.kernel_hashes,
        s.counters.kernel_hashed_bytes / 1_000_000,
        s.counters.invalidations
    );
    println!(
        "hashing:      {} files hashed ({} MB), {} cache hits, {} files cached",
        s.daemon.hashes,
        s.daemon.bytes_hashed / 1_000_000,
        s.daemon.cache_hits,
        s.daemon.cached_files
    );
    println!(
        "events:       {} recorded, {} dropped (ring buffer full), {} not stored",
        s.events_recorded, s.counters.events_dropped, s.daemon.events_not_stored
    );
    println!(
        "pinning:      keep-on-exit {}, took over pinned programs {}",
        yes_no(s.keep_on_exit),
        yes_no(s.took_over)
    );
    for feed in &s.feeds {
        println!(
            "feed:         {} ({}; {} items not used)",
            feed.reference,
            super::feed::state(feed),
            feed.not_used.len()
        );
    }
    if let Some(address) = &s.metrics_address {
        println!("metrics:      http://{address}/metrics");
    }
    for p in &s.program_stats {
        if p.run_count > 0 {
            println!("program:      {} {} runs, {} ns/run", p.program, p.run_count, p.run_time_ns / p.run_count);
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
