//! `provgate check-policy`: reads a trust policy file as `register` will, and says what it
//! trusts, or which line is wrong.
use std::path::PathBuf;

use provgate_attestations::{TrustPolicy, policy::SignerPattern};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The trust policy file (TOML).
    policy: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let policy = TrustPolicy::from_file(&args.policy)?;
    if policy.signers().is_empty() {
        println!("{}: no signers: nothing is trusted", policy.origin());
    }
    for rule in policy.signers() {
        let who = match &rule.signer {
            SignerPattern::Certificate { issuer, identity, claims } => {
                let mut who = format!("identity {identity} from issuer {issuer}");
                for (claim, matcher) in claims.constraints() {
                    who.push_str(&format!(", {claim} {matcher}"));
                }
                who
            }
            SignerPattern::Key(key) => format!("key {}", key.as_signer().fingerprint()),
        };
        println!("{:?}: {who}, may vouch with {}", rule.name, rule.may_vouch);
    }
    Ok(0)
}
