//! `provgate register --sbom FILE --unsigned`, through the real binary and a real SQLite store.
mod common;

use std::{collections::BTreeSet, path::Path};

use common::{Provgate, build_output, expected_digests, sha256_hex};
use rusqlite::Connection;

fn generate(fx: &Provgate, format: &str) -> std::path::PathBuf {
    let output = fx.path(format!("sbom.{format}.json"));
    let root = fx.path("out");
    let run = fx.run(&["sbom", "generate", root.to_str().unwrap(), "--format", format, "-o", output.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    output
}

/// (hex digest, path, package) rows of the store, and the number of sources.
fn stored(db: &Path) -> (BTreeSet<(String, String, Option<String>)>, i64) {
    if !db.exists() {
        return (BTreeSet::new(), 0);
    }
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT sha256, path, package FROM source_digests").unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let sources = conn.query_row("SELECT count(*) FROM sources", [], |r| r.get(0)).unwrap();
    (rows, sources)
}

fn register(fx: &Provgate, sbom: &Path) -> common::Run {
    fx.run(&["register", "--sbom", sbom.to_str().unwrap(), "--unsigned", "--reason", "test build"])
}

#[test]
fn registers_every_file_digest_as_an_unsigned_source() {
    let fx = common::provgate();
    let root = build_output(&fx);
    let expected = expected_digests(&root);
    for format in ["spdx-json", "cyclonedx-json"] {
        let sbom = generate(&fx, format);
        let run = register(&fx, &sbom);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("UNSIGNED"), "{}", run.stdout);
    }
    let (rows, sources) = stored(&fx.db());
    assert_eq!(sources, 2);
    let digests: BTreeSet<&str> = rows.iter().map(|(d, _, _)| d.as_str()).collect();
    let wanted: BTreeSet<&str> = expected.values().map(String::as_str).collect();
    assert_eq!(digests, wanted);
    // Each source holds each file once, under the path its SBOM gives.
    assert_eq!(rows.len(), 2 * expected.len());
    for (path, digest) in &expected {
        assert!(rows.contains(&(digest.clone(), format!("./{path}"), None)), "{path} from SPDX");
        assert!(rows.contains(&(digest.clone(), path.clone(), None)), "{path} from CycloneDX");
    }
    let conn = Connection::open(fx.db()).unwrap();
    let (kind, name, detail, reason): (String, String, String, String) = conn
        .query_row("SELECT kind, name, detail, reason FROM sources ORDER BY id LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(kind, "sbom-unsigned");
    assert_eq!(name, "out");
    assert_eq!(reason, "test build");
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["format"], "spdx-json");
    assert_eq!(detail["signed"], false);
    assert!(detail["namespace"].as_str().unwrap().starts_with("https://spdx.org/spdxdocs/provgate-"));
    assert_eq!(detail["sbom_sha256"], sha256_hex(&std::fs::read(fx.path("sbom.spdx-json.json")).unwrap()));
    let audits: i64 =
        conn.query_row("SELECT count(*) FROM audit_log WHERE action = 'add-source'", [], |r| r.get(0)).unwrap();
    assert_eq!(audits, 2);
}

#[test]
fn package_records_keep_their_package() {
    let fx = common::provgate();
    let (file, library) = (sha256_hex(b"file"), sha256_hex(b"library"));
    let doc = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": "urn:uuid:0b0e6c4a-0f52-4d0c-8e7e-6f1c0d7a4b21",
  "components": [{{"type": "library", "name": "lib", "version": "3", "purl": "pkg:npm/lib@3",
    "hashes": [{{"alg": "SHA-256", "content": "{library}"}}],
    "components": [{{"type": "file", "name": "lib/index.js", "hashes": [{{"alg": "SHA-256", "content": "{file}"}}]}}]}}]}}"#
    );
    let sbom = fx.write("lib.cdx.json", doc.as_bytes());
    let run = register(&fx, &sbom);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The library's own hash names no file (a component known by its purl): said, not added.
    assert!(run.stderr.contains("1 package entries that are not files"), "{}", run.stderr);
    let (rows, _) = stored(&fx.db());
    let purl = Some("pkg:npm/lib@3".to_owned());
    assert_eq!(rows, BTreeSet::from([(file, "lib/index.js".into(), purl)]));
    let conn = Connection::open(fx.db()).unwrap();
    let detail: String = conn.query_row("SELECT detail FROM sources", [], |r| r.get(0)).unwrap();
    assert!(detail.contains("urn:uuid:0b0e6c4a-0f52-4d0c-8e7e-6f1c0d7a4b21"), "{detail}");
    assert!(detail.contains(r#""packages_not_files":1"#), "{detail}");

    // An SPDX package that names its file (an archive) is that file: recorded with its package.
    let fx = common::provgate();
    let archive = sha256_hex(b"archive");
    let doc = format!(
        r#"{{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "rel", "documentNamespace": "urn:rel",
  "packages": [{{"SPDXID": "SPDXRef-p", "name": "lib", "versionInfo": "3", "packageFileName": "lib-3.tgz",
    "checksums": [{{"algorithm": "SHA256", "checksumValue": "{archive}"}}]}}]}}"#
    );
    let sbom = fx.write("lib.spdx.json", doc.as_bytes());
    let run = register(&fx, &sbom);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(stored(&fx.db()).0, BTreeSet::from([(archive, "lib-3.tgz".into(), Some("lib@3".to_owned()))]));
}

#[test]
fn unsigned_must_be_said_and_can_be_forbidden() {
    let fx = common::provgate();
    build_output(&fx);
    let sbom = generate(&fx, "spdx-json");
    let s = sbom.to_str().unwrap();

    let run = fx.run(&["register", "--sbom", s]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--unsigned"), "{}", run.stderr);
    assert!(!fx.db().exists(), "nothing was even opened");

    let run = fx.run(&["register", "--sbom", s, "--unsigned", "--forbid-unsigned"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("forbidden by policy"), "{}", run.stderr);
    for value in ["1", "true", "yes"] {
        let run = common::Run::of(
            fx.command().args(["register", "--sbom", s, "--unsigned"]).env("PROVGATE_FORBID_UNSIGNED", value),
        );
        assert_eq!(run.code, 1, "PROVGATE_FORBID_UNSIGNED={value}");
        assert!(run.stderr.contains("forbidden by policy"), "{}", run.stderr);
    }
    assert!(!fx.db().exists());
    let run = common::Run::of(
        fx.command().args(["register", "--sbom", s, "--unsigned"]).env("PROVGATE_FORBID_UNSIGNED", "ture"),
    );
    assert_ne!(run.code, 0, "a typo in the policy does not allow");
    assert!(!fx.db().exists());
    for value in ["0", "false"] {
        let run = common::Run::of(
            fx.command().args(["register", "--sbom", s, "--unsigned"]).env("PROVGATE_FORBID_UNSIGNED", value),
        );
        assert_eq!(run.code, 0, "PROVGATE_FORBID_UNSIGNED={value}: {}", run.stderr);
    }
    // No evidence at all is a usage error.
    assert_eq!(fx.run(&["register", "--unsigned"]).code, 2);
}

#[test]
fn bad_sboms_are_refused_and_nothing_stored_is_lost() {
    let fx = common::provgate();
    build_output(&fx);
    let good = generate(&fx, "spdx-json");
    // Something already trusted by other means, and a first SBOM.
    let manual = fx.write("manual-bin", b"trusted by hand");
    assert_eq!(fx.run(&["allow", manual.to_str().unwrap()]).code, 0);
    assert_eq!(register(&fx, &good).code, 0);
    let before = stored(&fx.db());
    assert_eq!(before.1, 2);

    let text = std::fs::read_to_string(&good).unwrap();
    let first_digest = {
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["files"][0]["checksums"][0]["checksumValue"].as_str().unwrap().to_owned()
    };
    let only_sha1 = r#"{"spdxVersion": "SPDX-2.3", "name": "sha1 only", "files": [
  {"SPDXID": "SPDXRef-a", "fileName": "a", "checksums": [{"algorithm": "SHA1", "checksumValue": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}]}]}"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.json", text.as_bytes()[..text.len() / 2].to_vec(), "ends early"),
        ("bad-hex.json", text.replacen(&first_digest, &first_digest.replace(|c: char| c.is_ascii_digit(), "z"), 1).into_bytes(), "$.files[0].checksums[0]"),
        ("wrong-format.txt", b"hello, I am not an SBOM\n".to_vec(), "not an SBOM"),
        ("sha1-only.json", only_sha1.as_bytes().to_vec(), "no SHA-256 digest"),
        ("bad.xml", b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"><components><component type=\"file\"><name>x</name><hashes><hash alg=\"SHA-256\">abc</hash></hashes></component></components></bom>".to_vec(), "/bom/components/component[0]/hashes/hash[0]"),
        ("bad.spdx", b"SPDXVersion: SPDX-2.3\nDocumentName: x\nFileName: a\nSPDXID: SPDXRef-a\nFileChecksum: SHA256: nothex\n".to_vec(), "line 5"),
    ];
    for (name, content, says) in cases {
        let path = fx.write(name, &content);
        let run = register(&fx, &path);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{name}: {}", run.stderr);
        assert!(run.stderr.contains("nothing was added"), "{name}: {}", run.stderr);
        assert_eq!(stored(&fx.db()), before, "{name} changed the store");
    }
    let conn = Connection::open(fx.db()).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn duplicate_entries_are_stored_once_per_path() {
    let fx = common::provgate();
    let d = sha256_hex(b"same content");
    let file = |path: &str| {
        format!(r#"{{"type": "file", "name": "{path}", "hashes": [{{"alg": "SHA-256", "content": "{d}"}}]}}"#)
    };
    let doc = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{}, {}, {}]}}"#,
        file("a"),
        file("a"),
        file("b")
    );
    let sbom = fx.write("dup.cdx.json", doc.as_bytes());
    let inspected = fx.run(&["sbom", "inspect", "--json", sbom.to_str().unwrap()]).json();
    assert_eq!(inspected["records"].as_array().unwrap().len(), 3, "inspect shows the document as it is");
    assert_eq!(register(&fx, &sbom).code, 0);
    let (rows, _) = stored(&fx.db());
    assert_eq!(rows, BTreeSet::from([(d.clone(), "a".into(), None), (d, "b".into(), None)]));
}

/// The CycloneDX specification's own examples of component hashes (of every version the
/// corpora hold, found there rather than listed here) hash libraries, not files: each is a
/// package entry that is not a file, so registering the example is refused and adds nothing.
#[test]
fn the_specification_examples_hash_packages_not_files() {
    let Some(resources) = provgate_test_support::corpus("cyclonedx-specification/tools/src/test/resources") else {
        return;
    };
    let mut examples = Vec::new();
    for entry in std::fs::read_dir(&resources).unwrap() {
        let version = entry.unwrap().file_name().to_string_lossy().into_owned();
        let path = resources.join(&version).join(format!("valid-component-hashes-{version}.json"));
        if path.is_file() {
            examples.push((version, path));
        }
    }
    examples.sort();
    let versions: Vec<&str> = examples.iter().map(|(v, _)| v.as_str()).collect();
    assert!(versions.len() >= 3, "1.5, 1.6 and 1.7 at least; found {versions:?} in {}", resources.display());
    for (version, path) in examples {
        let fx = common::provgate();
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let hashed = doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] != "file")
            .filter(|c| c["hashes"].as_array().is_some_and(|h| h.iter().any(|h| h["alg"] == "SHA-256")))
            .count();
        assert!(hashed > 0, "{version}");
        let run = register(&fx, &path);
        assert_eq!(run.code, 1, "{version}: {}", run.stdout);
        let said = format!("{hashed} package entries with a SHA-256 that are not files");
        assert!(run.stderr.contains(&said), "{version}: expected {said:?} in {}", run.stderr);
        assert!(stored(&fx.db()).0.is_empty(), "{version}");
    }
}
