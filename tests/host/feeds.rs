//! The daemon follows its trust feeds on its own (observe-only on this host, a test cgroup):
//! a feed named in the configuration is synced every `feed_interval`, an unpublished item loses
//! its trust without any command, and a registry that goes away leaves the last verified state,
//! which `status` reports as stale.
mod support;

use std::time::Duration;

use base64::Engine as _;
use provgate_attestations_testkit::{Identity, PrivateSigstore};
use provgate_oci_testkit::{Registry, token::TokenService};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

fn registry_here() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("docker-registry").is_file()))
}

/// An agent signed with the tests' private Sigstore, published to `feed` (a repository of
/// `registry`), with the daemon configured to follow the feed every second; the item's digest
/// in the feed and the agent's.
fn publish_agent(host: &support::Host, registry: &Registry, extra_config: &str) -> (String, String, String) {
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
        "trust_policy = \"{}\"\ntrusted_root = \"{}\"\nfeeds = [\"{feed}\"]\nfeed_interval = \"1s\"\n{extra_config}",
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
    (feed, item, format!("sha256:{}", hex::encode(Sha256::digest(agent))))
}

#[test]
fn the_daemon_syncs_its_feeds_on_its_own() {
    if !registry_here() {
        return provgate_test_support::skip_or_fail("docker-registry missing (apt-get install docker-registry)");
    }
    let Some(mut host) = support::setup("feeds") else { return };
    let mut registry = Registry::start().expect("registry");
    let (feed, item, digest) = publish_agent(&host, &registry, "");
    host.start(&[]);

    let allowed = || host.pg.run(&["explain", &digest]).success();
    host.wait_until("the daemon's first sync", Duration::from_secs(60), allowed);
    let feeds = |host: &support::Host| -> Vec<Value> {
        host.status().and_then(|s| s["feeds"].as_array().cloned()).unwrap_or_default()
    };
    let listed = feeds(&host);
    assert!(listed.len() == 1 && listed[0]["reference"] == feed.as_str(), "status lists the feed: {listed:#?}");
    assert!(listed[0]["error"].is_null(), "{listed:#?}");

    let unpublish = host.pg.run(&["unpublish", &feed, &item]);
    assert!(unpublish.success(), "unpublish: {}", unpublish.stderr);
    host.wait_until("the unpublished item's trust removed by the daemon", Duration::from_secs(60), || !allowed());

    registry.stop();
    host.wait_until("the feed reported stale", Duration::from_secs(60), || {
        feeds(&host).first().is_some_and(|f| f["error"].is_string())
    });
    let text = host.pg.run(&["status"]);
    assert!(text.stdout.contains("STALE since"), "status says the feed is stale:\n{}", text.stdout);
}

/// On a registry with a token service, the daemon keeps its connection and bearer token between
/// syncs: once it has synced, each unchanged sync is one request, for the feed's index.
#[test]
fn the_daemon_keeps_its_token_between_syncs() {
    if !registry_here() {
        return provgate_test_support::skip_or_fail("docker-registry missing (apt-get install docker-registry)");
    }
    let Some(mut host) = support::setup("feed-token") else { return };
    let service = TokenService::start("ci", "t0ken-Passw0rd");
    let registry = Registry::start_with_tokens_and_access_log(&service, "ci", "t0ken-Passw0rd").expect("registry");
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:t0ken-Passw0rd");
    let credentials = host
        .pg
        .write("docker/config.json", serde_json::json!({ "auths": { &registry.addr: { "auth": auth } } }).to_string());
    let (_, _, digest) = publish_agent(&host, &registry, &format!("registry_config = \"{}\"\n", credentials.display()));
    host.start(&[]);
    host.wait_until("the daemon's first sync", Duration::from_secs(60), || {
        host.pg.run(&["explain", &digest]).success()
    });
    // Settle past the sync under way, then watch a few.
    std::thread::sleep(Duration::from_millis(1500));
    let tokens = service.requests.lock().unwrap().len();
    let before = registry.requests().len();
    std::thread::sleep(Duration::from_secs(4));
    let requests: Vec<String> = registry.requests().into_iter().skip(before).collect();
    assert!(requests.len() >= 2, "the daemon synced at least twice in 4 s: {requests:#?}\n{}", host.log());
    assert!(
        requests.iter().all(|r| r == "GET /v2/acme/trust/manifests/prod"),
        "each sync asks for the feed's index alone, no handshake: {requests:#?}"
    );
    let asked: Vec<(String, bool)> = service.requests.lock().unwrap()[tokens..].to_vec();
    assert!(asked.is_empty(), "no new token was needed: {asked:?}");
}
