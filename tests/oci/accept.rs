//! Images that are trusted, and what they then allow.
use libtest_mimic::{Failed, Trial};
use provgate_oci_testkit::{Member, cosign, oci};
use provgate_test_support::Run;
use serde_json::json;

use crate::{
    fixture::{ELF, Expect as _, Fixture, SCRIPT, ensure, sha},
    trial,
};

pub fn trials() -> Vec<Trial> {
    vec![
        trial("accept::signed_image_allows_its_candidate_files", signed_image_allows_its_candidate_files),
        trial("accept::tag_is_pinned_to_its_digest_and_rm_removes", tag_is_pinned_to_its_digest_and_rm_removes),
        trial(
            "accept::index_resolves_to_linux_amd64_or_the_platform_asked",
            index_resolves_to_linux_amd64_or_the_platform_asked,
        ),
        trial("accept::referrer_bundle_signs_and_attests", referrer_bundle_signs_and_attests),
        trial("accept::zstd_layers_and_no_layer_contents", zstd_layers_and_no_layer_contents),
        trial("accept::sbom_attestations_allow_the_files_they_list", sbom_attestations_allow_the_files_they_list),
        trial("accept::policy_and_root_from_the_configuration", policy_and_root_from_the_configuration),
        trial("accept::sources_verify_checks_images_again_offline", sources_verify_checks_images_again_offline),
    ]
}

fn signed_image_allows_its_candidate_files() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let removed = b"\x7fELF removed by the upper layer".as_slice();
    let (_, digest) = fixture.push(
        "acme/app",
        "v1",
        &[
            vec![
                Member::file("usr/bin/app", ELF, 0o755),
                Member::file("usr/bin/old-tool", removed, 0o755),
                Member::file("etc/app.conf", b"setting = 1\n", 0o644),
                Member::Symlink { path: "usr/bin/awk".into(), target: "/etc/alternatives/awk".into() },
            ],
            vec![
                Member::Whiteout { path: "usr/bin/old-tool".into() },
                Member::file("usr/local/bin/start", SCRIPT, 0o644),
                Member::HardLink { path: "usr/bin/app-link".into(), target: "usr/bin/app".into() },
            ],
        ],
    );
    let signer = fixture.release_signer();
    fixture.sign("acme/app", &digest, &signer);
    let reference = format!("{}:v1", fixture.repository("acme/app"));
    let run = fixture.image(&["add", &reference, "--reason", "release 1"]);
    run.succeeded()?;
    run.check(run.stdout.contains(&format!("image {reference} is {digest}")), "names the digest it pinned")?;
    run.check(
        run.stdout.contains("signed by https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"),
        "names the signer",
    )?;
    // Three hashed (the whited-out program too), three in the image: program, its hard link, script.
    run.check(run.stdout.contains("3 candidates hashed"), "three candidates hashed")?;
    run.check(run.stdout.contains("vouches for 3 files of its layers"), "three files in the image")?;
    ensure(fixture.allowed(ELF), "the program is allowed")?;
    ensure(fixture.allowed(SCRIPT), "the script is allowed")?;
    ensure(!fixture.allowed(removed), "a file the upper layer whited out is not")?;
    ensure(!fixture.allowed(b"setting = 1\n"), "a data file is not")?;
    let images = fixture.images();
    ensure(images.len() == 1, format!("one image source: {images:?}"))?;
    let source = &images[0];
    let detail = &source["detail"];
    ensure(
        source["kind"] == "image" && source["name"] == format!("{}@{digest}", fixture.repository("acme/app")),
        format!("{source}"),
    )?;
    ensure(
        source["signer"] == "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
        format!("{source}"),
    )?;
    ensure(
        source["issuer"] == "https://token.actions.githubusercontent.com" && source["reason"] == "release 1",
        format!("{source}"),
    )?;
    ensure(
        detail["digest"] == digest.as_str() && detail["reference"] == reference.as_str() && detail["tag"] == "v1",
        format!("{detail}"),
    )?;
    let index = fixture.sigstore.rekor_v1.len() - 1;
    ensure(detail["log_index"] == json!(index), format!("log index {index}: {detail}"))?;
    let signed_at = fixture.sigstore.default_options().signed_at.to_string();
    ensure(detail["integrated_time"] == signed_at.as_str(), format!("integrated time {signed_at}: {detail}"))?;
    ensure(source["digests"] == 2, format!("two distinct digests: {source}"))?;
    // The records, read from the SQLite store itself: paths inside the image, relative to its
    // root; the hard link under its own path with the program's digest.
    let records = fixture.records()?;
    let expected = vec![
        ("usr/bin/app".to_owned(), sha(ELF)),
        ("usr/bin/app-link".to_owned(), sha(ELF)),
        ("usr/local/bin/start".to_owned(), sha(SCRIPT)),
    ];
    ensure(records == expected, format!("records {records:?}, expected {expected:?}"))?;
    Ok(())
}

fn tag_is_pinned_to_its_digest_and_rm_removes() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let first = b"#!/bin/sh\necho first\n".as_slice();
    let second = b"#!/bin/sh\necho second\n".as_slice();
    let (_, one) = fixture.push("app", "stable", &[vec![Member::file("bin/run", first, 0o755)]]);
    let signer = fixture.release_signer();
    fixture.sign("app", &one, &signer);
    let reference = format!("{}:stable", fixture.repository("app"));
    fixture.image(&["add", &reference]).succeeded()?;
    // The tag moves to another image; what was trusted stays the first image.
    let (_, two) = fixture.push("app", "stable", &[vec![Member::file("bin/run", second, 0o755)]]);
    fixture.sign("app", &two, &signer);
    ensure(fixture.images()[0]["detail"]["digest"] == one.as_str(), "the source is the digest the tag had")?;
    ensure(fixture.allowed(first) && !fixture.allowed(second), "only the first image's file")?;
    let run = fixture.image(&["add", &reference]);
    run.succeeded()?;
    run.check(run.stdout.contains(&two), "the tag now resolves to the second image")?;
    ensure(fixture.images().len() == 2, "two images")?;
    let table = fixture.image(&["ls"]);
    let name = format!("{}:stable", fixture.repository("app"));
    for short in [&one[..19], &two[..19]] {
        table.check(
            table.stdout.lines().any(|l| l.contains(&name) && l.contains(short)),
            &format!("ls lists {name} at {short}"),
        )?;
    }
    // Adding the same digest again adds nothing.
    let run = fixture.image(&["add", &format!("{}@{two}", fixture.repository("app"))]);
    run.succeeded()?;
    run.check(
        run.stdout.contains("already trusted as source") && run.stdout.contains(&two),
        "a second add of one digest is a no-op",
    )?;
    run.check(!run.stdout.contains("signed by") && !run.stdout.contains("layers:"), "nothing was downloaded again")?;
    ensure(fixture.images().len() == 2, "still two images")?;
    // rm by digest removes that image only.
    let run = fixture.image(&["rm", &format!("{}@{one}", fixture.repository("app"))]);
    run.succeeded()?;
    ensure(!fixture.allowed(first) && fixture.allowed(second), "the first image's file is no longer allowed")?;
    // rm by tag removes every image added under it.
    fixture.image(&["rm", &reference]).succeeded()?;
    ensure(fixture.images().is_empty() && !fixture.allowed(second), "nothing left")?;
    let run = fixture.image(&["rm", &reference]);
    run.refused("no trusted image matches")
}

fn index_resolves_to_linux_amd64_or_the_platform_asked() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let amd64 = b"\x7fELF x86-64 build".as_slice();
    let arm64 = b"\x7fELF aarch64 build".as_slice();
    let (arm_image, arm_digest) =
        fixture.push("multi", "arm64-only", &[vec![Member::file("usr/bin/tool", arm64, 0o755)]]);
    let (amd_image, amd_digest) =
        fixture.push("multi", "amd64-only", &[vec![Member::file("usr/bin/tool", amd64, 0o755)]]);
    // arm64 first: the resolver must choose by platform, not position.
    let index = oci::index(&[("linux/arm64/v8", arm_image.descriptor()), ("linux/amd64", amd_image.descriptor())]);
    let index_digest = fixture.pusher.index("multi", "v2", &index);
    // The index is signed (as `cosign sign multi:v2` does), not the platform images.
    let signer = fixture.release_signer();
    fixture.sign("multi", &index_digest, &signer);
    let reference = format!("{}:v2", fixture.repository("multi"));
    let run = fixture.image(&["add", &reference]);
    run.succeeded()?;
    run.check(
        run.stdout.contains(&format!("is {amd_digest} (linux/amd64 of index {index_digest})")),
        "resolves to linux/amd64",
    )?;
    ensure(fixture.allowed(amd64) && !fixture.allowed(arm64), "only the amd64 file")?;
    let detail = &fixture.images()[0]["detail"];
    ensure(
        detail["digest"] == amd_digest.as_str()
            && detail["index_digest"] == index_digest.as_str()
            && detail["platform"] == "linux/amd64",
        format!("{detail}"),
    )?;
    let run = fixture.image(&["add", &reference, "--platform", "linux/arm64"]);
    run.succeeded()?;
    run.check(run.stdout.contains(&arm_digest), "resolves to linux/arm64")?;
    ensure(fixture.allowed(arm64), "the arm64 file")?;
    let run = fixture.image(&["add", &reference, "--platform", "linux/s390x"]);
    run.refused("resolving the reference: the index has no image for linux/s390x (it has: linux/arm64/v8, linux/amd64)")
}

fn referrer_bundle_signs_and_attests() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (image, digest) = fixture.push("bundled", "v3", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let signer = fixture.release_signer();
    let repository = fixture.repository("bundled");
    // cosign 3: an in-toto statement of cosign's signing predicate, and an SPDX SBOM attestation,
    // each a Sigstore bundle in an OCI referrer (the registry has no referrers API: tag schema).
    let options = fixture.sigstore.rekor_v2_options();
    let signing = cosign::image_statement(&repository, &digest, cosign::COSIGN_SIGN_PREDICATE, json!({}));
    let bundle = fixture.sigstore.sign_statement(&signer, &signing, &options);
    let mut referrers = Vec::new();
    let referrer = cosign::push_referrer(&fixture.pusher, "bundled", &image.descriptor(), &bundle, &mut referrers);
    let listed = b"\x7fELF a library the SBOM lists".as_slice();
    let spdx = cosign::image_statement(
        &repository,
        &digest,
        "https://spdx.dev/Document",
        spdx_document(&[("./usr/lib/libextra.so", listed)]),
    );
    let bundle = fixture.sigstore.sign_statement(&signer, &spdx, &options);
    let sbom_referrer = cosign::push_referrer(&fixture.pusher, "bundled", &image.descriptor(), &bundle, &mut referrers);
    let run = fixture.image(&["add", &format!("{repository}:v3")]);
    run.succeeded()?;
    run.check(run.stdout.contains(&format!("found at referrer {referrer}")), "the signature is the referrer")?;
    run.check(run.stdout.contains(&format!("attestation https://spdx.dev/Document by https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main at referrer {sbom_referrer}")), "the SBOM attestation is recorded")?;
    ensure(fixture.allowed(ELF), "the layer's program")?;
    ensure(fixture.allowed(listed), "the file the SBOM lists")?;
    let detail = &fixture.images()[0]["detail"];
    ensure(detail["attestations"][0]["predicate_type"] == "https://spdx.dev/Document", format!("{detail}"))?;
    ensure(detail["signatures"][0]["log_entries"][0]["kind"] == "hashedrekord/0.0.2", format!("Rekor v2: {detail}"))?;
    Ok(())
}

fn zstd_layers_and_no_layer_contents() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let image = provgate_oci_testkit::Image::new(vec![
        oci::layer(&[Member::file("usr/bin/a", ELF, 0o755)], oci::LAYER_ZSTD),
        oci::layer(&[Member::file("usr/bin/b", SCRIPT, 0o755)], oci::LAYER_TAR),
    ]);
    let digest = fixture.pusher.image("mixed", "v1", &image);
    let signer = fixture.release_signer();
    fixture.sign("mixed", &digest, &signer);
    let reference = format!("{}:v1", fixture.repository("mixed"));
    // Without layer contents and without an SBOM attestation there is nothing to allow.
    let run = fixture.image(&["add", &reference, "--no-layer-contents"]);
    run.refused("nothing to allow")?;
    fixture.store_is_empty()?;
    fixture.image(&["add", &reference]).succeeded()?;
    ensure(fixture.allowed(ELF) && fixture.allowed(SCRIPT), "both layers' files")
}

/// A minimal SPDX 2.3 JSON document listing `files` (path, content).
fn spdx_document(files: &[(&str, &[u8])]) -> serde_json::Value {
    let files: Vec<serde_json::Value> = files
        .iter()
        .enumerate()
        .map(|(i, (name, content))| {
            json!({ "fileName": name, "SPDXID": format!("SPDXRef-File-{i}"), "checksums": [{ "algorithm": "SHA256", "checksumValue": sha(content) }] })
        })
        .collect();
    json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": "app",
        "documentNamespace": "https://acme.example/spdx/app", "creationInfo": { "created": "2026-01-01T00:00:00Z", "creators": ["Tool: provgate tests"] },
        "files": files,
    })
}

/// A minimal CycloneDX 1.6 JSON document listing `files` (path, content) as file components.
fn cyclonedx_document(files: &[(&str, &[u8])]) -> serde_json::Value {
    let components: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, content)| json!({ "type": "file", "name": name, "hashes": [{ "alg": "SHA-256", "content": sha(content) }] }))
        .collect();
    json!({ "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components })
}

fn sbom_attestations_allow_the_files_they_list() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (_, digest) = fixture.push("sbom", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let signer = fixture.release_signer();
    fixture.sign("sbom", &digest, &signer);
    let repository = fixture.repository("sbom");
    let (tool, plugin) = (b"#!/bin/sh\necho tool\n".as_slice(), b"\x7fELF plugin".as_slice());
    let statement = cosign::image_statement(
        &repository,
        &digest,
        "https://cyclonedx.org/bom",
        cyclonedx_document(&[("/opt/tool", tool), ("/opt/plugin.so", plugin)]),
    );
    // The signer may attest SPDX and SLSA only: first a CycloneDX SBOM, which is not used.
    let options = fixture.sigstore.default_options();
    let layer = cosign::attestation_layer(&mut fixture.sigstore, &signer, &statement, &options);
    cosign::push_cosign(&fixture.pusher, "sbom", &digest, "att", vec![layer]);
    let reference = format!("{repository}:v1");
    let run = fixture.image(&["add", &reference, "--no-layer-contents"]);
    run.refused("nothing to allow")?;
    run.check(
        run.stderr
            .contains("may vouch with https://spdx.dev/Document, https://slsa.dev/provenance/v1, artifact signatures"),
        "says what the signer may attest",
    )?;
    fixture.store_is_empty()?;
    std::fs::write(
        fixture.path("policy.toml"),
        crate::fixture::POLICY.replace(r#"predicate_types = ["#, r#"predicate_types = ["https://cyclonedx.org/bom", "#),
    )?;
    let run = fixture.image(&["add", &reference, "--no-layer-contents"]);
    run.succeeded()?;
    run.check(
        run.stdout.contains("vouches for 0 files of its layers and 2 files of SBOM attestations"),
        "the SBOM's two files",
    )?;
    ensure(fixture.allowed(tool) && fixture.allowed(plugin), "the files the SBOM lists are allowed")?;
    ensure(!fixture.allowed(ELF), "the layers were not read")?;
    let records = fixture.records()?;
    ensure(
        records == [("opt/plugin.so".to_owned(), sha(plugin)), ("opt/tool".to_owned(), sha(tool))],
        format!("{records:?}"),
    )?;
    // A CycloneDX document under SPDX's predicate type is refused, naming both.
    fixture.image(&["rm", &reference]).succeeded()?;
    let mislabelled = cosign::image_statement(
        &repository,
        &digest,
        "https://spdx.dev/Document",
        cyclonedx_document(&[("/opt/tool", tool)]),
    );
    let layer = cosign::attestation_layer(&mut fixture.sigstore, &signer, &mislabelled, &options);
    cosign::push_cosign(&fixture.pusher, "sbom", &digest, "att", vec![layer]);
    let run = fixture.image(&["add", &reference]);
    run.refused("reading attestations: ")?;
    run.check(
        run.stderr.contains(
            "reading the SPDX SBOM: the statement's predicate type says SPDX, but the document is CycloneDX JSON",
        ),
        "names the mismatch",
    )?;
    ensure(!fixture.allowed(tool), "nothing of it is allowed")
}

fn policy_and_root_from_the_configuration() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (_, digest) = fixture.push("configured", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let signer = fixture.release_signer();
    fixture.sign("configured", &digest, &signer);
    let reference = format!("{}:v1", fixture.repository("configured"));
    let add = |fixture: &Fixture| {
        let mut command = fixture.provgate();
        command.args(["image", "add", &reference, "--registry-config"]).arg(fixture.path("config.json"));
        Run::of(&mut command)
    };
    // No policy anywhere: nothing signed is trusted, and the error says where to name one.
    add(&fixture).refused(
        "no trust policy: nothing signed is trusted; name one with --policy or trust_policy in the configuration",
    )?;
    fixture.store_is_empty()?;
    let config = format!(
        "trust_policy = {:?}\ntrusted_root = {:?}\n",
        fixture.path("policy.toml"),
        fixture.path("trusted_root.json")
    );
    fixture.pg.write_config(&config);
    add(&fixture).succeeded()?;
    ensure(fixture.allowed(ELF), "the program is allowed")
}

/// `provgate sources verify` checks the signatures and attestations an image was trusted on
/// again, from what the store kept, without the registry.
fn sources_verify_checks_images_again_offline() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (image, digest) = fixture.push("checked", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let signer = fixture.release_signer();
    let repository = fixture.repository("checked");
    // A legacy cosign signature, and a referrer bundle with an SBOM attestation.
    fixture.sign("checked", &digest, &signer);
    let listed = b"\x7fELF listed by the SBOM".as_slice();
    let spdx = cosign::image_statement(
        &repository,
        &digest,
        "https://spdx.dev/Document",
        spdx_document(&[("./usr/lib/x.so", listed)]),
    );
    let bundle = fixture.sigstore.sign_statement(&signer, &spdx, &fixture.sigstore.rekor_v2_options());
    cosign::push_referrer(&fixture.pusher, "checked", &image.descriptor(), &bundle, &mut Vec::new());
    fixture.image(&["add", &format!("{repository}:v1")]).succeeded()?;
    fixture.registry.stop();

    let verify = |fixture: &Fixture| {
        let mut command = fixture.provgate();
        command
            .args(["sources", "verify", "--policy"])
            .arg(fixture.path("policy.toml"))
            .arg("--trusted-root")
            .arg(fixture.path("trusted_root.json"));
        Run::of(&mut command)
    };
    let run = verify(&fixture);
    run.succeeded()?;
    run.check(run.stdout.contains("1 signed sources checked, 0 failed"), "the image is checked")?;
    run.check(
        run.stdout.contains(
            "signed by https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main; 1 attestations pass",
        ),
        "signature and attestation",
    )?;
    // The policy no longer lets the signer vouch with SBOMs: the image's SBOM files lose their ground.
    std::fs::write(fixture.path("policy.toml"), crate::fixture::POLICY.replace("\"https://spdx.dev/Document\", ", ""))?;
    let run = verify(&fixture);
    run.check(
        run.code == 1 && run.stdout.contains("FAILED: an attestation no longer passes"),
        "the attestation fails",
    )?;
    // Another trusted root: no signature passes.
    std::fs::write(fixture.path("policy.toml"), crate::fixture::POLICY)?;
    std::fs::write(
        fixture.path("trusted_root.json"),
        provgate_attestations_testkit::PrivateSigstore::new().trusted_root().to_string(),
    )?;
    let run = verify(&fixture);
    run.check(run.code == 1 && run.stdout.contains("FAILED: no signature passes any more"), "the signature fails")
}
