//! The command line: one module per command group.
mod allow;
mod denials;
mod hash;
mod register;
mod run;
mod sbom;
mod status;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{daemon::status::DEFAULT_RUN_DIR, store};

#[derive(Debug, Parser)]
#[command(name = "provgate", version, about = "Only code whose provenance is proven may run.")]
pub struct Cli {
    /// The SQLite store holding the allowlist and events.
    #[arg(long, global = true, env = "PROVGATE_DB", default_value = store::DEFAULT_PATH)]
    pub db: PathBuf,
    /// Where the daemon publishes its status.
    #[arg(long, global = true, env = "PROVGATE_RUN_DIR", default_value = DEFAULT_RUN_DIR)]
    pub run_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash each file (SHA-256) and add the digests to the allowlist.
    Allow(allow::Args),
    /// Print `sha256:<hex>  PATH` for each file.
    Hash(hash::Args),
    /// Run the daemon in the foreground: load the programs, fill the verdict map, enforce.
    Run(run::Args),
    /// Show what is running, in which mode, on which scopes, with which kernel support.
    Status(status::Args),
    /// Show what was denied, or would have been in audit mode.
    Denials(denials::Args),
    /// Inspect an SBOM, or generate one for a build output directory.
    Sbom(sbom::Args),
    /// Add the digests that evidence (an SBOM) vouches for to the allowlist.
    Register(register::Args),
}

/// Runs the command and returns the process exit code.
pub fn main(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Allow(args) => allow::run(&cli.db, args),
        Command::Hash(args) => hash::run(args),
        Command::Run(args) => run::run(&cli.db, &cli.run_dir, args),
        Command::Status(args) => status::run(&cli.run_dir, args),
        Command::Denials(args) => denials::run(&cli.db, args),
        Command::Sbom(args) => sbom::run(args),
        Command::Register(args) => register::run(&cli.db, args),
    }
}
