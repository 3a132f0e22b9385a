//! `provgate-vm`: boot provgate in a VM with a stock Debian kernel, for the demo and the exec
//! benchmark (the tests use the library directly).
use std::{path::PathBuf, time::Duration};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Boot provgate in a qemu VM (TCG) with a Debian cloud kernel")]
struct Cli {
    /// The provgate binary to put in the VM.
    #[arg(long)]
    provgate: PathBuf,
    /// Debian suite of the kernel: bookworm (6.1), bookworm-backports (6.12), sid (newest).
    #[arg(long, default_value = "bookworm")]
    kernel: String,
    /// Where the initramfs and console log go.
    #[arg(long, default_value = "target/vm")]
    work: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Narrated demo: trusted code runs, unknown code is denied, denials are reviewed.
    Demo,
    /// fork+exec cost with and without the programs attached (ratios within one boot).
    Bench,
    /// Runs tests/vm/NAME.sh and prints the console (for developing scenarios).
    Script { name: String },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    provgate_vm::prerequisites().map_err(anyhow::Error::msg)?;
    let kernel = provgate_vm::kernel_image(&cli.kernel).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&cli.work).with_context(|| cli.work.display().to_string())?;
    let image = provgate_vm::build_initramfs(&cli.provgate, &cli.work).map_err(anyhow::Error::msg)?;
    let image = provgate_vm::kernel_initramfs(&image, &cli.kernel, &cli.work).map_err(anyhow::Error::msg)?;
    let (script, done) = match &cli.command {
        Command::Demo => ("demo", "PROVGATE-DEMO-DONE"),
        Command::Bench => ("bench", "PROVGATE-BENCH "),
        Command::Script { name } => (name.as_str(), "PROVGATE-VM-DONE"),
    };
    eprintln!("booting {} (TCG, a few seconds)...", kernel.display());
    let log = cli.work.join(format!("console-{script}-{}.log", cli.kernel));
    let run = provgate_vm::boot(&kernel, &image, &cli.kernel, script, &log, Duration::from_secs(1500))
        .map_err(anyhow::Error::msg)?;
    let started = run.console.find("PROVGATE-KERNEL").unwrap_or(0);
    let output = &run.console[started..];
    match cli.command {
        Command::Demo | Command::Script { .. } => println!("{output}"),
        Command::Bench => print_bench(output)?,
    }
    if !run.console.contains(done) {
        bail!("the VM did not finish its {script}; console in {}", log.display());
    }
    Ok(())
}

fn print_bench(console: &str) -> Result<()> {
    for round in console.lines().filter(|l| l.starts_with("PROVGATE-BENCH-ROUND")) {
        println!("{round}");
    }
    // fapolicyd's own counters from its last run (decisions, and its caches: a subject is a
    // process, built from /proc at its first event; an object a file, typed and hashed once).
    let counters =
        ["Allowed accesses", "Denied accesses", "Object hits", "Object misses", "Subject hits", "Subject misses"];
    for line in console.lines().filter(|l| counters.iter().any(|c| l.starts_with(c))) {
        println!("fapolicyd (last round) {line}");
    }
    let line =
        console.lines().find(|l| l.starts_with("PROVGATE-BENCH ")).context("no PROVGATE-BENCH line in the console")?;
    println!("{line}");
    let value = |key: &str| -> Result<f64> {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{key} missing from {line}"))
    };
    let baseline = value("baseline_ns")?;
    for (key, what) in [
        ("in_scope_ns", "programs attached, process in the enforced cgroup"),
        ("outside_scope_ns", "programs attached, process outside every scope"),
        ("fapolicyd_ns", "fapolicyd enforcing, same trusted files, integrity = sha256"),
    ] {
        println!("{:.3} x baseline: {what} (median fork+exec of a trusted binary)", value(key)? / baseline);
    }
    // The kernel's own accounting of the programs' run time during the in-scope execs: the
    // share of an exec spent in provgate's hooks, independent of how noisy the host is.
    let bpf = value("bpf_ns_per_exec")?;
    println!(
        "{:.4} of an in-scope exec spent in provgate's programs ({bpf:.0} ns of {:.0} ns, kernel run-time stats)",
        bpf / value("in_scope_ns")?,
        value("in_scope_ns")?
    );
    let lib_baseline = value("lib_baseline_ns")?;
    for (key, what) in [
        ("lib_in_scope_ns", "programs attached, process in the enforced cgroup"),
        ("lib_fapolicyd_ns", "fapolicyd enforcing"),
    ] {
        println!(
            "{:.3} x baseline: {what} (median fork+exec of a program mapping 50 libraries)",
            value(key)? / lib_baseline
        );
    }
    let lib_bpf = value("lib_bpf_ns_per_exec")?;
    println!(
        "{:.4} of an in-scope 50-library start spent in provgate's programs ({lib_bpf:.0} ns of {:.0} ns)",
        lib_bpf / value("lib_in_scope_ns")?,
        value("lib_in_scope_ns")?
    );
    // A container's case: the same libraries through an overlay, whose every executable mapping
    // also runs the layer check (`vma_set_file`).
    let lib_overlay_bpf = value("lib_overlay_bpf_ns_per_exec")?;
    println!(
        "50-library start through an overlay: provgate's programs {lib_overlay_bpf:.0} ns per start, {:.2}x the \
         same start without one; the layer check {:.0} ns per mapping (kernel run-time stats)",
        lib_overlay_bpf / lib_bpf,
        value("layer_check_ns")?
    );
    // The same comparison by work done rather than by wall time, which the host's load blurs:
    // provgate's programs by the kernel's statistics, fapolicyd's daemon by its CPU time (10 ms
    // ticks; a lower bound, without the kernel's queueing of each event and the switches of the
    // waiting process).
    for (workload, ours, theirs) in [
        ("exec", bpf, value("fapolicyd_cpu_ns_per_exec")?),
        ("50-library start", lib_bpf, value("lib_fapolicyd_cpu_ns_per_exec")?),
    ] {
        println!(
            "{workload}: work per start: provgate's programs {ours:.0} ns, fapolicyd's daemon at least {theirs:.0} ns of \
             CPU ({:.2} of it)",
            ours / theirs
        );
    }
    // Issue 15's goal: provgate's added cost (over the baseline) at most a third of fapolicyd's.
    for (workload, base, provgate, fapolicyd) in [
        ("exec", baseline, value("in_scope_ns")?, value("fapolicyd_ns")?),
        ("50-library start", lib_baseline, value("lib_in_scope_ns")?, value("lib_fapolicyd_ns")?),
    ] {
        let (ours, theirs) = (provgate - base, fapolicyd - base);
        println!(
            "{workload}: provgate adds {ours:.0} ns, fapolicyd {theirs:.0} ns: provgate's added cost is {:.2} of fapolicyd's \
             (goal: at most 0.33)",
            ours / theirs
        );
    }
    Ok(())
}
