//! Trust feeds: `provgate publish` on the CI side, `provgate feed` on a node with its own store,
//! through Debian's docker-registry on loopback and the tests' private Sigstore. The node
//! verifies every item itself; the registry is treated as an attacker could make it.
use std::process::{Command, Stdio};

use base64::Engine as _;
use libtest_mimic::{Failed, Trial};
use provgate_attestations_testkit::{Identity, statement};
use provgate_oci_testkit::Registry;
use provgate_test_support::{Provgate, Run};
use serde_json::{Value, json};

use crate::{
    fixture::{Expect as _, Fixture, POLICY, ensure, sha},
    trial,
};

pub fn trials() -> Vec<Trial> {
    vec![
        trial("feeds::publish_sync_allows_and_unpublish_revokes", publish_sync_allows_and_unpublish_revokes),
        trial("feeds::an_unchanged_feed_costs_one_manifest_request", an_unchanged_feed_costs_one_manifest_request),
        trial("feeds::a_tampered_item_is_not_used", a_tampered_item_is_not_used),
        trial("feeds::a_signer_outside_the_node_policy_is_not_used", a_signer_outside_the_node_policy_is_not_used),
        trial("feeds::publish_refuses_what_would_not_be_trusted", publish_refuses_what_would_not_be_trusted),
        trial("feeds::registry_down_or_garbage_keeps_the_last_state", registry_down_or_garbage_keeps_the_last_state),
        trial("feeds::concurrent_publishers_lose_nothing", concurrent_publishers_lose_nothing),
        trial("feeds::what_is_pushed_is_as_documented", what_is_pushed_is_as_documented),
        trial("feeds::sync_of_one_feed_and_feed_rm", sync_of_one_feed_and_feed_rm),
        trial("feeds::credentials_as_for_image_add", credentials_as_for_image_add),
    ]
}

const TOOL_A: &[u8] = b"\x7fELF\x02\x01\x01\0 tool a, listed by the SBOM";
const TOOL_B: &[u8] = b"\x7fELF\x02\x01\x01\0 tool b, listed by the SBOM";
const AGENT: &[u8] = b"\x7fELF\x02\x01\x01\0 the agent, signed as an artifact";

fn spdx(files: &[(&str, &[u8])]) -> Vec<u8> {
    let files: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, (name, content))| {
            json!({ "fileName": name, "SPDXID": format!("SPDXRef-File-{i}"),
                    "checksums": [{ "algorithm": "SHA256", "checksumValue": sha(content) }] })
        })
        .collect();
    serde_json::to_vec_pretty(&json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": "acme-tools", "documentNamespace": format!("https://acme.example/spdx/{}", sha(&files.len().to_be_bytes())),
        "creationInfo": { "created": "2026-12-01T00:00:00Z", "creators": ["Tool: test"] },
        "files": files,
    }))
    .unwrap()
}

/// A node: its own store, the same trusted root and policy as the publisher's fixture (unless
/// a test writes another policy).
struct Node {
    pg: Provgate,
}

impl Node {
    fn new(fixture: &Fixture) -> Self {
        let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate")).env_remove("DOCKER_CONFIG");
        pg.write("trusted_root.json", fixture.sigstore.trusted_root().to_string());
        pg.write("policy.toml", POLICY);
        pg.write("config.json", "{}");
        Self { pg }
    }

    fn feed(&self, args: &[&str]) -> Run {
        let mut command = self.pg.command();
        command.arg("feed").args(args);
        if args.first() == Some(&"add") {
            command.arg("--policy").arg(self.pg.path("policy.toml"));
            command.arg("--trusted-root").arg(self.pg.path("trusted_root.json"));
        }
        if matches!(args.first(), Some(&"add") | Some(&"sync")) {
            command.arg("--registry-config").arg(self.pg.path("config.json"));
        }
        Run::of(&mut command)
    }

    fn allowed(&self, content: &[u8]) -> bool {
        self.pg.run(&["explain", &format!("sha256:{}", sha(content))]).success()
    }

    fn sources(&self) -> Vec<Value> {
        serde_json::from_str(&self.pg.run(&["sources", "--json"]).stdout).expect("sources --json")
    }

    fn feeds(&self) -> Vec<Value> {
        serde_json::from_str(&self.feed(&["ls", "--json"]).stdout).expect("feed ls --json")
    }
}

/// `provgate publish FEED ARGS` as the CI side, with the fixture's policy and root.
fn publish_command(fixture: &Fixture, feed: &str, args: &[&str]) -> Command {
    let mut command = fixture.provgate();
    command.arg("publish").arg(feed).args(args);
    command.arg("--policy").arg(fixture.path("policy.toml"));
    command.arg("--trusted-root").arg(fixture.path("trusted_root.json"));
    command.arg("--registry-config").arg(fixture.path("config.json"));
    command
}

fn publish(fixture: &Fixture, feed: &str, args: &[&str]) -> Run {
    Run::of(&mut publish_command(fixture, feed, args))
}

/// Signs `content` with `identity` and writes it and its bundle into the fixture's directory.
fn signed(fixture: &mut Fixture, name: &str, content: &[u8], identity: &Identity) -> (String, String) {
    let signer = fixture.sigstore.keyless(identity);
    let options = fixture.sigstore.default_options();
    let bundle = fixture.sigstore.sign_artifact(&signer, content, &options);
    let file = fixture.pg.write(name, content);
    let bundle_file = fixture.pg.write(format!("{name}.bundle.json"), bundle.to_string());
    (file.display().to_string(), bundle_file.display().to_string())
}

fn release() -> Identity {
    crate::fixture::release()
}

/// Publishes the SBOM of tools A and B, and the agent as an artifact; returns the items.
fn publish_both(fixture: &mut Fixture, feed: &str) -> Result<(String, String), Failed> {
    let (sbom, sbom_bundle) =
        signed(fixture, "tools.spdx.json", &spdx(&[("bin/a", TOOL_A), ("bin/b", TOOL_B)]), &release());
    let run = publish(fixture, feed, &["--sbom", &sbom, "--bundle", &sbom_bundle]);
    run.succeeded()?;
    let sbom_item = run.stdout.trim().to_owned();
    run.check(sbom_item.starts_with("sha256:"), "publish prints the item's digest")?;
    let (agent, agent_bundle) = signed(fixture, "agent", AGENT, &release());
    let run = publish(fixture, feed, &["--artifact", &agent, "--bundle", &agent_bundle]);
    run.succeeded()?;
    Ok((sbom_item, run.stdout.trim().to_owned()))
}

fn publish_sync_allows_and_unpublish_revokes() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    let (sbom_item, agent_item) = publish_both(&mut fixture, &feed)?;
    let node = Node::new(&fixture);
    ensure(!node.allowed(TOOL_A), "nothing is allowed before the node follows the feed")?;
    let run = node.feed(&["add", &feed]);
    run.succeeded()?;
    run.check(run.stderr.contains("2 items added"), "both items added")?;
    ensure(node.allowed(TOOL_A) && node.allowed(TOOL_B) && node.allowed(AGENT), "the items' files are allowed")?;
    let sources = node.sources();
    ensure(sources.len() == 2, format!("one source per item: {sources:#?}"))?;
    for source in &sources {
        ensure(source["detail"]["feed"] == feed.as_str(), format!("tied to the feed: {source}"))?;
        ensure(
            [&sbom_item, &agent_item].iter().any(|i| source["detail"]["feed_item"] == i.as_str()),
            format!("tied to its item: {source}"),
        )?;
    }
    // The same item again is not listed twice.
    let (sbom, sbom_bundle) = (fixture.path("tools.spdx.json"), fixture.path("tools.spdx.json.bundle.json"));
    let again =
        publish(&fixture, &feed, &["--sbom", sbom.to_str().unwrap(), "--bundle", sbom_bundle.to_str().unwrap()]);
    again.succeeded()?;
    again.check(
        again.stdout.trim() == sbom_item && again.stderr.contains("already lists"),
        "publishing twice is one item",
    )?;

    let prefix = &sbom_item["sha256:".len().."sha256:".len() + 12];
    let run = Run::of(
        fixture.provgate().args(["unpublish", &feed, prefix, "--registry-config"]).arg(fixture.path("config.json")),
    );
    run.succeeded()?;
    ensure(node.allowed(TOOL_A), "trust stays until the node syncs")?;
    let run = node.feed(&["sync"]);
    run.succeeded()?;
    run.check(run.stderr.contains("0 items added, 1 removed"), "exactly the unpublished item removed")?;
    ensure(!node.allowed(TOOL_A) && !node.allowed(TOOL_B), "the unpublished SBOM's files lose their trust")?;
    ensure(node.allowed(AGENT), "the other item keeps its trust")?;
    let audit = node.pg.run(&["audit", "--json"]);
    audit.check(audit.stdout.contains("was removed from feed"), "the revocation is audited with why")?;
    Ok(())
}

fn an_unchanged_feed_costs_one_manifest_request() -> Result<(), Failed> {
    let mut fixture = Fixture::with_registry(Registry::start_with_access_log()?)?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    publish_both(&mut fixture, &feed)?;
    let node = Node::new(&fixture);
    node.feed(&["add", &feed]).succeeded()?;
    let before = fixture.registry.requests().len();
    let run = node.feed(&["sync"]);
    run.succeeded()?;
    run.check(run.stderr.contains("unchanged"), "the sync says the feed is unchanged")?;
    // Let the registry flush its log.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let requests: Vec<String> = fixture.registry.requests().into_iter().skip(before).collect();
    // No `/v2/` handshake first: an anonymous registry is asked for the feed's index alone.
    ensure(requests == ["GET /v2/acme/trust/manifests/prod"], format!("one request, for the index: {requests:#?}"))
}

fn a_tampered_item_is_not_used() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    let document = spdx(&[("bin/a", TOOL_A)]);
    let (sbom, bundle) = signed(&mut fixture, "tools.spdx.json", &document, &release());
    publish(&fixture, &feed, &["--sbom", &sbom, "--bundle", &bundle]).succeeded()?;
    // The registry now serves other bytes under the SBOM's digest: an SBOM listing tool B.
    let forged = String::from_utf8(document.clone()).unwrap().replace(&sha(TOOL_A), &sha(TOOL_B));
    std::fs::write(fixture.registry.blob_path(&sha(&document)), forged)?;
    let node = Node::new(&fixture);
    let run = node.feed(&["add", &feed]);
    run.check(run.code == 1, "a sync with an item not used exits 1")?;
    run.check(run.stderr.contains("not used") && run.stderr.contains("digest"), "says the digest check failed")?;
    ensure(!node.allowed(TOOL_A) && !node.allowed(TOOL_B), "nothing of the tampered item is allowed")?;
    ensure(node.sources().is_empty(), "no source was added")?;
    let feeds = node.feeds();
    ensure(feeds[0]["not_used"].as_array().is_some_and(|n| n.len() == 1), format!("reported: {feeds:#?}"))
}

fn a_signer_outside_the_node_policy_is_not_used() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    let contractor =
        Identity::github_actions("contractor/tools", ".github/workflows/build.yml", "refs/heads/main", "push");
    // The publisher's policy trusts the contractor too; the node's does not.
    fixture.pg.write(
        "policy.toml",
        format!(
            "{POLICY}\n[[signer]]\nname = \"contractor\"\nissuer = \"https://token.actions.githubusercontent.com\"\n\
             identity = \"https://github.com/contractor/tools/.github/workflows/build.yml@refs/heads/main\"\n\
             artifact_signatures = true\n"
        ),
    );
    let (agent, bundle) = signed(&mut fixture, "agent", AGENT, &contractor);
    publish(&fixture, &feed, &["--artifact", &agent, "--bundle", &bundle]).succeeded()?;
    let (tool, tool_bundle) = signed(&mut fixture, "tool-a", TOOL_A, &release());
    publish(&fixture, &feed, &["--artifact", &tool, "--bundle", &tool_bundle]).succeeded()?;
    let node = Node::new(&fixture);
    let run = node.feed(&["add", &feed]);
    run.check(run.code == 1 && run.stderr.contains("1 items added") && run.stderr.contains("1 not used"), "one used")?;
    run.check(run.stderr.contains("contractor"), "the refusal names the signer the policy does not trust")?;
    ensure(!node.allowed(AGENT), "the contractor's artifact is not allowed")?;
    ensure(node.allowed(TOOL_A), "the release workflow's artifact is")?;
    // The node's admin trusts the contractor too: syncing with the new policy verifies the item
    // not in use again, though the feed did not change, and keeps the policy for later syncs.
    let policy = fixture.pg.path("policy.toml");
    let run = node.feed(&["sync", "--policy", policy.to_str().unwrap()]);
    run.check(run.code == 0 && run.stderr.contains("1 items added, 0 removed, 0 not used"), "used now")?;
    ensure(node.allowed(AGENT), "the contractor's artifact is allowed under the new policy")?;
    let feeds = node.feeds();
    ensure(feeds[0]["policy"] == policy.to_str().unwrap(), format!("the feed keeps the new policy: {feeds:#?}"))
}

fn publish_refuses_what_would_not_be_trusted() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    let stranger = Identity::email("someone@elsewhere.example", "https://accounts.google.com");
    let (agent, bundle) = signed(&mut fixture, "agent", AGENT, &stranger);
    let run = publish(&fixture, &feed, &["--artifact", &agent, "--bundle", &bundle]);
    run.refused("nothing was published")?;
    // A bundle over other bytes than the file.
    let (_, tool_bundle) = signed(&mut fixture, "tool-a", TOOL_A, &release());
    let run = publish(&fixture, &feed, &["--artifact", &agent, "--bundle", &tool_bundle]);
    run.refused("nothing was published")?;
    let node = Node::new(&fixture);
    let run = node.feed(&["add", &feed]);
    run.check(run.code == 1 && run.stderr.contains("the tag does not exist"), "nothing was pushed to the feed")?;
    Ok(())
}

fn registry_down_or_garbage_keeps_the_last_state() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    publish_both(&mut fixture, &feed)?;
    let node = Node::new(&fixture);
    node.feed(&["add", &feed]).succeeded()?;
    let applied = node.feeds()[0]["digest"].clone();

    // The tag now holds an image, not a feed: garbage for a node.
    fixture.push("acme/trust", "prod", &[vec![provgate_oci_testkit::Member::file("x", b"x", 0o644)]]);
    let run = node.feed(&["sync"]);
    run.check(run.code == 1 && run.stderr.contains("not a provgate feed"), "garbage is refused")?;
    ensure(node.allowed(TOOL_A) && node.allowed(AGENT) && node.sources().len() == 2, "nothing was lost")?;

    fixture.registry.stop();
    let run = node.feed(&["sync"]);
    run.check(run.code == 1 && run.stderr.contains("NOT SYNCED"), "a registry that is down fails the sync")?;
    ensure(node.allowed(TOOL_A) && node.allowed(AGENT) && node.sources().len() == 2, "nothing was lost")?;
    let feeds = node.feeds();
    ensure(feeds[0]["digest"] == applied && feeds[0]["error"].is_string(), format!("stale, and says why: {feeds:#?}"))?;
    let ls = node.feed(&["ls"]);
    ls.check(ls.stdout.contains("STALE since"), "feed ls says the state is stale")
}

fn concurrent_publishers_lose_nothing() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    let contents: Vec<Vec<u8>> = (0..4).map(|i| format!("\x7fELF artifact {i}").into_bytes()).collect();
    let mut children = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        let (file, bundle) = signed(&mut fixture, &format!("artifact-{i}"), content, &release());
        let child = publish_command(&fixture, &feed, &["--artifact", &file, "--bundle", &bundle])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        children.push(child);
    }
    for child in children {
        let output = child.wait_with_output()?;
        ensure(output.status.success(), format!("publish: {}", String::from_utf8_lossy(&output.stderr)))?;
    }
    let node = Node::new(&fixture);
    node.feed(&["add", &feed]).succeeded()?;
    for content in &contents {
        ensure(node.allowed(content), "every publisher's item is in the feed")?;
    }
    Ok(())
}

/// Reads a manifest the registry stores (by the digest the node applied or publish printed), as
/// `oras manifest fetch` would get it.
fn stored_manifest(fixture: &Fixture, digest: &str) -> Result<Value, Failed> {
    let bytes = std::fs::read(fixture.registry.blob_path(digest))?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The README's "What is pushed", read back from the registry: the feed's index and one item of
/// each kind (an SBOM, an in-toto attestation, an artifact's digest), then the node trusts the
/// attestation's subject.
fn what_is_pushed_is_as_documented() -> Result<(), Failed> {
    const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
    let mut fixture = Fixture::new()?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    let (sbom_item, artifact_item) = publish_both(&mut fixture, &feed)?;
    let predicate = json!({
        "buildDefinition": { "buildType": "https://acme.example/build/v1", "externalParameters": {} },
        "runDetails": { "builder": { "id": "https://acme.example/builder" } },
    });
    const BUILT: &[u8] = b"\x7fELF\x02\x01\x01\0 built, with SLSA provenance";
    let slsa = statement("https://slsa.dev/provenance/v1", &[("bin/built", BUILT)], predicate);
    let signer = fixture.sigstore.keyless(&release());
    let options = fixture.sigstore.default_options();
    let bundle = fixture.sigstore.sign_statement(&signer, &slsa, &options);
    let bundle_file = fixture.pg.write("built.intoto.sigstore.json", bundle.to_string());
    let run = publish(&fixture, &feed, &["--attestation", bundle_file.to_str().unwrap()]);
    run.succeeded()?;
    let attestation_item = run.stdout.trim().to_owned();

    let node = Node::new(&fixture);
    let run = node.feed(&["add", &feed]);
    run.check(run.code == 0 && run.stderr.contains("3 items added"), "three items added")?;
    ensure(node.allowed(BUILT), "the attestation's subject is allowed")?;
    let applied = node.feeds()[0]["digest"].as_str().unwrap_or_default().to_owned();
    let index = stored_manifest(&fixture, &applied)?;
    ensure(
        index["mediaType"] == "application/vnd.oci.image.index.v1+json"
            && index["artifactType"] == "application/vnd.provgate.feed.v1",
        format!("the tag holds the feed's index: {index:#}"),
    )?;
    let entries = index["manifests"].as_array().cloned().unwrap_or_default();
    let entry = |item: &str| entries.iter().find(|e| e["digest"] == item).cloned().unwrap_or(Value::Null);
    for (item, kind) in [(&sbom_item, "sbom"), (&artifact_item, "artifact"), (&attestation_item, "attestation")] {
        let listed = entry(item);
        ensure(
            listed["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
                && listed["artifactType"] == BUNDLE
                && listed["annotations"]["dev.provgate.item.kind"] == kind,
            format!("the index lists the {kind} item with its artifactType and kind: {index:#}"),
        )?;
        let manifest = stored_manifest(&fixture, item)?;
        ensure(
            manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
                && manifest["artifactType"] == BUNDLE
                && manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
                && manifest["config"]["digest"] == format!("sha256:{}", sha(b"{}"))
                && manifest["annotations"]["dev.provgate.item.kind"] == kind,
            format!("the {kind} item is an OCI 1.1 artifact with the empty config: {manifest:#}"),
        )?;
        let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
        ensure(
            layers[0]["mediaType"] == BUNDLE
                && layers.iter().all(|l| l["annotations"]["org.opencontainers.image.title"].is_string()),
            format!("the bundle comes first, every layer titled: {manifest:#}"),
        )?;
        let bundle_bytes = std::fs::read(fixture.registry.blob_path(layers[0]["digest"].as_str().unwrap_or("")))?;
        let pushed: Value = serde_json::from_slice(&bundle_bytes)?;
        ensure(
            pushed["mediaType"].as_str().is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.bundle")),
            "a bundle",
        )?;
        match kind {
            "sbom" => ensure(
                layers.len() == 2 && layers[1]["mediaType"] == "application/spdx+json",
                format!("the SBOM is pushed beside its bundle: {manifest:#}"),
            )?,
            "artifact" => ensure(
                layers.len() == 1
                    && manifest["annotations"]["dev.provgate.artifact.digest"] == format!("sha256:{}", sha(AGENT))
                    && manifest["annotations"]["org.opencontainers.image.title"] == "agent",
                format!("the artifact's digest and name, not its file: {manifest:#}"),
            )?,
            _ => ensure(layers.len() == 1, format!("an attestation is its bundle alone: {manifest:#}"))?,
        }
    }
    Ok(())
}

/// `feed sync FEED` syncs that feed only; `feed rm` revokes exactly that feed's sources.
fn sync_of_one_feed_and_feed_rm() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let prod = format!("{}:prod", fixture.repository("acme/trust"));
    let staging = format!("{}:staging", fixture.repository("acme/trust"));
    let (tool, tool_bundle) = signed(&mut fixture, "tool-a", TOOL_A, &release());
    publish(&fixture, &prod, &["--artifact", &tool, "--bundle", &tool_bundle]).succeeded()?;
    let (agent, agent_bundle) = signed(&mut fixture, "agent", AGENT, &release());
    publish(&fixture, &staging, &["--artifact", &agent, "--bundle", &agent_bundle]).succeeded()?;
    let node = Node::new(&fixture);
    node.feed(&["add", &prod]).succeeded()?;
    node.feed(&["add", &staging]).succeeded()?;
    ensure(node.allowed(TOOL_A) && node.allowed(AGENT), "both feeds' items are allowed")?;

    // Both feeds change; syncing one leaves the other as it was.
    let (tool_b, tool_b_bundle) = signed(&mut fixture, "tool-b", TOOL_B, &release());
    publish(&fixture, &prod, &["--artifact", &tool_b, "--bundle", &tool_b_bundle]).succeeded()?;
    publish(&fixture, &staging, &["--artifact", &tool_b, "--bundle", &tool_b_bundle]).succeeded()?;
    let sources_before = node.sources().len();
    let run = node.feed(&["sync", &staging]);
    run.check(run.code == 0 && run.stderr.contains(&staging) && !run.stderr.contains(&prod), "only staging synced")?;
    ensure(node.sources().len() == sources_before + 1, "one source added, by staging")?;
    let run = node.feed(&["sync", &format!("{}:other", fixture.repository("acme/trust"))]);
    run.check(run.code == 1 && run.stderr.contains("not following"), "a feed not followed is not synced")?;
    node.feed(&["sync", &prod]).succeeded()?;

    let run = node.feed(&["rm", &prod]);
    run.check(run.code == 0 && run.stderr.contains("2 sources revoked"), "prod's two items lose their trust")?;
    ensure(!node.allowed(TOOL_A), "prod's own item is no longer allowed")?;
    ensure(node.allowed(AGENT) && node.allowed(TOOL_B), "staging's items keep their trust")?;
    let feeds = node.feeds();
    ensure(feeds.len() == 1 && feeds[0]["reference"] == staging.as_str(), format!("staging only: {feeds:#?}"))?;
    let run = node.feed(&["rm", &prod]);
    run.check(run.code == 1 && run.stderr.contains("not following"), "removing it again says so")?;
    let audit = node.pg.run(&["audit", "--json"]);
    audit.check(audit.stdout.contains(&format!("feed {prod} removed")), "the removal is audited with why")
}

/// Publishing and syncing take their credentials from a Docker `config.json`, as `image add`:
/// the registry here requires HTTP Basic authentication.
fn credentials_as_for_image_add() -> Result<(), Failed> {
    let mut fixture = Fixture::with_registry(Registry::start_with_auth("ci", "s3cret-Passw0rd")?)?;
    let feed = format!("{}:prod", fixture.repository("acme/trust"));
    let (agent, bundle) = signed(&mut fixture, "agent", AGENT, &release());
    let run = publish(&fixture, &feed, &["--artifact", &agent, "--bundle", &bundle]);
    run.check(run.code != 0, "no credentials, nothing published")?;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret-Passw0rd");
    let config = json!({ "auths": { format!("http://{}", fixture.registry.addr): { "auth": auth } } }).to_string();
    fixture.pg.write("config.json", &config);
    publish(&fixture, &feed, &["--artifact", &agent, "--bundle", &bundle]).succeeded()?;

    let node = Node::new(&fixture);
    let run = node.feed(&["add", &feed]);
    run.check(run.code == 1 && run.stderr.contains("NOT SYNCED"), "a node without credentials cannot read it")?;
    ensure(!node.allowed(AGENT), "nothing allowed")?;
    node.pg.write("config.json", &config);
    let run = node.feed(&["sync"]);
    run.check(run.code == 0 && run.stderr.contains("1 items added"), "with them it can")?;
    ensure(node.allowed(AGENT), "the item's file is allowed")
}
