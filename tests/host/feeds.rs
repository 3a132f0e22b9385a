//! The daemon follows its trust feeds on its own (observe-only on this host, a test cgroup):
//! a feed named in the configuration is synced every `feed_interval`, an unpublished item loses
//! its trust without any command, and a registry that goes away leaves the last verified state,
//! which `status` reports as stale.
mod support;

use std::time::{Duration, Instant};

use provgate_attestations_testkit::{Identity, PrivateSigstore};
use provgate_oci_testkit::Registry;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

fn registry_here() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("docker-registry").is_file()))
}

#[test]
fn the_daemon_syncs_its_feeds_on_its_own() {
    if !registry_here() {
        return provgate_test_support::skip_or_fail("docker-registry missing (apt-get install docker-registry)");
    }
    let Some(mut host) = support::setup("feeds") else { return };
    let mut registry = Registry::start().expect("registry");
    let mut sigstore = PrivateSigstore::new();
    let identity = Identity::github_actions("acme/agent", ".github/workflows/release.yml", "refs/heads/main", "push");
    let signer = sigstore.keyless(&identity);
    let options = sigstore.default_options();
    let agent = b"\x7fELF\x02\x01\x01\0 the agent, published to a feed".as_slice();
    let bundle = sigstore.sign_artifact(&signer, agent, &options);
    let artifact = host.pg.write("agent", agent);
    let bundle = host.pg.write("agent.sigstore.json", bundle.to_string());
    let root = host.pg.write("trusted_root.json", sigstore.trusted_root().to_string());
    let policy = host.pg.write(
        "policy.toml",
        "version = 1\n[[signer]]\nname = \"release\"\nissuer = \"https://token.actions.githubusercontent.com\"\n\
         identity = \"https://github.com/acme/agent/.github/workflows/release.yml@refs/heads/main\"\n\
         artifact_signatures = true\n",
    );
    let feed = format!("{}:prod", registry.repository("acme/trust"));
    // The policy and root come from the configuration, as for the daemon.
    host.pg.write_config(&format!(
        "trust_policy = \"{}\"\ntrusted_root = \"{}\"\nfeeds = [\"{feed}\"]\nfeed_interval = \"1s\"\n",
        policy.display(),
        root.display()
    ));
    let publish = host
        .provgate()
        .arg("publish")
        .arg(&feed)
        .arg("--artifact")
        .arg(&artifact)
        .arg("--bundle")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(publish.status.success(), "publish: {}", String::from_utf8_lossy(&publish.stderr));
    let item = String::from_utf8(publish.stdout).unwrap().trim().to_owned();
    host.start(&[]);

    let digest = format!("sha256:{}", hex::encode(Sha256::digest(agent)));
    let allowed = || host.pg.run(&["explain", &digest]).success();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "{what} did not happen: {}", host.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for("the daemon's first sync", &allowed);
    let feeds = |host: &support::Host| -> Vec<Value> {
        host.status().and_then(|s| s["feeds"].as_array().cloned()).unwrap_or_default()
    };
    let listed = feeds(&host);
    assert!(listed.len() == 1 && listed[0]["reference"] == feed.as_str(), "status lists the feed: {listed:#?}");
    assert!(listed[0]["error"].is_null(), "{listed:#?}");

    let unpublish = host.pg.run(&["unpublish", &feed, &item]);
    assert!(unpublish.success(), "unpublish: {}", unpublish.stderr);
    wait_for("the unpublished item's trust removed by the daemon", &|| !allowed());

    registry.stop();
    wait_for("the feed reported stale", &|| feeds(&host).first().is_some_and(|f| f["error"].is_string()));
    let text = host.pg.run(&["status"]);
    assert!(text.stdout.contains("STALE since"), "status says the feed is stale:\n{}", text.stdout);
}
