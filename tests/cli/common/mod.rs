//! The real `provgate` binary, isolated by provgate-test-support, and what the CLI tests check
//! its output against.
#![allow(dead_code)]
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use provgate_attestations_testkit::{PrivateSigstore, Signer};
pub use provgate_test_support::{Provgate, Run};
use sha2::{Digest as _, Sha256};

/// This package's binary with a store, run directory and configuration of its own.
pub fn provgate() -> Provgate {
    Provgate::new(env!("CARGO_BIN_EXE_provgate"))
}

/// A small build output in the fixture's directory: nested directories, an empty file, a
/// non-ASCII name, a symlink (which `generate` leaves out). Returns its directory.
pub fn build_output(fx: &Provgate) -> PathBuf {
    let root = fx.path("out");
    for (name, content) in [
        ("bin/tool", &b"#!/bin/sh\necho tool\n"[..]),
        ("bin/helper", b"\x7fELF not really"),
        ("lib/libx.so.1", b"library bytes"),
        ("share/doc/empty", b""),
        ("share/naïve name.txt", b"quotes \" and \\ backslashes"),
    ] {
        fx.write(Path::new("out").join(name), content);
    }
    std::os::unix::fs::symlink("libx.so.1", root.join("lib/libx.so")).unwrap();
    root
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Relative path (with `/`) to SHA-256 of every regular file under `root`, found independently
/// of provgate.
pub fn expected_digests(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let rel = entry.path().strip_prefix(root).unwrap().to_str().unwrap().to_owned();
                out.insert(rel, sha256_hex(&std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    out
}

/// `records` of `inspect --json` as path (without a leading `./`) to sha256.
pub fn record_digests(inspected: &serde_json::Value) -> BTreeMap<String, String> {
    inspected["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            // A package's own record may have no path: "".
            let path = r["path"].as_str().unwrap_or("").trim_start_matches("./").to_owned();
            (path, r["sha256"].as_str().expect("sha256").to_owned())
        })
        .collect()
}

/// A store whose trusted root is a private Sigstore made for the test (`trusted_root.json`) and
/// whose trust policy is the test's (`policy.toml`): signed evidence registered for real.
pub struct Signing {
    pub pg: Provgate,
    pub sigstore: PrivateSigstore,
}

impl Signing {
    pub fn with_policy(policy: &str) -> Self {
        let pg = provgate();
        let sigstore = PrivateSigstore::new();
        pg.write("trusted_root.json", sigstore.trusted_root().to_string());
        pg.write("policy.toml", policy);
        Self { pg, sigstore }
    }

    /// `provgate register ARGS --policy policy.toml --trusted-root trusted_root.json`.
    pub fn register<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        let (policy, root) = (self.pg.path("policy.toml"), self.pg.path("trusted_root.json"));
        Run::of(
            self.pg.command().arg("register").args(args).arg("--policy").arg(policy).arg("--trusted-root").arg(root),
        )
    }

    /// A bundle in which `signer` signs `file`, written as `bundle` in the store's directory.
    pub fn sign_file_by(&mut self, signer: &Signer, file: &Path, bundle: &str) -> PathBuf {
        let bytes = std::fs::read(file).unwrap();
        let signed = self.sigstore.sign_artifact(signer, &bytes, &self.sigstore.default_options());
        self.pg.write(bundle, signed.to_string())
    }
}
