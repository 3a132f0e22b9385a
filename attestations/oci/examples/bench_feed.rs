//! The feed sync figures of `bench/feed-sync.sh`: a loopback docker-registry (with its access
//! log, to count requests) holding a feed of N items, each a file's digest signed by the private
//! Sigstore; then the provgate binary given follows it with a store of its own: the first sync
//! (cold: every item fetched and verified) and a second one with nothing changed. Prints the
//! seconds and the registry requests of each, and the command lines.
//!
//!   bench_feed PROVGATE ITEMS WORK_DIR
use std::{process::Command, time::Instant};

use provgate_attestations_testkit::{Identity, PrivateSigstore};
use provgate_oci::{
    ImageReference, RegistryConfig,
    client::Repository,
    feed::{self, ItemKind, NewItem},
};
use provgate_oci_testkit::Registry;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, provgate, items, work] = args.as_slice() else {
        return Err("usage: bench_feed PROVGATE ITEMS WORK_DIR".into());
    };
    let items: usize = items.parse()?;
    let work = std::path::Path::new(work);
    let registry = Registry::start_with_access_log()?;
    let mut sigstore = PrivateSigstore::new();
    let identity = Identity::github_actions("acme/app", ".github/workflows/release.yml", "refs/heads/main", "push");
    let signer = sigstore.keyless(&identity);
    let options = sigstore.default_options();
    std::fs::write(work.join("trusted_root.json"), sigstore.trusted_root().to_string())?;
    std::fs::write(
        work.join("policy.toml"),
        "version = 1\n[[signer]]\nname = \"release\"\nissuer = \"https://token.actions.githubusercontent.com\"\n\
         identity = \"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main\"\n\
         artifact_signatures = true\n",
    )?;
    let feed_ref = format!("{}:prod", registry.repository("acme/trust"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    runtime.block_on(async {
        let reference: ImageReference = feed_ref.parse()?;
        let repository = Repository::connect_for_push(&reference, &RegistryConfig::anonymous()).await?;
        let mut entries = Vec::new();
        for i in 0..items {
            let artifact = format!("\x7fELF bench artifact {i}").into_bytes();
            let bundle = sigstore.sign_artifact(&signer, &artifact, &options);
            let item = NewItem {
                kind: ItemKind::Artifact,
                bundle: serde_json::to_vec(&bundle)?.into(),
                sbom: None,
                artifact: Some((provgate_oci::Digest::of(&artifact), format!("artifact-{i}"))),
                bundle_title: format!("artifact-{i}.bundle.json"),
            };
            entries.push(feed::push_item(&repository, item).await?);
        }
        feed::list(&repository, "prod", entries).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    eprintln!("bench: feed of {items} items published in {:.1}s", started.elapsed().as_secs_f64());

    let run = |what: &str, args: &[&str]| -> Result<(f64, usize), Box<dyn std::error::Error>> {
        let before = registry.requests().len();
        let mut command = Command::new(provgate);
        command.arg("--db").arg(work.join("node.db")).arg("--run-dir").arg(work.join("run")).arg("feed").args(args);
        command.env("PROVGATE_CONFIG", work.join("none.toml")).env("DOCKER_CONFIG", work);
        std::fs::write(work.join("none.toml"), "")?;
        std::fs::write(work.join("config.json"), "{}")?;
        let started = Instant::now();
        let output = command.output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !output.status.success() {
            return Err(format!("{what}: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        Ok((seconds, registry.requests().len() - before))
    };
    let policy = work.join("policy.toml").display().to_string();
    let root = work.join("trusted_root.json").display().to_string();
    let (cold, cold_requests) = run("cold sync", &["add", &feed_ref, "--policy", &policy, "--trusted-root", &root])?;
    let (warm, warm_requests) = run("unchanged sync", &["sync"])?;
    println!("feed of {items} items on a loopback docker-registry");
    println!("  cold sync (provgate feed add FEED): {cold:.2} s, {cold_requests} registry requests");
    println!("  unchanged sync (provgate feed sync): {warm:.3} s, {warm_requests} registry requests");
    println!("  cold / unchanged: {:.0}x", cold / warm);
    Ok(())
}
