//! The trust in force: the Sigstore trusted root and the trust policy, and the one check every
//! signed bundle passes, at admission and when `sources verify` checks it again.
use std::path::Path;

use anyhow::{Context as _, bail};
use provgate_attestations::{
    ArtifactRef, Bundle, BundleVerifier, Check, Rejection, SignedContent, TrustPolicy, TrustRoot, VerifiedProvenance,
    Vouching, verify_and_authorize,
};

use crate::config::Config;

/// The trusted root and the trust policy in force.
pub struct Trust {
    pub verifier: BundleVerifier,
    pub policy: TrustPolicy,
}

impl Trust {
    /// From the flags, else the configuration. Without a policy nothing signed is trusted, so
    /// that is an error rather than an empty policy.
    pub fn load(config: &Config, policy: Option<&Path>, root: Option<&Path>) -> anyhow::Result<Self> {
        let Some(policy_path) = policy.or(config.trust_policy.as_deref()) else {
            bail!(
                "no trust policy: nothing signed is trusted; name one with --policy or trust_policy in the configuration"
            );
        };
        let policy = TrustPolicy::from_file(policy_path)?;
        let root = match root.or(config.trusted_root.as_deref()) {
            Some(path) => TrustRoot::from_file(path)?,
            None => TrustRoot::public_good(),
        };
        let verifier = BundleVerifier::new(&root).with_context(|| format!("trusted root {}", root.origin()))?;
        Ok(Self { verifier, policy })
    }

    /// Verifies a bundle and authorizes its signer. `sbom_predicate_type`, for a bundle over an
    /// SBOM file: vouching for an SBOM is vouching for every file it lists, so the signer must
    /// be allowed to vouch with SBOMs of that type, not merely to sign artifacts.
    pub fn verify_bundle(
        &self,
        bundle: &serde_json::Value,
        artifact: Option<ArtifactRef<'_>>,
        sbom_predicate_type: Option<&str>,
    ) -> Result<VerifiedProvenance, Rejection> {
        let bytes = serde_json::to_vec(bundle).map_err(|e| Rejection::new(Check::Bundle, e.to_string()))?;
        let bundle = Bundle::from_slice(&bytes).map_err(|e| Rejection::new(Check::Bundle, e.to_string()))?;
        let verified = verify_and_authorize(&self.verifier, &self.policy, &bundle, artifact)?;
        if let Some(predicate_type) = sbom_predicate_type {
            self.policy.authorize(&verified.bundle.signer, Vouching::Statement { predicate_type })?;
        }
        Ok(verified)
    }
}

/// One line about a verified signature, for the user.
pub fn describe(verified: &VerifiedProvenance) -> String {
    let bundle = &verified.bundle;
    let mut out = format!("signed by {}", bundle.signer.identity());
    if let Some(issuer) = bundle.signer.issuer() {
        out.push_str(&format!(" ({issuer})"));
    }
    if let SignedContent::Statement(statement) = &bundle.content {
        out.push_str(&format!(", in-toto {}", statement.predicate_type));
    }
    if let Some(index) = bundle.log_index() {
        out.push_str(&format!(", log index {index}"));
    }
    if let Some(time) = bundle.signed_at() {
        out.push_str(&format!(", signed at {time}"));
    }
    out.push_str(&format!(", authorized by policy rule {:?}", verified.authorized_by));
    out
}
