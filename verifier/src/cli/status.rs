use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use crate::{
    daemon::status::{self, DaemonStatus, State, process_alive},
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

fn live_status(run_dir: &Path) -> Option<DaemonStatus> {
    status::read(run_dir).ok().filter(|s| process_alive(s.pid))
}

pub fn run(run_dir: &Path, args: Args) -> anyhow::Result<i32> {
    if let Some(wait) = args.wait {
        let deadline = Instant::now() + Duration::from_secs_f64(wait.max(0.0));
        loop {
            let current = live_status(run_dir);
            if let Some(s) = &current {
                if s.is_ready() {
                    break;
                }
                if s.state == State::Active {
                    // Attached, but not the enforcement asked for: waiting will not change it.
                    print(s, args.json);
                    eprintln!("provgate: the daemon is running but NOT enforcing");
                    return Ok(NOT_ENFORCING);
                }
            }
            if Instant::now() >= deadline {
                match &current {
                    Some(s) => print(s, args.json),
                    None => eprintln!("provgate: no running daemon (status {})", status::status_path(run_dir).display()),
                }
                eprintln!("provgate: gave up after {wait}s waiting for the daemon to enforce");
                return Ok(1);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    match live_status(run_dir) {
        Some(s) => {
            print(&s, args.json);
            Ok(if s.is_ready() { 0 } else { NOT_ENFORCING })
        }
        None => {
            let pinned = pinned_state_exists(&args.pin_dir);
            if args.json {
                println!("{}", serde_json::json!({"running": false, "pinned_programs": pinned}));
            } else {
                println!("provgate: daemon not running");
                if pinned {
                    println!(
                        "pinned programs in {} are still enforcing (--keep-on-exit); start the daemon to take them over",
                        args.pin_dir.display()
                    );
                }
            }
            Ok(NOT_RUNNING)
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
        println!("scope:        cgroup {} (id {}, level {}, {})", c.path.display(), c.id, c.level, c.mode);
    }
    match &s.enforcement {
        Some(Enforcement::Lsm) => println!("enforcement:  BPF LSM on exec, mmap and mprotect"),
        Some(Enforcement::ObserveOnly { reason }) => println!("enforcement:  OBSERVE-ONLY, nothing is denied: {reason}"),
        None => println!("enforcement:  not yet attached"),
    }
    println!("kernel:       {}", s.kernel.summary());
    println!("verdicts:     {} files in the kernel map; {} allowed digests", s.verdicts, s.allowed_digests);
    for hook in 0..provgate_common::HOOK_COUNT {
        let (a, d, w) = (s.counters.allowed[hook], s.counters.denied[hook], s.counters.audited[hook]);
        if a + d + w > 0 {
            println!("{:<13} allowed {a}, denied {d}, would-deny {w}", format!("{}:", hook_name(hook as u8)));
        }
    }
    println!("anon exec:    {} (JIT mappings seen in scope)", s.counters.anon_exec);
    println!("events:       {} recorded, {} dropped", s.events_recorded, s.counters.events_dropped);
    println!(
        "pinning:      keep-on-exit {}, took over pinned programs {}",
        yes_no(s.keep_on_exit),
        yes_no(s.took_over)
    );
    for p in &s.program_stats {
        if p.run_count > 0 {
            println!("program:      {} {} runs, {} ns/run", p.program, p.run_count, p.run_time_ns / p.run_count);
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
