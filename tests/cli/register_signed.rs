//! `provgate register` with signed evidence and `provgate sources verify`, through the real
//! binary and a real store, against a private Sigstore the test builds (CA, CT log, Rekor, TSA):
//! signed SBOMs, attestations (SPDX, SLSA) and artifacts are verified and authorized by the
//! trust policy before anything is added; every refusal adds nothing.
mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use provgate_attestations_testkit::{Identity, LeafOptions, PrivateSigstore, Signer, cosign_blob_bundle, statement};
use provgate_test_support::Run;
use serde_json::json;

const ISSUER: &str = "https://accounts.google.com";
const RELEASE: &str = "release@acme.example";
const BUILDER: &str = "builder@acme.example";

use common::Signing as Fixture;

impl Fixture {
    fn new() -> Self {
        // The release identity may vouch with SBOMs, SLSA and plain signatures; the builder
        // only with plain signatures over artifacts.
        Self::with_policy(&format!(
            "version = 1\n\n[[signer]]\nname = \"release\"\nissuer = \"{ISSUER}\"\nidentity = \"{RELEASE}\"\n\
                 predicate_types = [\"https://spdx.dev/Document\", \"https://cyclonedx.org/bom\", \"https://slsa.dev/provenance/v1\"]\n\
                 artifact_signatures = true\n\n[[signer]]\nname = \"builder\"\nissuer = \"{ISSUER}\"\nidentity = \"{BUILDER}\"\n\
                 artifact_signatures = true\n"
        ))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.pg.path(name)
    }

    fn provgate(&self) -> Command {
        self.pg.command()
    }

    fn run(&self, args: &[&str]) -> Run {
        self.pg.run(args)
    }

    fn signer(&self, who: &str) -> Signer {
        self.sigstore.keyless(&Identity::email(who, ISSUER))
    }

    fn sign_file(&mut self, who: &str, file: &Path, bundle: &str) -> PathBuf {
        let signer = self.signer(who);
        self.sign_file_by(&signer, file, bundle)
    }

    fn attest(&mut self, who: &str, statement: &[u8], bundle: &str) -> PathBuf {
        let signer = self.signer(who);
        let signed = self.sigstore.sign_statement(&signer, statement, &self.sigstore.default_options());
        let path = self.path(bundle);
        std::fs::write(&path, signed.to_string()).unwrap();
        path
    }

    /// A build output with three files and its SPDX SBOM, made by `provgate sbom generate`.
    fn build_with_sbom(&self) -> (PathBuf, PathBuf) {
        let out = self.path("build");
        std::fs::create_dir_all(out.join("bin")).unwrap();
        for (name, content) in [("bin/app", "app v1"), ("bin/helper", "helper v1"), ("lib.so", "library v1")] {
            std::fs::write(out.join(name), content).unwrap();
        }
        let sbom = self.path("sbom.spdx.json");
        let done = self.run(&[
            "sbom",
            "generate",
            out.to_str().unwrap(),
            "--format",
            "spdx-json",
            "-o",
            sbom.to_str().unwrap(),
        ]);
        assert!(done.success(), "{}", done.stderr);
        (out, sbom)
    }

    fn allowed(&self, file: &Path) -> bool {
        self.run(&["explain", file.to_str().unwrap()]).success()
    }
}

fn refused_adding_nothing(fx: &Fixture, out: &Run, before: i64, expected: &str) {
    let err = &out.stderr;
    assert_eq!(out.code, 1, "{err}");
    assert!(err.contains(expected), "expected {expected:?} in: {err}");
    assert!(err.contains("nothing was added"), "{err}");
    assert_eq!(fx.pg.source_count(), before, "nothing added");
}

#[test]
fn a_signed_sbom_allows_its_files() {
    let mut fx = Fixture::new();
    let (build, sbom) = fx.build_with_sbom();
    let bundle = fx.sign_file(RELEASE, &sbom, "sbom.bundle.json");
    let out = fx.register(&["--sbom", sbom.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    let said = &out.stdout;
    assert!(said.contains("registered 3 SHA-256 digests") && said.contains(&format!("signed by {RELEASE}")), "{said}");
    for file in ["bin/app", "bin/helper", "lib.so"] {
        assert!(fx.allowed(&build.join(file)), "{file} allowed");
    }
    let sources: serde_json::Value = fx.run(&["sources", "--json"]).json();
    let source = &sources[0];
    assert_eq!(source["kind"], "sbom");
    assert_eq!(source["signer"], RELEASE);
    assert_eq!(source["issuer"], ISSUER);
    assert!(source["detail"]["log_entries"][0]["index"].is_number(), "log index recorded: {source}");
    assert!(source["detail"]["log_entries"][0]["integrated_time"].is_string(), "integrated time recorded");
}

#[test]
fn a_tampered_sbom_is_refused() {
    let mut fx = Fixture::new();
    let (_, sbom) = fx.build_with_sbom();
    let bundle = fx.sign_file(RELEASE, &sbom, "sbom.bundle.json");
    // Swap in the digest of something else: the SBOM no longer matches its signature.
    let text = std::fs::read_to_string(&sbom).unwrap();
    let key = text.find("\"checksumValue\"").expect("a checksum");
    let first = key + text[key + 16..].find('"').expect("its value") + 17;
    let mut tampered = text.clone();
    tampered.replace_range(first..first + 64, &"e".repeat(64));
    std::fs::write(&sbom, tampered).unwrap();
    let out = fx.register(&["--sbom", sbom.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 0, "check failed");
}

#[test]
fn a_signer_outside_the_policy_is_refused_with_what_was_expected_and_found() {
    let mut fx = Fixture::new();
    let (_, sbom) = fx.build_with_sbom();
    let bundle = fx.sign_file("mallory@evil.example", &sbom, "evil.bundle.json");
    let out = fx.register(&["--sbom", sbom.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 0, "identity check failed");
    assert!(out.stderr.contains("mallory@evil.example"), "says who was found: {}", out.stderr);
}

#[test]
fn a_signer_allowed_only_artifacts_cannot_vouch_with_an_sbom() {
    let mut fx = Fixture::new();
    let (build, sbom) = fx.build_with_sbom();
    let bundle = fx.sign_file(BUILDER, &sbom, "sbom.bundle.json");
    let out = fx.register(&["--sbom", sbom.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 0, "https://spdx.dev/Document");
    // The same signer may vouch for a single artifact.
    let app = build.join("bin/app");
    let bundle = fx.sign_file(BUILDER, &app, "app.bundle.json");
    let out = fx.register(&["--artifact", app.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    assert!(fx.allowed(&app));
    assert!(!fx.allowed(&build.join("bin/helper")));
}

#[test]
fn an_artifact_given_by_its_digest_alone() {
    let mut fx = Fixture::new();
    let (build, _) = fx.build_with_sbom();
    let app = build.join("bin/app");
    let digest = format!("sha256:{}", sha256_hex(&std::fs::read(&app).unwrap()));
    let bundle = fx.sign_file(BUILDER, &app, "app.bundle.json");
    // A digest the bundle does not sign is refused as a file's would be.
    let helper = format!("sha256:{}", sha256_hex(&std::fs::read(build.join("bin/helper")).unwrap()));
    let out = fx.register(&["--artifact", &helper, "--bundle", bundle.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 0, "check failed");
    let out = fx.register(&["--artifact", &digest, "--bundle", bundle.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    assert!(fx.allowed(&app));
    let sources = fx.run(&["sources", "--json"]).json();
    assert_eq!(sources[0]["name"], digest.as_str(), "named by its digest: {sources}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `gh attestation download` writes one bundle per line: each line is verified on its own, and
/// the command says which lines were used and why the others were not.
#[test]
fn json_lines_of_bundles_are_verified_line_by_line() {
    let mut fx = Fixture::new();
    let (build, _) = fx.build_with_sbom();
    let app = std::fs::read(build.join("bin/app")).unwrap();
    let helper = std::fs::read(build.join("bin/helper")).unwrap();
    let predicate = json!({
        "buildDefinition": { "buildType": "https://acme.example/build/v1", "externalParameters": {} },
        "runDetails": { "builder": { "id": "https://acme.example/builder" } },
    });
    let release = fx.attest(
        RELEASE,
        &statement("https://slsa.dev/provenance/v1", &[("bin/app", &app)], predicate.clone()),
        "a.json",
    );
    // The builder may not vouch with SLSA provenance: its line is set aside.
    let builder = fx.attest(
        BUILDER,
        &statement("https://slsa.dev/provenance/v1", &[("bin/helper", &helper)], predicate),
        "b.json",
    );
    let line =
        |path: &Path| serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap().to_string();
    let jsonl = fx.path("sha256-app.jsonl");
    std::fs::write(&jsonl, format!("{}\n{}\n", line(&release), line(&builder))).unwrap();
    let out = fx.register(&["--attestation", jsonl.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("line 1") && said.contains("line 2"), "names the lines: {said}");
    assert!(said.contains("not used"), "says why line 2 was not used: {said}");
    assert!(fx.allowed(&build.join("bin/app")), "line 1 vouches for the app");
    assert!(!fx.allowed(&build.join("bin/helper")), "line 2 vouches for nothing");
    // A line that is not a bundle refuses the file.
    std::fs::write(&jsonl, format!("{}\n{{\"attestations\":[]}}\n", line(&release))).unwrap();
    let before = fx.pg.source_count();
    let out = fx.register(&["--attestation", jsonl.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, before, "line 2 is not a Sigstore bundle");
}

#[test]
fn a_bundle_for_another_artifact_is_refused() {
    let mut fx = Fixture::new();
    let (build, _) = fx.build_with_sbom();
    let bundle = fx.sign_file(RELEASE, &build.join("bin/helper"), "helper.bundle.json");
    let app = build.join("bin/app");
    let out = fx.register(&["--artifact", app.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 0, "check failed");
    assert!(!fx.allowed(&app));
}

#[test]
fn an_expired_certificate_is_refused() {
    let mut fx = Fixture::new();
    let (build, _) = fx.build_with_sbom();
    let now = fx.sigstore.now;
    let hour = jiff::SignedDuration::from_hours(1);
    let signer = fx.sigstore.keyless_with(
        &Identity::email(RELEASE, ISSUER),
        &LeafOptions { not_before: now - hour, not_after: now - hour / 2, sct: true },
    );
    let app = build.join("bin/app");
    let signed = fx.sigstore.sign_artifact(&signer, &std::fs::read(&app).unwrap(), &fx.sigstore.default_options());
    std::fs::write(fx.path("old.bundle.json"), signed.to_string()).unwrap();
    let out =
        fx.register(&["--artifact", app.to_str().unwrap(), "--bundle", fx.path("old.bundle.json").to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 0, "certificate");
}

#[test]
fn attestations_vouch_for_subjects_and_sbom_files() {
    let mut fx = Fixture::new();
    let (build, sbom) = fx.build_with_sbom();
    let app_bytes = std::fs::read(build.join("bin/app")).unwrap();
    // SLSA provenance: its subject.
    let predicate = json!({
        "buildDefinition": { "buildType": "https://acme.example/build/v1", "externalParameters": {} },
        "runDetails": { "builder": { "id": "https://acme.example/builder" } },
    });
    let slsa = statement("https://slsa.dev/provenance/v1", &[("bin/app", &app_bytes)], predicate.clone());
    let bundle = fx.attest(RELEASE, &slsa, "slsa.bundle.json");
    let out = fx.register(&["--attestation", bundle.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    assert!(fx.allowed(&build.join("bin/app")));
    assert!(!fx.allowed(&build.join("bin/helper")));
    // An SPDX predicate: the subject and every file the SBOM lists.
    let document: serde_json::Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    let spdx = statement("https://spdx.dev/Document", &[("release.tar", b"the release tarball")], document);
    let bundle = fx.attest(RELEASE, &spdx, "spdx.bundle.json");
    let out = fx.register(&["--attestation", bundle.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    assert!(out.stdout.contains("registered 4 SHA-256 digests"), "subject + 3 files");
    assert!(fx.allowed(&build.join("bin/helper")) && fx.allowed(&build.join("lib.so")));
    // The builder may not vouch with SLSA provenance.
    let slsa = statement("https://slsa.dev/provenance/v1", &[("x", b"x")], predicate);
    let bundle = fx.attest(BUILDER, &slsa, "builder-slsa.bundle.json");
    let out = fx.register(&["--attestation", bundle.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 2, "slsa.dev/provenance/v1");
}

#[test]
fn without_a_trust_policy_nothing_signed_is_trusted() {
    let mut fx = Fixture::new();
    let (build, _) = fx.build_with_sbom();
    let app = build.join("bin/app");
    let bundle = fx.sign_file(RELEASE, &app, "app.bundle.json");
    let out = fx.run(&["register", "--artifact", app.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no trust policy"), "{}", out.stderr);
    assert_eq!(fx.pg.source_count(), 0);
}

#[test]
fn sources_verify_reports_what_no_longer_passes() {
    let mut fx = Fixture::new();
    let (build, sbom) = fx.build_with_sbom();
    let bundle = fx.sign_file(RELEASE, &sbom, "sbom.bundle.json");
    assert!(fx.register(&["--sbom", sbom.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]).success());
    let app = build.join("bin/app");
    let bundle = fx.sign_file(BUILDER, &app, "app.bundle.json");
    assert!(fx.register(&["--artifact", app.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]).success());
    assert!(fx.run(&["allow", build.join("lib.so").to_str().unwrap()]).success());

    let verify = |fx: &Fixture| {
        Run::of(
            fx.provgate()
                .args(["sources", "verify", "--policy"])
                .arg(fx.path("policy.toml"))
                .arg("--trusted-root")
                .arg(fx.path("trusted_root.json")),
        )
    };
    let out = verify(&fx);
    let said = &out.stdout;
    assert_eq!(out.code, 0, "{said}{}", out.stderr);
    assert!(said.contains("2 signed sources checked, 0 failed; 1 sources are not signed"), "{said}");

    // The policy changes: the builder is no longer trusted.
    let policy = std::fs::read_to_string(fx.path("policy.toml")).unwrap();
    let cut = policy.find("\n[[signer]]\nname = \"builder\"").unwrap();
    std::fs::write(fx.path("policy.toml"), &policy[..cut]).unwrap();
    let out = verify(&fx);
    let said = &out.stdout;
    assert_eq!(out.code, 1, "{said}");
    assert!(said.contains("artifact") && said.contains("FAILED") && said.contains(BUILDER), "{said}");
    assert!(said.contains("2 signed sources checked, 1 failed"), "{said}");
    // A different trusted root: nothing passes.
    let other = PrivateSigstore::new();
    std::fs::write(fx.path("trusted_root.json"), other.trusted_root().to_string()).unwrap();
    let out = verify(&fx);
    assert!(out.stdout.contains("2 signed sources checked, 2 failed"));
}

#[test]
fn unsigned_registration_can_be_forbidden_by_configuration() {
    let fx = Fixture::new();
    let (_, sbom) = fx.build_with_sbom();
    fx.pg.write_config("forbid_unsigned = true\n");
    let out = fx.run(&["register", "--sbom", sbom.to_str().unwrap(), "--unsigned"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("forbidden"), "{}", out.stderr);
    fx.pg.write_config("");
    assert!(fx.run(&["register", "--sbom", sbom.to_str().unwrap(), "--unsigned"]).success());
    assert_eq!(fx.pg.source_count(), 1);
}

#[test]
fn an_attestation_whose_document_is_not_of_its_predicate_type_is_refused() {
    let mut fx = Fixture::new();
    let (build, sbom) = fx.build_with_sbom();
    let document: serde_json::Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    let subject: &[(&str, &[u8])] = &[("release.tar", b"the release tarball")];
    // The signer may vouch with CycloneDX BOMs, and signed one whose predicate is an SPDX
    // document: what it vouched for is not what the predicate holds.
    let mislabelled = statement("https://cyclonedx.org/bom", subject, document.clone());
    let bundle = fx.attest(RELEASE, &mislabelled, "mislabelled.bundle.json");
    let out = fx.register(&["--attestation", bundle.to_str().unwrap()]);
    refused_adding_nothing(
        &fx,
        &out,
        0,
        "the statement's predicate type says CycloneDX, but the document is SPDX JSON",
    );
    assert!(!fx.allowed(&build.join("bin/helper")));
    // The same document under its own predicate type is taken.
    let labelled = statement("https://spdx.dev/Document", subject, document);
    let bundle = fx.attest(RELEASE, &labelled, "labelled.bundle.json");
    let out = fx.register(&["--attestation", bundle.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    assert!(fx.allowed(&build.join("bin/helper")));
}

/// `cosign sign-blob --bundle` before the Sigstore bundle format: the signature, the certificate
/// (base64 of its PEM) and the Rekor entry, made here by the private Sigstore exactly as cosign
/// lays them out. It is converted to the bundle it amounts to and verified like one: by
/// `register --artifact F --bundle B` (the file or its digest), by `verify-bundle`, and again by
/// `sources verify`; a tampered signature, another artifact or a missing log entry is refused.
#[test]
fn cosign_blob_bundles_are_converted_and_verified() {
    let mut fx = Fixture::new();
    let (build, _) = fx.build_with_sbom();
    let app = build.join("bin/app");
    let bytes = std::fs::read(&app).unwrap();
    let digest = format!("sha256:{}", sha256_hex(&bytes));
    let signed = fx.sigstore.sign_artifact(&fx.signer(BUILDER), &bytes, &fx.sigstore.default_options());
    let blob = cosign_blob_bundle(&signed);
    assert!(blob.get("mediaType").is_none() && blob["rekorBundle"]["SignedEntryTimestamp"].is_string(), "{blob}");
    let bundle = fx.path("app.cosign.bundle");
    std::fs::write(&bundle, blob.to_string()).unwrap();
    let (bundle_arg, root) = (bundle.to_str().unwrap(), fx.path("trusted_root.json"));

    let verify_bundle = |artifact: &str| {
        Run::of(
            fx.provgate()
                .args(["verify-bundle", "--bundle", bundle_arg, "--certificate-identity", BUILDER])
                .args(["--certificate-oidc-issuer", ISSUER, "--trusted-root"])
                .arg(&root)
                .arg(artifact),
        )
    };
    for artifact in [app.to_str().unwrap(), &digest] {
        let out = verify_bundle(artifact);
        assert_eq!(out.code, 0, "{artifact}: {}", out.stderr);
        assert!(out.stdout.contains(&format!("signed by {BUILDER}")), "{}", out.stdout);
    }
    let out = verify_bundle(build.join("bin/helper").to_str().unwrap());
    assert_eq!(out.code, 1, "another artifact: {}", out.stdout);
    assert!(out.stderr.contains("artifact check failed"), "{}", out.stderr);

    // Tampered: one bit of the signature. Refused by both commands, and nothing is added.
    let mut tampered = blob.clone();
    let mut signature = base64_decode(tampered["base64Signature"].as_str().unwrap());
    let last = signature.len() - 1;
    signature[last] ^= 1;
    tampered["base64Signature"] = base64_encode(&signature).into();
    let bad = fx.path("tampered.cosign.bundle");
    std::fs::write(&bad, tampered.to_string()).unwrap();
    let out = fx.register(&["--artifact", app.to_str().unwrap(), "--bundle", bad.to_str().unwrap()]);
    refused_adding_nothing(&fx, &out, 0, "tampered.cosign.bundle: signature check failed");
    let out = Run::of(
        fx.provgate()
            .args(["verify-bundle", "--bundle", bad.to_str().unwrap(), "--certificate-identity", BUILDER])
            .args(["--certificate-oidc-issuer", ISSUER, "--trusted-root"])
            .arg(&root)
            .arg(&app),
    );
    assert_eq!(out.code, 1, "a tampered signature verifies: {}", out.stdout);
    // Signed without a log entry: nothing dates it, so it is refused by name.
    let mut unlogged = blob.clone();
    unlogged.as_object_mut().unwrap().remove("rekorBundle");
    let unlogged_path = fx.path("unlogged.cosign.bundle");
    std::fs::write(&unlogged_path, unlogged.to_string()).unwrap();
    let out = fx.register(&["--artifact", app.to_str().unwrap(), "--bundle", unlogged_path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("cosign blob bundle: no rekorBundle"), "{}", out.stderr);
    assert_eq!(fx.pg.source_count(), 0);
    // Another artifact is refused; the file itself, then its digest alone, are registered.
    let helper = build.join("bin/helper");
    let out = fx.register(&["--artifact", helper.to_str().unwrap(), "--bundle", bundle_arg]);
    refused_adding_nothing(&fx, &out, 0, "app.cosign.bundle: artifact check failed");
    let out = fx.register(&["--artifact", app.to_str().unwrap(), "--bundle", bundle_arg]);
    assert!(out.success(), "{}", out.stderr);
    assert!(out.stdout.contains("registered 1 SHA-256 digests"), "{}", out.stdout);
    assert!(fx.allowed(&app) && !fx.allowed(&helper));
    let out = fx.register(&["--artifact", &digest, "--bundle", bundle_arg]);
    assert!(out.success(), "{}", out.stderr);
    let out = Run::of(
        fx.provgate()
            .args(["sources", "verify", "--policy"])
            .arg(fx.path("policy.toml"))
            .arg("--trusted-root")
            .arg(&root),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("2 signed sources checked, 0 failed"), "{}", out.stdout);

    // `cosign sign-blob --key --bundle`: no certificate, the key the verifier is given.
    let keyed = PrivateSigstore::managed_key();
    let signed = fx.sigstore.sign_artifact(&keyed, &bytes, &fx.sigstore.default_options());
    let blob = cosign_blob_bundle(&signed);
    assert!(blob.get("cert").is_none(), "{blob}");
    let keyed_bundle = fx.path("keyed.cosign.bundle");
    std::fs::write(&keyed_bundle, blob.to_string()).unwrap();
    let key = fx.path("release.pub");
    std::fs::write(&key, keyed.key.public_pem()).unwrap();
    let by_key = |artifact: &Path| {
        Run::of(
            fx.provgate()
                .args(["verify-bundle", "--bundle", keyed_bundle.to_str().unwrap(), "--key", key.to_str().unwrap()])
                .arg("--trusted-root")
                .arg(&root)
                .arg(artifact),
        )
    };
    let out = by_key(&app);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(by_key(&helper).code, 1, "another artifact verifies by key");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// slsa-github-generator's `.intoto.jsonl`. Before v2.1 each line is a bare DSSE envelope with
/// the Fulcio certificate beside its signature (`{"payloadType","payload","signatures":[{"keyid",
/// "sig","cert"}]}`) and no transparency-log entry: slsa-verifier looks the entry up in Rekor
/// online. Offline nothing shows the short-lived certificate was used while valid, so such a file
/// is refused by name, whole, adding nothing. From v2.1 the file holds a Sigstore bundle on one
/// line (no newline after it), which is taken like any bundle.
#[test]
fn slsa_generator_intoto_jsonl_files() {
    let mut fx = Fixture::new();
    let (build, _) = fx.build_with_sbom();
    let app = build.join("bin/app");
    let predicate = json!({
        "buildDefinition": { "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1", "externalParameters": {} },
        "runDetails": { "builder": { "id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0" } },
    });
    let provenance = statement("https://slsa.dev/provenance/v1", &[("app", &std::fs::read(&app).unwrap())], predicate);
    let signed = fx.sigstore.sign_statement(&fx.signer(RELEASE), &provenance, &fx.sigstore.default_options());
    // v1: the envelope alone, the certificate in its signature, as the generator wrote it.
    let mut envelope = signed["dsseEnvelope"].clone();
    let leaf = provgate_attestations_testkit::leaf_certificate(&signed).unwrap();
    envelope["signatures"][0]["cert"] = provgate_attestations_testkit::keys::pem("CERTIFICATE", &leaf).into();
    let v1 = fx.path("app.intoto.jsonl");
    std::fs::write(&v1, envelope.to_string()).unwrap();
    let out = fx.register(&["--attestation", v1.to_str().unwrap(), "--artifact", app.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("app.intoto.jsonl: the file is a bare DSSE envelope"), "{}", out.stderr);
    assert!(out.stderr.contains("no transparency-log entry") && out.stderr.contains("slsa-verifier"), "{}", out.stderr);
    assert_eq!(fx.pg.source_count(), 0);
    // Among bundles, the envelope's line is named.
    std::fs::write(&v1, format!("{signed}\n{envelope}\n")).unwrap();
    let out = fx.register(&["--attestation", v1.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("line 2 is a bare DSSE envelope"), "{}", out.stderr);
    assert_eq!(fx.pg.source_count(), 0);
    // v2.1: one bundle, one line, no newline.
    let v2 = fx.path("app-v2.intoto.jsonl");
    std::fs::write(&v2, signed.to_string()).unwrap();
    let out = fx.register(&["--attestation", v2.to_str().unwrap(), "--artifact", app.to_str().unwrap()]);
    assert!(out.success(), "{}", out.stderr);
    assert!(fx.allowed(&app));
    // The artifact by its digest alone, as the statement names its subject by SHA-256.
    let digest = format!("sha256:{}", sha256_hex(&std::fs::read(&app).unwrap()));
    let out = fx.register(&["--attestation", v2.to_str().unwrap(), "--artifact", &digest]);
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(fx.pg.source_count(), 2);
}
