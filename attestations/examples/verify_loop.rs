//! Verifies one bundle over and over for a while and prints `verifications_per_second N`: the
//! provgate half of bench/verify-bundle.sh. Each round does what `verify-bundle` does after
//! start-up: read the bundle, verify it against the artifact, authorize the signer.
//!
//! Usage: verify_loop TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER SECONDS
use std::{
    path::Path,
    time::{Duration, Instant},
};

use provgate_attestations::{ArtifactRef, Bundle, BundleVerifier, TrustPolicy, TrustRoot, verify_and_authorize};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, bundle, artifact, identity, issuer, seconds] = args.as_slice() else {
        return Err("usage: verify_loop TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER SECONDS".into());
    };
    let verifier = BundleVerifier::new(&TrustRoot::from_file(Path::new(root))?)?;
    let policy = TrustPolicy::exact_identity(identity, issuer);
    let bundle_bytes = std::fs::read(bundle)?;
    let artifact = std::fs::read(artifact)?;
    let budget = Duration::from_secs_f64(seconds.parse()?);
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        let bundle = Bundle::from_slice(&bundle_bytes)?;
        verify_and_authorize(&verifier, &policy, &bundle, Some(ArtifactRef::Bytes(&artifact)))?;
        rounds += 1;
    }
    println!("verifications_per_second {:.1}", rounds as f64 / start.elapsed().as_secs_f64());
    Ok(())
}
