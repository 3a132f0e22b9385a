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
use provgate_test_support::{Provgate, Run};
use sha2::{Digest as _, Sha256};

/// The cases of sigstore-conformance @ a73de49 (../shared/corpora/README.md).
const EXPECTED_CASES: usize = 70;
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

const CASES: &str = "sigstore-conformance/test/assets/bundle-verify";
const PRODUCTION_ROOT: &str = "trusted-roots/pypi-sigstore-4.5.1-prod/trusted_root.json";

/// The binary, isolated, for one run: `verify-bundle` reads no store, but like every command it
/// reads the configuration, which must not be the host's.
fn provgate() -> Provgate {
    Provgate::new(env!("CARGO_BIN_EXE_provgate"))
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
    /// The suite's own folder (for its shared a.txt) and the production trusted root.
    cases_dir: PathBuf,
    production_root: PathBuf,
}

impl Case {
    fn file(&self, name: &str) -> Option<PathBuf> {
        Some(self.dir.join(name)).filter(|p| p.is_file())
    }

    fn text(&self, name: &str) -> Option<String> {
        self.file(name).map(|p| std::fs::read_to_string(p).expect("readable").trim().to_owned())
    }

    fn artifact(&self) -> PathBuf {
        self.file("artifact").unwrap_or_else(|| self.cases_dir.join("a.txt"))
    }

    /// The command line exactly as the conformance protocol gives it (after the isolating
    /// `--db`, `--run-dir` and `--config` of `pg`).
    fn command(&self, pg: &Provgate, input: Input, trusted_root: Option<&Path>) -> Command {
        let mut command = pg.command();
        command.arg("verify-bundle").arg("--bundle").arg(self.dir.join("bundle.sigstore.json"));
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
        let root = self.file("trusted_root.json").unwrap_or_else(|| self.production_root.clone());
        let pg = provgate();
        expect(self, self.command(&pg, input, Some(&root)))
    }
}

fn expect(case: &Case, mut command: Command) -> Result<(), Failed> {
    let Run { code, stdout, stderr } = Run::of(&mut command);
    let why = case.text("README").unwrap_or_default();
    match (case.must_pass, code == 0) {
        (true, true) if stdout.starts_with("OK: ") => Ok(()),
        (true, _) => Err(format!("must verify but did not (exit code {code}): {stderr}{stdout}\ncase: {why}").into()),
        (false, true) => Err(format!("must be rejected but verified: {stdout}\ncase: {why}").into()),
        (false, false) if code == 1 && names_the_check(&stderr) => Ok(()),
        (false, false) => {
            Err(format!("rejected, but without naming the failing check (exit code {code}): {stderr}").into())
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

fn discover(cases_dir: &Path, production_root: &Path) -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(cases_dir)
        .expect("cases folder readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|dir| dir.join("bundle.sigstore.json").is_file())
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            Case {
                must_pass: !name.ends_with("_fail"),
                name,
                dir,
                cases_dir: cases_dir.to_owned(),
                production_root: production_root.to_owned(),
            }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = private_sigstore::trials();
    trials.extend(check_policy::trials());
    // Without the corpora, the cases above still run.
    let Some(cases_dir) = provgate_test_support::corpus(CASES) else {
        libtest_mimic::run(&args, trials).exit();
    };
    let Some(production_root) = provgate_test_support::corpus(PRODUCTION_ROOT) else {
        libtest_mimic::run(&args, trials).exit();
    };
    let cases = discover(&cases_dir, &production_root);
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
            let pg = provgate();
            expect(&case, case.command(&pg, Input::File, None))
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
