//! The library against Debian's docker-registry on loopback: what the command line does not
//! show (SBOM attestations through the SBOM seam, attestations and signatures not used, where
//! signatures may sit) and answers no registry sends willingly (oversized or mislabelled
//! manifests). Without docker-registry these tests fail when CI=true and skip otherwise.
use std::{
    cell::RefCell,
    io::{Read as _, Write as _},
    net::TcpListener,
};

use provgate_attestations::{BundleVerifier, DigestRecord, SbomFamily, SbomReader, TrustPolicy, TrustRoot};
use provgate_attestations_testkit::{Identity, PrivateSigstore, Signer};
use provgate_oci::{
    Digest, ImageError, ImageOptions, ImageReference, ImageVerifier, Problem, RegistryConfig, Step, TrustedImage,
    signed::Location,
};
use provgate_oci_testkit::{Image, Member, Pusher, Registry, cosign, oci};
use serde_json::json;

const ELF: &[u8] = b"\x7fELF in the layer";
const SPDX: &str = "https://spdx.dev/Document";

fn registry() -> Option<Registry> {
    match provgate_oci_testkit::registry::tools() {
        Ok(()) => Some(Registry::start().expect("start docker-registry")),
        Err(missing) => provgate_test_support::missing(missing),
    }
}

/// Records the SBOMs it is given and lists one file per SBOM.
#[derive(Default)]
struct RecordingReader {
    seen: RefCell<Vec<(SbomFamily, String)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("this SBOM cannot be read")]
struct Unreadable;

impl SbomReader for RecordingReader {
    type Error = Unreadable;
    fn files(&self, format: SbomFamily, document: &str) -> Result<Vec<DigestRecord>, Unreadable> {
        if document.contains("unreadable") {
            return Err(Unreadable);
        }
        self.seen.borrow_mut().push((format, document.to_owned()));
        Ok(vec![DigestRecord {
            sha256: Digest::of(b"a file the SBOM lists"),
            path: Some("/opt/listed".into()),
            package: Some("pkg".into()),
        }])
    }
}

struct World {
    registry: Registry,
    pusher: Pusher,
    sigstore: PrivateSigstore,
    verifier: BundleVerifier,
    policy: TrustPolicy,
}

impl World {
    fn new(registry: Registry) -> Self {
        let sigstore = PrivateSigstore::new();
        let root = TrustRoot::from_json("test root", &sigstore.trusted_root().to_string()).unwrap();
        let policy = TrustPolicy::from_toml(
            "policy.toml",
            &format!(
                r#"version = 1
[[signer]]
name = "release"
issuer = "https://accounts.example"
identity = "release@acme.example"
predicate_types = ["{SPDX}"]
artifact_signatures = true
"#
            ),
            std::path::Path::new("."),
        )
        .unwrap();
        let pusher = registry.pusher();
        Self { verifier: BundleVerifier::new(&root).unwrap(), registry, pusher, sigstore, policy }
    }

    fn release(&self) -> Signer {
        self.sigstore.keyless(&Identity::email("release@acme.example", "https://accounts.example"))
    }

    fn push(&self, repository: &str, members: Vec<Member>) -> (Image, String) {
        let image = Image::new(vec![oci::layer(&members, oci::LAYER_GZIP)]);
        let digest = self.pusher.image(repository, "v1", &image);
        (image, digest)
    }

    fn sign(&mut self, repository: &str, digest: &str, signers: &[&Signer]) {
        let options = self.sigstore.default_options();
        let name = self.registry.repository(repository);
        let layers =
            signers.iter().map(|s| cosign::signature_layer(&mut self.sigstore, s, &name, digest, &options)).collect();
        cosign::push_cosign(&self.pusher, repository, digest, "sig", layers);
    }

    fn attest(&mut self, repository: &str, digest: &str, signer: &Signer, predicate: serde_json::Value) {
        let statement = cosign::image_statement(&self.registry.repository(repository), digest, SPDX, predicate);
        let options = self.sigstore.default_options();
        let layer = cosign::attestation_layer(&mut self.sigstore, signer, &statement, &options);
        cosign::push_cosign(&self.pusher, repository, digest, "att", vec![layer]);
    }

    fn verify<R: SbomReader>(
        &self,
        reference: &str,
        sbom: &R,
        options: &ImageOptions,
    ) -> Result<TrustedImage, ImageError> {
        let reference: ImageReference = reference.parse().unwrap();
        let registries = RegistryConfig::anonymous();
        let images = ImageVerifier { verifier: &self.verifier, policy: &self.policy, sbom, registries: &registries };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(images.verify(&reference, options))
    }
}

#[test]
fn sbom_attestations_go_through_the_sbom_seam() {
    let Some(registry) = registry() else { return };
    let mut world = World::new(registry);
    let (_, digest) = world.push("app", vec![Member::file("usr/bin/app", ELF, 0o755)]);
    let release = world.release();
    world.sign("app", &digest, &[&release]);
    let spdx = json!({ "spdxVersion": "SPDX-2.3", "name": "app" });
    world.attest("app", &digest, &release, spdx.clone());
    let reader = RecordingReader::default();
    let reference = format!("{}:v1", world.registry.repository("app"));
    let image = world.verify(&reference, &reader, &ImageOptions::default()).unwrap();
    assert_eq!(
        *reader.seen.borrow(),
        vec![(SbomFamily::Spdx, spdx.to_string())],
        "the predicate reaches the reader as signed"
    );
    assert_eq!(image.attestations.len(), 1);
    let listed = Digest::of(b"a file the SBOM lists");
    assert_eq!(image.sbom_files.len(), 1, "the image digest (the statement's subject) is not a file");
    assert_eq!((image.sbom_files[0].sha256, image.sbom_files[0].path.as_deref()), (listed, Some("/opt/listed")));
    let allowlist: Vec<Digest> = image.allowlist().iter().map(|d| d.sha256).collect();
    assert_eq!(allowlist, vec![Digest::of(ELF), listed]);
    // Only the SBOM, when layer contents are not asked for.
    let image =
        world.verify(&reference, &reader, &ImageOptions { layer_contents: false, ..ImageOptions::default() }).unwrap();
    assert_eq!(image.allowlist().iter().map(|d| d.sha256).collect::<Vec<_>>(), vec![listed]);
    assert_eq!(image.layer_stats.compressed_bytes, 0, "no layer was read");
}

#[test]
fn an_unreadable_sbom_refuses_the_image() {
    let Some(registry) = registry() else { return };
    let mut world = World::new(registry);
    let (_, digest) = world.push("app", vec![Member::file("usr/bin/app", ELF, 0o755)]);
    let release = world.release();
    world.sign("app", &digest, &[&release]);
    world.attest("app", &digest, &release, json!({ "spdxVersion": "unreadable" }));
    let reference = format!("{}:v1", world.registry.repository("app"));
    let err = world.verify(&reference, &RecordingReader::default(), &ImageOptions::default()).unwrap_err();
    assert_eq!(err.step, Step::Attestations);
    assert!(matches!(*err.problem, Problem::Sbom { .. }), "{err}");
    let tag = format!("{}.att", digest.replace(':', "-"));
    assert_eq!(
        err.to_string(),
        format!(
            "image {reference}: reading attestations: {tag} layer 0: reading the SPDX SBOM: this SBOM cannot be read"
        )
    );
}

#[test]
fn signatures_and_attestations_of_others_are_reported_not_used() {
    let Some(registry) = registry() else { return };
    let mut world = World::new(registry);
    let (_, digest) = world.push("app", vec![Member::file("usr/bin/app", ELF, 0o755)]);
    let release = world.release();
    let scanner = world.sigstore.keyless(&Identity::email("scanner@thirdparty.example", "https://accounts.example"));
    // A third party's signature beside the release's, and its SBOM attestation.
    world.sign("app", &digest, &[&scanner, &release]);
    world.attest("app", &digest, &scanner, json!({ "spdxVersion": "SPDX-2.3" }));
    let reader = RecordingReader::default();
    let image =
        world.verify(&format!("{}:v1", world.registry.repository("app")), &reader, &ImageOptions::default()).unwrap();
    assert_eq!(image.signatures.len(), 1);
    assert_eq!(
        image.signature().location,
        Location::CosignTag { tag: format!("{}.sig", digest.replace(':', "-")), layer: 1 }
    );
    assert_eq!(image.not_used.len(), 2, "{:?}", image.not_used);
    assert!(image.not_used[0].reason.starts_with("signature: identity check failed"), "{:?}", image.not_used[0]);
    assert!(
        image.not_used[1].reason.starts_with(&format!("attestation ({SPDX}): identity check failed")),
        "{:?}",
        image.not_used[1]
    );
    assert!(reader.seen.borrow().is_empty(), "an untrusted SBOM is never read");
    assert!(image.sbom_files.is_empty());
    let detail = image.detail();
    assert_eq!(detail["not_used"].as_array().unwrap().len(), 2);
    assert_eq!(detail["signer"], "release@acme.example");
}

#[test]
fn a_signature_of_the_platform_manifest_is_enough() {
    let Some(registry) = registry() else { return };
    let mut world = World::new(registry);
    let (image, digest) = world.push("multi", vec![Member::file("usr/bin/app", ELF, 0o755)]);
    let index = oci::index(&[("linux/amd64", image.descriptor())]);
    let index_digest = world.pusher.index("multi", "v2", &index);
    let release = world.release();
    world.sign("multi", &digest, &[&release]);
    let trusted = world
        .verify(
            &format!("{}:v2", world.registry.repository("multi")),
            &RecordingReader::default(),
            &ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(trusted.digest.to_string(), digest);
    assert_eq!(
        trusted.index.as_ref().map(|(d, p)| (d.to_string(), p.to_string())),
        Some((index_digest, "linux/amd64".to_owned()))
    );
    assert_eq!(trusted.signature().subject.to_string(), digest);
}

/// A server answering every request with `answer(path)`.
fn serve(answer: fn(&str) -> Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap_or(0);
            let text = String::from_utf8_lossy(&request[..n]).into_owned();
            let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let _ = stream.write_all(&answer(&path));
        }
    });
    port
}

fn verify_at(port: u16) -> ImageError {
    let sigstore = PrivateSigstore::new();
    let root = TrustRoot::from_json("root", &sigstore.trusted_root().to_string()).unwrap();
    let verifier = BundleVerifier::new(&root).unwrap();
    let policy = TrustPolicy::nothing_trusted();
    let registries = RegistryConfig::anonymous();
    let images = ImageVerifier {
        verifier: &verifier,
        policy: &policy,
        sbom: &RecordingReader::default(),
        registries: &registries,
    };
    let reference: ImageReference = format!("127.0.0.1:{port}/app:v1").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(images.verify(&reference, &ImageOptions::default())).unwrap_err()
}

fn http(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut answer =
        format!("HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    answer.extend_from_slice(body);
    answer
}

#[test]
fn oversized_manifests_are_refused_before_they_are_read() {
    let port = serve(|_| http("Content-Type: application/vnd.oci.image.manifest.v1+json\r\n", &vec![b' '; 5 << 20]));
    let err = verify_at(port);
    assert_eq!(
        err.to_string(),
        format!(
            "image 127.0.0.1:{port}/app:v1: resolving the reference: manifest app:v1 is larger than the 4194304 bytes allowed"
        )
    );
}

#[test]
fn a_manifest_whose_digest_the_registry_misnames_is_refused() {
    let port = serve(|_| {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]}"#;
        let header = format!("Docker-Content-Digest: sha256:{}\r\n", "1".repeat(64));
        http(&header, body)
    });
    let err = verify_at(port);
    assert!(
        err.to_string().contains(&format!(
            "manifest app:v1: the registry names it sha256:{}, but its content has digest sha256:",
            "1".repeat(64)
        )),
        "{err}"
    );
}

#[test]
fn unreadable_signatures_are_named_when_the_image_is_refused() {
    let Some(registry) = registry() else { return };
    let world = World::new(registry);
    let (_, digest) = world.push("app", vec![Member::file("usr/bin/app", ELF, 0o755)]);
    let garbage = provgate_oci_testkit::Blob::new(cosign::SIMPLE_SIGNING, b"{not json".to_vec());
    cosign::push_cosign(&world.pusher, "app", &digest, "sig", vec![garbage]);
    let reference = format!("{}:v1", world.registry.repository("app"));
    let err = world.verify(&reference, &RecordingReader::default(), &ImageOptions::default()).unwrap_err();
    assert_eq!(err.step, Step::Signatures);
    let tag = format!("{}.sig", digest.replace(':', "-"));
    assert!(
        err.to_string().starts_with(&format!("image {reference}: checking signatures: no signature by a signer policy.toml trusts to sign images: {tag} layer 0: simple-signing payload: ")),
        "{err}"
    );
}

#[test]
fn a_signature_altered_in_the_registry_is_not_used() {
    let Some(registry) = registry() else { return };
    let mut world = World::new(registry);
    let (_, digest) = world.push("app", vec![Member::file("usr/bin/app", ELF, 0o755)]);
    let release = world.release();
    let options = world.sigstore.default_options();
    let name = world.registry.repository("app");
    let first = cosign::signature_layer(&mut world.sigstore, &release, &name, &digest, &options);
    let mut second = first.clone();
    // Another payload for the same image (cosign adds an "optional" map), so a second blob.
    second.bytes = cosign::simple_signing(&format!("{name}-copy"), &digest);
    let second = cosign::signature_layer_of(&mut world.sigstore, &release, second.bytes, &options);
    cosign::push_cosign(&world.pusher, "app", &digest, "sig", vec![first.clone(), second]);
    let path = world.registry.blob_path(&first.digest());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let image = world.verify(&format!("{name}:v1"), &RecordingReader::default(), &ImageOptions::default()).unwrap();
    assert_eq!(image.signatures.len(), 1);
    assert_eq!(image.not_used.len(), 1);
    assert!(
        image.not_used[0].reason.starts_with(&format!("blob {}: the registry sent", first.digest())),
        "{:?}",
        image.not_used
    );
}
