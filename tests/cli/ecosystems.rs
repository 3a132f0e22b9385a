//! npm and PyPI attestations, real ones from the shared corpora (`real-world/npm`,
//! `real-world/pypi`), registered through the real binary into a real store and checked again
//! by `sources verify`: npm's registry response (a publish attestation signed with the
//! registry's key, SLSA provenance signed by the release workflow; subjects by SHA-512 only),
//! PEP 740 attestation objects and PyPI provenance objects. These are public-good signatures,
//! verified offline against the built-in public-good root (rfc8785's against the staging root
//! its signer used). Every refusal adds nothing.
use std::path::{Path, PathBuf};

use provgate_test_support::{Provgate, Run, corpus};
use serde_json::json;

const GITHUB: &str = "https://token.actions.githubusercontent.com";
const NPM_PUBLISH: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";
const PYPI_PUBLISH: &str = "https://docs.pypi.org/attestations/publish/v1";
const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
const SLSA_V0_2: &str = "https://slsa.dev/provenance/v0.2";

/// npm's attestation signing key (keyid `SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA`,
/// published at <https://registry.npmjs.org/-/npm/v1/keys>), which signed the corpus's publish
/// attestations.
const NPM_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i
6UPp+IhuteBJbuHcA5UogKo0EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==
-----END PUBLIC KEY-----
";

/// A real package of the corpus, the response attesting it, and who signed its provenance.
struct NpmCase {
    stem: &'static str,
    workflow: &'static str,
    provenance_type: &'static str,
}

const NPM: [NpmCase; 2] = [
    NpmCase {
        stem: "provenance-npm-test-cli-v1-prega",
        workflow: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        provenance_type: SLSA_V1,
    },
    NpmCase {
        stem: "supreme-googles-cli-v02-tag",
        workflow: "https://github.com/trishankatdatadog/supreme-goggles/.github/workflows/npm-publish.yml@refs/tags/v1.0.5",
        provenance_type: SLSA_V0_2,
    },
];

/// A PyPI distribution, an attestation about it, who signed it, and the root it verifies with.
struct PypiCase {
    dist: &'static str,
    attestation: &'static str,
    issuer: &'static str,
    identity: &'static str,
    staging: bool,
}

const PYPI: [PypiCase; 6] = [
    PypiCase {
        dist: "gitlab_oidc_project-0.0.3.tar.gz",
        attestation: "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
        issuer: "https://gitlab.com",
        identity: "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main",
        staging: false,
    },
    PypiCase {
        dist: "pypi_attestation_models-0.0.4a2.tar.gz",
        attestation: "pypi_attestation_models-0.0.4a2.tar.gz.attestation",
        issuer: GITHUB,
        identity: "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/release.yml@refs/tags/v0.0.4a2",
        staging: false,
    },
    PypiCase {
        dist: "pypi_attestation_models-0.0.4a2.tar.gz",
        attestation: "pypi_attestation_models-0.0.4a2.tar.gz.sigstore",
        issuer: GITHUB,
        identity: "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/release.yml@refs/tags/v0.0.4a2",
        staging: false,
    },
    PypiCase {
        dist: "rfc8785-0.1.2-py3-none-any.whl",
        attestation: "rfc8785-0.1.2-py3-none-any.whl.attestation",
        issuer: "https://github.com/login/oauth",
        identity: "william@yossarian.net",
        staging: true,
    },
    PypiCase {
        dist: "rfc8785-0.1.2-py3-none-any.whl",
        attestation: "rfc8785-0.1.2-py3-none-any.whl.publish.attestation",
        issuer: "https://github.com/login/oauth",
        identity: "william@yossarian.net",
        staging: true,
    },
    PypiCase {
        dist: "rfc8785-0.1.2-py3-none-any.whl",
        attestation: "rfc8785-0.1.2-py3-none-any.whl.sigstore",
        issuer: "https://github.com/login/oauth",
        identity: "william@yossarian.net",
        staging: true,
    },
];

fn certificate_signer(name: &str, issuer: &str, identity: &str, predicate_type: &str) -> String {
    format!(
        "[[signer]]\nname = \"{name}\"\nissuer = \"{issuer}\"\nidentity = \"{identity}\"\npredicate_types = [\"{predicate_type}\"]\n\n"
    )
}

fn npm_registry_signer() -> String {
    format!("[[signer]]\nname = \"npm registry\"\npublic_key = \"npm.pub\"\npredicate_types = [\"{NPM_PUBLISH}\"]\n\n")
}

struct Fixture {
    pg: Provgate,
}

impl Fixture {
    fn new(signers: &str) -> Self {
        let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate"));
        pg.write("npm.pub", NPM_KEY);
        pg.write("policy.toml", format!("version = 1\n\n{signers}"));
        Self { pg }
    }

    /// `provgate ARGS --policy policy.toml [--trusted-root ROOT]`.
    fn with_trust(&self, args: &[&str], root: Option<&Path>) -> Run {
        let mut command = self.pg.command();
        command.args(args).arg("--policy").arg(self.pg.path("policy.toml"));
        if let Some(root) = root {
            command.arg("--trusted-root").arg(root);
        }
        Run::of(&mut command)
    }

    fn register(&self, evidence: &[&Path], flags: &[&str], root: Option<&Path>) -> Run {
        let mut args = vec!["register"];
        for (flag, path) in flags.iter().zip(evidence) {
            args.push(flag);
            args.push(path.to_str().unwrap());
        }
        self.with_trust(&args, root)
    }

    fn allowed(&self, file: &Path) -> bool {
        self.pg.run(&["explain", file.to_str().unwrap()]).success()
    }

    #[track_caller]
    fn verify_passes(&self, root: Option<&Path>, sources: usize) {
        let out = self.with_trust(&["sources", "verify"], root);
        assert!(out.success(), "{out}");
        assert!(out.stdout.contains(&format!("{sources} signed sources checked, 0 failed")), "{out}");
    }
}

#[track_caller]
fn refused_adding_nothing(fx: &Fixture, out: &Run, expected: &str) {
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains(expected), "expected {expected:?} in: {}", out.stderr);
    assert!(out.stderr.contains("nothing was added"), "{}", out.stderr);
    assert_eq!(fx.pg.source_count(), 0, "nothing added");
}

/// The archive's digest and one per file of the package (tests/cli/packages.rs tests the files
/// themselves): "registered N SHA-256 digests" and "KIND NAME@VERSION: N-1 files".
#[track_caller]
fn registered_the_package_and_its_files(out: &Run, kind: &str) {
    let number_after = |text: &str, before: &str| -> usize {
        let at = text.find(before).unwrap_or_else(|| panic!("no {before:?} in {out}")) + before.len();
        text[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let digests = number_after(&out.stdout, "registered ");
    let line = out.stdout.lines().find(|l| l.starts_with(kind)).unwrap_or_else(|| panic!("no {kind} line in {out}"));
    assert_eq!(digests, number_after(line, ": ") + 1, "{out}");
}

fn npm_files(stem: &str) -> Option<(PathBuf, PathBuf)> {
    let dir = corpus("real-world/npm")?;
    Some((dir.join(format!("{stem}.tgz")), dir.join(format!("{stem}.tgz.json"))))
}

fn npm_policy(case: &NpmCase) -> String {
    certificate_signer("release workflow", GITHUB, case.workflow, case.provenance_type) + &npm_registry_signer()
}

#[test]
fn npm_packages_are_registered_by_their_sha512_subjects_and_verify_again() {
    for case in &NPM {
        let Some((tgz, response)) = npm_files(case.stem) else { return };
        let fx = Fixture::new(&npm_policy(case));
        let out = fx.register(&[&response, &tgz], &["--attestation", "--artifact"], None);
        assert!(out.success(), "{}: {out}", case.stem);
        registered_the_package_and_its_files(&out, "npm package");
        // Both attestations were used: the registry's publish attestation and the provenance.
        assert!(out.stdout.contains("authorized by policy rule \"npm registry\""), "{out}");
        assert!(out.stdout.contains("authorized by policy rule \"release workflow\""), "{out}");
        assert!(fx.allowed(&tgz), "{}: the tarball's SHA-256 is allowed", case.stem);
        fx.verify_passes(None, 1);
    }
}

#[test]
fn an_npm_provenance_bundle_over_the_tarball_verifies_again() {
    // The reported failure: registered with --artifact --bundle, FAILED by `sources verify`.
    let case = &NPM[0];
    let Some((tgz, response)) = npm_files(case.stem) else { return };
    let fx = Fixture::new(&npm_policy(case));
    let read: serde_json::Value = serde_json::from_slice(&std::fs::read(&response).unwrap()).unwrap();
    let provenance = read["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["predicateType"] == SLSA_V1)
        .expect("the response holds SLSA provenance");
    let bundle = fx.pg.write("provenance.sigstore.json", provenance["bundle"].to_string());
    let out = fx.register(&[&tgz, &bundle], &["--artifact", "--bundle"], None);
    assert!(out.success(), "{out}");
    assert!(fx.allowed(&tgz));
    fx.verify_passes(None, 1);
}

#[test]
fn npm_responses_with_a_broken_signature_are_refused_whole() {
    for case in &NPM {
        let Some((tgz, response)) = npm_files(&format!("{}-invalidsig{}", case.stem, invalid_suffix(case))) else {
            return;
        };
        let fx = Fixture::new(&npm_policy(case));
        let out = fx.register(&[&response, &tgz], &["--attestation", "--artifact"], None);
        refused_adding_nothing(&fx, &out, "signature check failed");
        assert!(!fx.allowed(&tgz));
    }
}

/// Which signature the corpus broke: the publish attestation's or the provenance's.
fn invalid_suffix(case: &NpmCase) -> &'static str {
    if case.provenance_type == SLSA_V1 { "pub" } else { "prov" }
}

#[test]
fn npm_attestations_are_refused_when_the_policy_names_another_signer() {
    let Some((tgz, response)) = npm_files(NPM[0].stem) else { return };
    // Another workflow of the same repository, and no npm registry key.
    let other = "https://github.com/sigstore/sigstore-js/.github/workflows/ci.yml@refs/heads/main";
    let fx = Fixture::new(&certificate_signer("ci", GITHUB, other, SLSA_V1));
    let out = fx.register(&[&response, &tgz], &["--attestation", "--artifact"], None);
    refused_adding_nothing(&fx, &out, "identity check failed");
    // The right signer, allowed other predicate types only.
    let fx = Fixture::new(&certificate_signer("release", GITHUB, NPM[0].workflow, "https://spdx.dev/Document"));
    let out = fx.register(&[&response, &tgz], &["--attestation", "--artifact"], None);
    refused_adding_nothing(&fx, &out, "policy check failed");
}

#[test]
fn npm_attestations_about_another_tarball_are_refused() {
    let Some((tgz, response)) = npm_files(NPM[0].stem) else { return };
    let Some((other_tgz, _)) = npm_files(NPM[1].stem) else { return };
    let fx = Fixture::new(&npm_policy(&NPM[0]));
    let out = fx.register(&[&response, &other_tgz], &["--attestation", "--artifact"], None);
    refused_adding_nothing(&fx, &out, "artifact check failed");
    // Only the right tarball's SHA-256: the SHA-512 subjects cannot be matched with it.
    let hashed = fx.pg.ok(&["hash", tgz.to_str().unwrap()]);
    let digest = hashed.split_whitespace().next().unwrap();
    let out = fx.with_trust(&["register", "--attestation", response.to_str().unwrap(), "--artifact", digest], None);
    refused_adding_nothing(&fx, &out, "SHA-512 only, so a SHA-256 digest cannot be matched");
}

#[test]
fn npm_attestations_without_their_tarball_ask_for_it() {
    let Some((_, response)) = npm_files(NPM[0].stem) else { return };
    let fx = Fixture::new(&npm_policy(&NPM[0]));
    let out = fx.register(&[&response], &["--attestation"], None);
    refused_adding_nothing(&fx, &out, "SHA-512 only; give the artifact it is about (--artifact FILE)");
}

fn staging_root() -> Option<PathBuf> {
    corpus("trusted-roots/pypi-sigstore-4.5.1-staging/trusted_root.json")
}

fn pypi_case(case: &PypiCase) -> Option<(PathBuf, PathBuf, Option<PathBuf>)> {
    let dir = corpus("real-world/pypi")?;
    let root = if case.staging { Some(staging_root()?) } else { None };
    Some((dir.join(case.dist), dir.join(case.attestation), root))
}

#[test]
fn pypi_attestations_are_registered_about_their_distribution_and_verify_again() {
    for case in &PYPI {
        let Some((dist, attestation, root)) = pypi_case(case) else { return };
        let fx = Fixture::new(&certificate_signer("trusted publisher", case.issuer, case.identity, PYPI_PUBLISH));
        let out = fx.register(&[&attestation, &dist], &["--attestation", "--artifact"], root.as_deref());
        assert!(out.success(), "{}: {out}", case.attestation);
        registered_the_package_and_its_files(&out, "Python");
        assert!(out.stdout.contains(&format!("signed by {} ({})", case.identity, case.issuer)), "{out}");
        assert!(fx.allowed(&dist), "{}", case.dist);
        fx.verify_passes(root.as_deref(), 1);

        // Alone: its subjects are named by SHA-256, so they are what it vouches for.
        let fx = Fixture::new(&certificate_signer("trusted publisher", case.issuer, case.identity, PYPI_PUBLISH));
        let out = fx.register(&[&attestation], &["--attestation"], root.as_deref());
        assert!(out.success(), "{}: {out}", case.attestation);
        assert!(fx.allowed(&dist), "{}", case.dist);
        fx.verify_passes(root.as_deref(), 1);
    }
}

#[test]
fn pypi_attestations_are_refused_for_another_signer_or_distribution() {
    let case = &PYPI[1];
    let Some((dist, attestation, root)) = pypi_case(case) else { return };
    let other = "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/ci.yml@refs/heads/main";
    let fx = Fixture::new(&certificate_signer("ci", case.issuer, other, PYPI_PUBLISH));
    let out = fx.register(&[&attestation, &dist], &["--attestation", "--artifact"], root.as_deref());
    refused_adding_nothing(&fx, &out, "identity check failed");

    let Some((other_dist, _, _)) = pypi_case(&PYPI[0]) else { return };
    let fx = Fixture::new(&certificate_signer("trusted publisher", case.issuer, case.identity, PYPI_PUBLISH));
    let out = fx.register(&[&attestation, &other_dist], &["--attestation", "--artifact"], root.as_deref());
    refused_adding_nothing(&fx, &out, "artifact check failed");

    // The public-good root does not vouch for a staging signature.
    let Some((dist, attestation, _)) = pypi_case(&PYPI[3]) else { return };
    let fx = Fixture::new(&certificate_signer("me", PYPI[3].issuer, PYPI[3].identity, PYPI_PUBLISH));
    let out = fx.register(&[&attestation, &dist], &["--attestation", "--artifact"], None);
    refused_adding_nothing(&fx, &out, "check failed");
}

#[test]
fn a_pypi_provenance_object_uses_every_attestation_that_verifies() {
    let Some((dist, _, root)) = pypi_case(&PYPI[3]) else { return };
    let (Some((_, first, _)), Some((_, second, _))) = (pypi_case(&PYPI[3]), pypi_case(&PYPI[4])) else { return };
    let read = |path: &Path| serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap();
    let provenance = json!({
        "version": 1,
        "attestation_bundles": [
            { "publisher": { "kind": "GitHub", "repository": "trailofbits/rfc8785.py" }, "attestations": [read(&first), read(&second)] },
        ],
    });
    let fx = Fixture::new(&certificate_signer("me", PYPI[3].issuer, PYPI[3].identity, PYPI_PUBLISH));
    let provenance = fx.pg.write("rfc8785.provenance", provenance.to_string());
    let out = fx.register(&[&provenance, &dist], &["--attestation", "--artifact"], root.as_deref());
    assert!(out.success(), "{out}");
    registered_the_package_and_its_files(&out, "Python wheel");
    assert!(out.stdout.contains("attestation_bundles[0] (GitHub) attestations[0]: signed by"), "{out}");
    assert!(out.stdout.contains("attestation_bundles[0] (GitHub) attestations[1]: signed by"), "{out}");
    fx.verify_passes(root.as_deref(), 1);
}

#[test]
fn pep740_objects_convert_to_the_bundles_pypi_attestations_made_of_them() {
    // The corpus holds, for two distributions, the attestation object and the Sigstore bundle
    // pypi-attestations converted it to: the conversion must be the same, field for field.
    for stem in ["pypi_attestation_models-0.0.4a2.tar.gz", "rfc8785-0.1.2-py3-none-any.whl"] {
        let Some(dir) = corpus("real-world/pypi") else { return };
        let read = |name: String| {
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(dir.join(name)).unwrap()).unwrap()
        };
        let converted = provgate_attestations::formats::pep740_to_bundle(&read(format!("{stem}.attestation"))).unwrap();
        let mut expected = read(format!("{stem}.sigstore"));
        // sigstore-python writes an empty timestampVerificationData; absent and empty are one.
        let material = expected["verificationMaterial"].as_object_mut().unwrap();
        if material.get("timestampVerificationData").is_some_and(|t| t == &json!({})) {
            material.remove("timestampVerificationData");
        }
        assert!(converted == expected, "{stem}: the conversion differs from pypi-attestations'");
    }
}
