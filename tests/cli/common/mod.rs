//! Runs the real `provgate` binary against temporary directories and stores.
#![allow(dead_code)]
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use sha2::{Digest as _, Sha256};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().expect("exited"),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("provgate.db")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_provgate"));
        c.arg("--db").arg(self.db()).args(args).env_remove("PROVGATE_FORBID_UNSIGNED").env("RUST_LOG", "warn");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("provgate runs").into()
    }

    pub fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// A small build output: nested directories, an empty file, a non-ASCII name, a symlink
    /// (which `generate` leaves out). Returns its directory.
    pub fn build_output(&self) -> PathBuf {
        let root = self.path("out");
        for (name, content) in [
            ("bin/tool", &b"#!/bin/sh\necho tool\n"[..]),
            ("bin/helper", b"\x7fELF not really"),
            ("lib/libx.so.1", b"library bytes"),
            ("share/doc/empty", b""),
            ("share/naïve name.txt", b"quotes \" and \\ backslashes"),
        ] {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        std::os::unix::fs::symlink("libx.so.1", root.join("lib/libx.so")).unwrap();
        root
    }
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

/// The shared corpora beside the workspace, or `None` (after saying so) when absent outside CI.
pub fn corpora() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpora"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
        "CI must have the shared corpora at {}",
        dir.display()
    );
    eprintln!("skipped: no shared corpora at {}", dir.display());
    None
}
