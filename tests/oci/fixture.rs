//! One test's world: a registry, a private Sigstore and its trusted root, a trust policy, a
//! store, and the provgate binary run against them.
use std::{path::PathBuf, process::Command};

use libtest_mimic::Failed;
use provgate_attestations_testkit::{Identity, PrivateSigstore, Signer};
use provgate_oci_testkit::{Blob, Image, Member, Pusher, Registry, cosign, oci};
use provgate_test_support::{Provgate, Run};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0 the image's program";
pub const SCRIPT: &[u8] = b"#!/bin/sh\nexec /usr/bin/app \"$@\"\n";

pub fn release() -> Identity {
    Identity::github_actions("acme/app", ".github/workflows/release.yml", "refs/heads/main", "push")
}

pub fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub struct Fixture {
    pub registry: Registry,
    pub pusher: Pusher,
    pub sigstore: PrivateSigstore,
    /// The binary with its own store, run directory and configuration, in its own directory
    /// (where the policy, root and registry configuration are written too).
    pub pg: Provgate,
}

/// What a trial expects of a run, as a libtest-mimic failure naming the run's code and output.
pub trait Expect {
    fn check(&self, condition: bool, what: &str) -> Result<(), Failed>;
    fn succeeded(&self) -> Result<(), Failed>;
    /// Exit status 1 and `message` in stderr.
    fn refused(&self, message: &str) -> Result<(), Failed>;
}

impl Expect for Run {
    fn check(&self, condition: bool, what: &str) -> Result<(), Failed> {
        if condition { Ok(()) } else { Err(format!("{what}\n{self}").into()) }
    }

    fn succeeded(&self) -> Result<(), Failed> {
        self.check(self.code == 0, "provgate must succeed")
    }

    fn refused(&self, message: &str) -> Result<(), Failed> {
        self.check(self.code == 1 && self.stderr.contains(message), &format!("provgate must refuse with {message:?}"))
    }
}

pub const POLICY: &str = r#"version = 1

[[signer]]
name = "release workflow"
issuer = "https://token.actions.githubusercontent.com"
identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
predicate_types = ["https://spdx.dev/Document", "https://slsa.dev/provenance/v1"]
artifact_signatures = true
"#;

impl Fixture {
    pub fn new() -> Result<Self, Failed> {
        Self::with_registry(Registry::start()?)
    }

    pub fn with_registry(registry: Registry) -> Result<Self, Failed> {
        let sigstore = PrivateSigstore::new();
        // Registry credentials only from what a test gives (never the user's docker login).
        let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate")).env_remove("DOCKER_CONFIG");
        pg.write("trusted_root.json", sigstore.trusted_root().to_string());
        pg.write("policy.toml", POLICY);
        // No credentials unless a test writes them.
        pg.write("config.json", "{}");
        let pusher = registry.pusher();
        Ok(Self { registry, pusher, sigstore, pg })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.pg.path(name)
    }

    /// `127.0.0.1:PORT/repository`.
    pub fn repository(&self, repository: &str) -> String {
        self.registry.repository(repository)
    }

    /// Pushes an image of gzip layers of `layers` as `repository:tag`; returns it and its digest.
    pub fn push(&self, repository: &str, tag: &str, layers: &[Vec<Member>]) -> (Image, String) {
        let image = Image::new(layers.iter().map(|members| oci::layer(members, oci::LAYER_GZIP)).collect());
        let digest = self.pusher.image(repository, tag, &image);
        (image, digest)
    }

    /// `signer`'s cosign signature of `digest`, pushed at its `.sig` tag.
    pub fn sign(&mut self, repository: &str, digest: &str, signer: &Signer) {
        let layer = self.signature(repository, digest, signer);
        cosign::push_cosign(&self.pusher, repository, digest, "sig", vec![layer]);
    }

    pub fn signature(&mut self, repository: &str, digest: &str, signer: &Signer) -> Blob {
        let options = self.sigstore.default_options();
        cosign::signature_layer(&mut self.sigstore, signer, &self.registry.repository(repository), digest, &options)
    }

    pub fn release_signer(&self) -> Signer {
        self.sigstore.keyless(&release())
    }

    /// `provgate image ARGS` with this fixture's store, policy, root and registry config.
    pub fn image(&self, args: &[&str]) -> Run {
        Run::of(&mut self.image_command(args))
    }

    /// The command `image` runs, for a test to change its environment.
    pub fn image_command(&self, args: &[&str]) -> Command {
        let mut command = self.provgate();
        command.arg("image").args(args);
        if args.first() == Some(&"add") {
            command
                .arg("--policy")
                .arg(self.path("policy.toml"))
                .arg("--trusted-root")
                .arg(self.path("trusted_root.json"))
                .arg("--registry-config")
                .arg(self.path("config.json"));
        }
        command
    }

    pub fn provgate(&self) -> Command {
        self.pg.command()
    }

    /// Whether the store allows `content` (`provgate explain`).
    pub fn allowed(&self, content: &[u8]) -> bool {
        self.pg.run(&["explain", &format!("sha256:{}", sha(content))]).success()
    }

    /// The image sources of the store (`provgate image ls --json`).
    pub fn images(&self) -> Vec<Value> {
        let run = self.image(&["ls", "--json"]);
        assert_eq!(run.code, 0, "image ls: {}", run.stderr);
        serde_json::from_str(&run.stdout).expect("JSON")
    }

    /// Every (path, hex digest) record in the store, by path.
    pub fn records(&self) -> Result<Vec<(String, String)>, Failed> {
        let db = rusqlite::Connection::open_with_flags(self.pg.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut statement = db.prepare("SELECT path, lower(hex(sha256)) FROM source_digests ORDER BY path")?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Nothing is in the store: no source of any kind.
    pub fn store_is_empty(&self) -> Result<(), Failed> {
        let run = self.pg.run(&["sources", "--json"]);
        let sources: Vec<Value> =
            serde_json::from_str(&run.stdout).map_err(|e| format!("sources --json: {e}: {}", run.stderr))?;
        if sources.is_empty() { Ok(()) } else { Err(format!("the store must be empty, has {sources:?}").into()) }
    }
}

pub fn ensure(condition: bool, what: impl std::fmt::Display) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(what.to_string().into()) }
}
