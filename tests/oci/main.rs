//! `provgate image` and trust feeds (`provgate publish`, `provgate feed`) end to end: the real binary, a real SQLite store, and Debian's
//! `docker-registry` on a loopback port, serving images built here and signed with the tests'
//! own Sigstore (cosign's tags and OCI referrers). Without docker-registry, skopeo or htpasswd
//! the run fails when CI=true and otherwise skips with one line.
mod accept;
mod feeds;
mod fixture;
mod refuse;
mod registries;

use libtest_mimic::{Arguments, Failed, Trial};

fn trial(name: &'static str, test: fn() -> Result<(), Failed>) -> Trial {
    Trial::test(name, test)
}

fn main() {
    let args = Arguments::from_args();
    if let Err(missing) = provgate_oci_testkit::registry::tools() {
        provgate_test_support::skip_or_fail(format!("oci tests need a registry: {missing}"));
        libtest_mimic::run(&args, Vec::new()).exit();
    }
    let mut trials = Vec::new();
    trials.extend(accept::trials());
    trials.extend(refuse::trials());
    trials.extend(registries::trials());
    trials.extend(feeds::trials());
    libtest_mimic::run(&args, trials).exit();
}
