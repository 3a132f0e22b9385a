//! The command line: one module per command group.
mod allow;
mod audit;
mod baseline;
mod check_policy;
mod config;
mod decisions;
mod denials;
mod explain;
mod feed;
mod hash;
mod image;
mod limit_args;
mod os;
mod publish;
mod queue;
mod register;
mod registry_args;
mod run;
mod sbom;
mod sources;
mod status;
mod table;
mod target;
mod trust_args;
mod verify_bundle;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{
    api::client,
    config::{Config, DEFAULT_PATH as DEFAULT_CONFIG},
};

#[derive(Debug, Parser)]
#[command(name = "provgate", version, about = "Only code whose provenance is proven may run.")]
pub struct Cli {
    /// The daemon's TOML configuration; its store and run_dir are also used by the other
    /// commands. Missing at the default location: defaults apply.
    #[arg(long, global = true, env = "PROVGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The SQLite store holding the allowlist and events [default: from the config, else
    /// /var/lib/provgate/provgate.db].
    #[arg(long, global = true, env = "PROVGATE_DB")]
    pub db: Option<PathBuf>,
    /// Where the daemon keeps its lock and API socket [default: from the config, else /run/provgate].
    #[arg(long, global = true, env = "PROVGATE_RUN_DIR")]
    pub run_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash each file (SHA-256) and add the digests to the allowlist.
    Allow(allow::Args),
    /// Print `sha256:<hex>  PATH` for each file.
    Hash(hash::Args),
    /// Trust what is installed now (trust on first use): one revocable source.
    Baseline(baseline::Args),
    /// Run the daemon in the foreground: load the programs, fill the verdict map, enforce.
    Run(run::Args),
    /// Show what is running, in which mode, on which scopes, with which kernel support.
    Status(status::Args),
    /// Show what was denied, or would have been in audit mode, grouped by file.
    Denials(denials::Args),
    /// Say whether a file or digest is allowed, and which sources vouch for it.
    /// Exits 0 when allowed, 1 when not.
    Explain(explain::Args),
    /// Work through the denials waiting for a decision, in the terminal: approve, dismiss or
    /// skip each, with what `explain` knows and who tried.
    Review(queue::Args),
    /// Trust a digest (or the file of a recorded event) on an admin's word; audited.
    Approve(decisions::ApproveArgs),
    /// Remove a source and exactly the trust it gave; audited.
    Revoke(decisions::RevokeArgs),
    /// Keep a denied file blocked on purpose: its denials leave the review queue; audited.
    Dismiss(decisions::DismissArgs),
    /// The trust-change log: sources added and revoked, approvals, dismissals; who, when, why.
    Audit(audit::Args),
    /// What the allowlist is made of.
    Sources(sources::Args),
    /// Inspect an SBOM, or generate one for a build output directory.
    Sbom(sbom::Args),
    /// Add the digests that evidence (an SBOM, a signed bundle or attestation) vouches for to the
    /// allowlist.
    Register(register::Args),
    /// Print the configuration file with its documented defaults, or check one.
    Config(config::Args),
    /// Verify a Sigstore bundle offline (the sigstore-conformance client command line).
    VerifyBundle(verify_bundle::Args),
    /// Read a trust policy file and show which signers it trusts, or what is wrong with it.
    CheckPolicy(check_policy::Args),
    /// Container images from OCI registries: trust a signed image's files, list, remove.
    Image(image::Args),
    /// CI: verify signed evidence, then add it to a trust feed on an OCI registry; prints the
    /// item's digest.
    Publish(publish::PublishArgs),
    /// CI: remove an item from a trust feed; nodes drop its trust at their next sync.
    Unpublish(publish::UnpublishArgs),
    /// Trust feeds this node follows: add, list, remove, sync.
    Feed(feed::Args),
    /// The operating system's packages: trust them from their signed archive (Debian's apt
    /// repositories), check coverage, install the apt hook.
    Os(os::Args),
}

/// The store and run directory every command uses: flag or environment, else the config file,
/// else the defaults.
pub struct Paths {
    pub db: PathBuf,
    pub run_dir: PathBuf,
}

/// Runs the command and returns the process exit code.
pub fn main(cli: Cli) -> anyhow::Result<i32> {
    let explicit = cli.config.is_some();
    let config_path = cli.config.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    // `config --check` reports errors in the file itself; other commands fail on them.
    let config = match &cli.command {
        Command::Config(_) => Config::default(),
        _ => Config::load(&config_path, explicit)?,
    };
    let paths = Paths {
        db: cli.db.clone().unwrap_or_else(|| config.store.clone()),
        run_dir: cli.run_dir.clone().unwrap_or_else(|| config.run_dir.clone()),
    };
    match cli.command {
        Command::Allow(args) => allow::run(&paths, args),
        Command::Hash(args) => hash::run(args),
        Command::Baseline(args) => baseline::run(&paths, args),
        Command::Run(args) => run::run(&paths, &config_path, config, args),
        Command::Status(args) => status::run(&paths, args),
        Command::Denials(args) => denials::run(&paths, args),
        Command::Explain(args) => explain::run(&paths, args),
        Command::Approve(args) => decisions::approve(&paths, args),
        Command::Revoke(args) => decisions::revoke(&paths, args),
        Command::Dismiss(args) => decisions::dismiss(&paths, args),
        Command::Audit(args) => audit::run(&paths, args),
        Command::Review(args) => queue::run(&paths, args),
        Command::Sources(args) => sources::run(&paths, &config, args),
        Command::Sbom(args) => sbom::run(args),
        Command::Register(args) => register::run(&paths, &config, args),
        Command::Config(args) => config::run(args),
        Command::VerifyBundle(args) => verify_bundle::run(args),
        Command::CheckPolicy(args) => check_policy::run(args),
        Command::Image(args) => image::run(&paths, &config, args),
        Command::Publish(args) => publish::publish(&config, args),
        Command::Unpublish(args) => publish::unpublish(&config, args),
        Command::Feed(args) => feed::run(&paths, &config, args),
        Command::Os(args) => os::run(&paths, &config, args),
    }
}

/// `--reason`, for the commands that add trust.
#[derive(Debug, clap::Args)]
pub struct Reason {
    /// Why this is trusted (kept in the audit log).
    #[arg(long = "reason", value_name = "REASON")]
    pub text: Option<String>,
}

/// Reports a refusal to add trust; the exit code to return.
pub fn refused(refusal: &crate::trust::Refusal) -> i32 {
    eprintln!("provgate: {refusal}");
    eprintln!("provgate: nothing was added to the allowlist");
    1
}

/// Tells the daemon that trust changed, so the kernel map follows at once; says what happened.
pub fn notify_daemon(paths: &Paths) {
    match client::reload(&paths.run_dir) {
        Ok((changes, micros)) => eprintln!(
            "provgate: the daemon applied it to the kernel maps ({} digests added, {} removed; {} file verdicts \
             added, {} removed, {micros} µs)",
            changes.digests_inserted, changes.digests_removed, changes.inserted, changes.removed
        ),
        Err(client::ClientError::NotRunning(_)) => {
            eprintln!("provgate: no daemon is running; it takes effect when the daemon starts")
        }
        Err(e) => eprintln!("provgate: {e}; a running daemon picks the change up within a second"),
    }
}
