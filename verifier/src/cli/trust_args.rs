//! `--policy` and `--trusted-root`, for every command that verifies signed evidence.
use std::path::PathBuf;

use crate::{config::Config, trust::Trust};

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// The trust policy: who may vouch, with which predicate types and artifact signatures
    /// [default: trust_policy from the configuration].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The Sigstore trusted root [default: trusted_root from the configuration, else the
    /// public-good instance's].
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

impl TrustArgs {
    /// The trust these name, the configuration filling in what they do not.
    pub fn load(&self, config: &Config) -> anyhow::Result<Trust> {
        Trust::load(config, self.policy.as_deref(), self.trusted_root.as_deref())
    }
}
