//! The official sigstore-conformance bundle-verify cases (../shared/corpora), each run twice
//! through the real `provgate verify-bundle` command line of the conformance protocol: once with
//! the artifact file, once with only its `sha256:` digest. Every case is its own test. Beside
//! them, a few cases against a private Sigstore and of `check-policy` check the messages
//! operators read.
mod check_policy;
mod private_sigstore;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use libtest_mimic::{Arguments, Failed, Trial};
use sha2::{Digest as _, Sha256};

/// The cases of sigstore-conformance @ a73de49 (../shared/corpora/README.md).
const EXPECTED_CASES: usize = 70;
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")
}

fn cases_dir() -> PathBuf {
    corpora().join("sigstore-conformance/test/assets/bundle-verify")
}

fn production_root() -> PathBuf {
    corpora().join("trusted-roots/pypi-sigstore-4.5.1-prod/trusted_root.json")
}

#[derive(Clone, Copy, Debug)]
enum Input {
    File,
    Digest,
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    must_pass: bool,
}

impl Case {
    fn file(&self, name: &str) -> Option<PathBuf> {
        Some(self.dir.join(name)).filter(|p| p.is_file())
    }

    fn text(&self, name: &str) -> Option<String> {
        self.file(name).map(|p| std::fs::read_to_string(p).expect("readable").trim().to_owned())
    }

    fn artifact(&self) -> PathBuf {
        self.file("artifact").unwrap_or_else(|| cases_dir().join("a.txt"))
    }

    /// The command line exactly as the conformance protocol gives it.
    fn command(&self, input: Input, trusted_root: Option<&Path>) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_provgate"));
        command.env("RUST_LOG", "warn").arg("verify-bundle").arg("--bundle").arg(self.dir.join("bundle.sigstore.json"));
        match self.file("key.pub") {
            Some(key) => {
                command.arg("--key").arg(key);
            }
            None => {
                let identity = self.text("identity").unwrap_or_else(|| DEFAULT_IDENTITY.into());
                let issuer = self.text("issuer").unwrap_or_else(|| DEFAULT_ISSUER.into());
                command.args(["--certificate-identity", &identity, "--certificate-oidc-issuer", &issuer]);
            }
        }
        if let Some(root) = trusted_root {
            command.arg("--trusted-root").arg(root);
        }
        let artifact = self.artifact();
        match input {
            Input::File => command.arg(artifact),
            Input::Digest => {
                let bytes = std::fs::read(&artifact).expect("artifact readable");
                command.arg(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
            }
        };
        command
    }

    fn run(&self, input: Input) -> Result<(), Failed> {
        let root = self.file("trusted_root.json").unwrap_or_else(production_root);
        expect(self, self.command(input, Some(&root)))
    }
}

fn expect(case: &Case, mut command: Command) -> Result<(), Failed> {
    let output = command.output().map_err(|e| format!("cannot run provgate: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let why = case.text("README").unwrap_or_default();
    match (case.must_pass, output.status.success()) {
        (true, true) if stdout.starts_with("OK: ") => Ok(()),
        (true, _) => Err(format!("must verify but did not ({}): {stderr}{stdout}\ncase: {why}", output.status).into()),
        (false, true) => Err(format!("must be rejected but verified: {stdout}\ncase: {why}").into()),
        (false, false) if output.status.code() == Some(1) && names_the_check(&stderr) => Ok(()),
        (false, false) => {
            Err(format!("rejected, but without naming the failing check ({}): {stderr}", output.status).into())
        }
    }
}

/// Rejections say which check failed; a trusted root or public key that cannot be used is named
/// as such.
fn names_the_check(stderr: &str) -> bool {
    stderr.contains(" check failed: ")
        || stderr.starts_with("provgate: trusted root ")
        || stderr.starts_with("provgate: public key ")
}

fn discover() -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(cases_dir())
        .expect("cases folder readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|dir| dir.join("bundle.sigstore.json").is_file())
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            Case { must_pass: !name.ends_with("_fail"), name, dir }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = private_sigstore::trials();
    trials.extend(check_policy::trials());
    if !cases_dir().is_dir() {
        let message = format!("conformance corpus not found at {}", cases_dir().display());
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            eprintln!("{message}: CI must have it");
            std::process::exit(101);
        }
        eprintln!("skipped: {message}");
        libtest_mimic::run(&args, trials).exit();
    }
    let cases = discover();
    let count = cases.len();
    trials.push(Trial::test("all_cases_present", move || {
        if count == EXPECTED_CASES {
            Ok(())
        } else {
            Err(format!("found {count} cases, expected {EXPECTED_CASES}").into())
        }
    }));
    // The built-in public-good root (no --trusted-root) is what the protocol's default means.
    if let Some(case) = cases.iter().find(|c| c.name == "happy-path-v0.3").cloned() {
        trials.push(Trial::test("built_in_public_good_root::happy-path-v0.3", move || {
            expect(&case, case.command(Input::File, None))
        }));
    }
    for case in cases {
        for input in [Input::File, Input::Digest] {
            let case = case.clone();
            let name = format!("{}::{}", case.name, if matches!(input, Input::File) { "by_file" } else { "by_digest" });
            trials.push(Trial::test(name, move || case.run(input)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
