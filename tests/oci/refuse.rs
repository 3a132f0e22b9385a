//! Images that are refused, each with a message naming the image and the step, and nothing
//! added to the store.
use libtest_mimic::{Failed, Trial};
use provgate_attestations_testkit::Identity;
use provgate_oci_testkit::{Member, cosign};
use serde_json::json;
use tar::EntryType;

use crate::{
    fixture::{ELF, Expect as _, Fixture, ensure},
    trial,
};

pub fn trials() -> Vec<Trial> {
    vec![
        trial("refuse::unsigned_image", unsigned_image),
        trial("refuse::signer_outside_the_policy", signer_outside_the_policy),
        trial("refuse::tampered_layer", tampered_layer),
        trial("refuse::attestation_about_another_digest", attestation_about_another_digest),
        trial("refuse::signature_payload_for_another_digest", signature_payload_for_another_digest),
        trial("refuse::member_climbing_out_with_dot_dot", member_climbing_out_with_dot_dot),
        trial("refuse::hard_link_to_an_absolute_path", hard_link_to_an_absolute_path),
        trial("refuse::decompression_bomb", decompression_bomb),
        trial("refuse::malformed_reference", malformed_reference),
    ]
}

/// Pushes a one-layer image of `members` as `repository:v1`, signed by the release workflow;
/// returns the reference and digest.
fn signed(fixture: &mut Fixture, repository: &str, members: Vec<Member>) -> (String, String) {
    let (_, digest) = fixture.push(repository, "v1", &[members]);
    let signer = fixture.release_signer();
    fixture.sign(repository, &digest, &signer);
    (format!("{}:v1", fixture.repository(repository)), digest)
}

fn unsigned_image() -> Result<(), Failed> {
    let fixture = Fixture::new()?;
    let (_, digest) = fixture.push("unsigned", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let reference = format!("{}:v1", fixture.repository("unsigned"));
    let run = fixture.image(&["add", &reference]);
    let hex = digest.trim_start_matches("sha256:");
    run.refused(&format!("provgate: image {reference}: checking signatures: not signed: no signature found (looked for cosign tag sha256-{hex}.sig and OCI referrers of {digest})"))?;
    run.check(run.stderr.contains("nothing was added to the allowlist"), "says nothing was added")?;
    fixture.store_is_empty()?;
    ensure(!fixture.allowed(ELF), "the program is not allowed")
}

fn signer_outside_the_policy() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (_, digest) = fixture.push("forked", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let mallory = fixture.sigstore.keyless(&Identity::github_actions(
        "evil/fork",
        ".github/workflows/release.yml",
        "refs/heads/main",
        "push",
    ));
    fixture.sign("forked", &digest, &mallory);
    let reference = format!("{}:v1", fixture.repository("forked"));
    let run = fixture.image(&["add", &reference]);
    run.refused(&format!("image {reference}: checking signatures: no signature by a signer"))?;
    run.check(
        run.stderr.contains("identity check failed: expected identity \"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main\", found \"https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main\""),
        "says whom it expected and whom it found",
    )?;
    fixture.store_is_empty()
}

fn tampered_layer() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (image, digest) = fixture.push(
        "tampered",
        "v1",
        &[vec![Member::file("etc/motd", b"hello", 0o644)], vec![Member::file("usr/bin/app", ELF, 0o755)]],
    );
    let signer = fixture.release_signer();
    fixture.sign("tampered", &digest, &signer);
    // Behind the registry's back: the second layer's stored bytes replaced by another layer of
    // the same size (the registry serves what it has).
    let layer = &image.layers[1];
    let path = fixture.registry.blob_path(&layer.digest());
    let mut bytes = std::fs::read(&path)?;
    let n = bytes.len();
    bytes[n / 2] ^= 0x55;
    std::fs::write(&path, &bytes)?;
    let reference = format!("{}:v1", fixture.repository("tampered"));
    let run = fixture.image(&["add", &reference]);
    run.refused(&format!(
        "image {reference}: reading layer 2 of 2 ({}): the registry sent {n} bytes with digest",
        layer.digest()
    ))?;
    run.check(run.stderr.contains("the layer was altered or corrupted"), "says the layer was altered")?;
    fixture.store_is_empty()
}

fn attestation_about_another_digest() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (reference, digest) = signed(&mut fixture, "replayed", vec![Member::file("usr/bin/app", ELF, 0o755)]);
    // A genuine attestation by the trusted signer, about another image, put under this one.
    let signer = fixture.release_signer();
    let other = format!("sha256:{}", "ab".repeat(32));
    let statement = cosign::image_statement(
        &fixture.repository("replayed"),
        &other,
        "https://spdx.dev/Document",
        json!({ "spdxVersion": "SPDX-2.3" }),
    );
    let options = fixture.sigstore.default_options();
    let layer = cosign::attestation_layer(&mut fixture.sigstore, &signer, &statement, &options);
    cosign::push_cosign(&fixture.pusher, "replayed", &digest, "att", vec![layer]);
    let run = fixture.image(&["add", &reference]);
    let tag = format!("{}.att", digest.replace(':', "-"));
    run.refused(&format!("image {reference}: checking signatures: {tag} layer 0 is about {other}, not {digest}: a signature or attestation replayed or attached to the wrong image"))?;
    fixture.store_is_empty()
}

fn signature_payload_for_another_digest() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let (_, victim) = fixture.push("victim", "v1", &[vec![Member::file("usr/bin/good", ELF, 0o755)]]);
    let (_, evil) = fixture.push("victim", "evil", &[vec![Member::file("usr/bin/evil", b"\x7fELF evil", 0o755)]]);
    // The trusted signature of the good image, copied under the evil image's digest.
    let signer = fixture.release_signer();
    let layer = fixture.signature("victim", &victim, &signer);
    cosign::push_cosign(&fixture.pusher, "victim", &evil, "sig", vec![layer]);
    let reference = format!("{}:evil", fixture.repository("victim"));
    let run = fixture.image(&["add", &reference]);
    run.refused(&format!("is about {victim}, not {evil}: a signature or attestation replayed"))?;
    fixture.store_is_empty()
}

fn member_climbing_out_with_dot_dot() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let evil = Member::Raw {
        kind: EntryType::Regular,
        name: b"usr/../../etc/cron.d/evil".to_vec(),
        link: Vec::new(),
        content: b"* * * * * root sh".to_vec(),
        mode: 0o644,
    };
    let (reference, digest) = signed(&mut fixture, "traversal", vec![Member::file("usr/bin/app", ELF, 0o755), evil]);
    let run = fixture.image(&["add", &reference]);
    let layer = &fixture.images_layer_digest(&digest);
    run.refused(&format!("image {reference}: reading layer 1 of 1 ({layer}): member \"usr/../../etc/cron.d/evil\": path climbs out of the archive's tree with '..'"))?;
    fixture.store_is_empty()?;
    ensure(!fixture.allowed(ELF), "not even the layer's good file")
}

fn hard_link_to_an_absolute_path() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    let evil = Member::Raw {
        kind: EntryType::Link,
        name: b"usr/bin/passwd-copy".to_vec(),
        link: b"/etc/shadow".to_vec(),
        content: Vec::new(),
        mode: 0o644,
    };
    let (reference, _) = signed(&mut fixture, "hardlink", vec![Member::file("usr/bin/app", ELF, 0o755), evil]);
    let run = fixture.image(&["add", &reference]);
    run.refused("member \"usr/bin/passwd-copy\": hard link target \"/etc/shadow\": absolute path")?;
    fixture.store_is_empty()
}

fn decompression_bomb() -> Result<(), Failed> {
    let mut fixture = Fixture::new()?;
    // 96 MiB of zeros: about 100 KiB of gzip, a ratio near 1000.
    let (reference, _) = signed(
        &mut fixture,
        "bomb",
        vec![Member::file("usr/bin/app", ELF, 0o755), Member::file("var/zeros", &vec![0u8; 96 << 20], 0o644)],
    );
    let run = fixture.image(&["add", &reference]);
    run.refused("refusing a decompression bomb")?;
    run.check(
        run.stderr.contains(&format!("image {reference}: reading layer 1 of 1")),
        "names the image and the layer",
    )?;
    fixture.store_is_empty()?;
    // The total bound, for an operator who wants a smaller one.
    let run = fixture.image(&["add", &reference, "--max-total-size", "1M"]);
    run.refused("the image's layers decompress to more than 1048576 bytes in all")?;
    fixture.store_is_empty()
}

fn malformed_reference() -> Result<(), Failed> {
    let fixture = Fixture::new()?;
    let run = fixture.image(&["add", "127.0.0.1:5000/app@sha256:1234"]);
    run.refused("provgate: \"127.0.0.1:5000/app@sha256:1234\" is not an image reference")?;
    let run = fixture.image(&["add", "UPPER/case:v1"]);
    run.refused("repository names are lowercase")?;
    let run = fixture.image(&["add", "app", "--platform", "linux"]);
    run.check(
        run.code == 2 && run.stderr.contains("is not a platform: expected OS/ARCH[/VARIANT]"),
        "a malformed platform is a usage error",
    )
}

impl Fixture {
    /// The digest of the only layer of the image `digest` in the registry's storage.
    fn images_layer_digest(&self, digest: &str) -> String {
        let manifest = std::fs::read(self.registry.blob_path(digest)).expect("the manifest blob");
        let manifest: serde_json::Value = serde_json::from_slice(&manifest).expect("JSON");
        manifest["layers"][0]["digest"].as_str().expect("a layer").to_owned()
    }
}
