//! `provgate sbom generate` and `provgate sbom inspect`, through the real binary.
mod common;

use std::collections::BTreeMap;

use common::{Provgate, build_output, expected_digests, record_digests, sha256_hex};

fn generate(fx: &Provgate, format: &str) -> std::path::PathBuf {
    let root = fx.path("out");
    let output = fx.path(format!("sbom.{format}.json"));
    let run = fx.run(&["sbom", "generate", root.to_str().unwrap(), "--format", format, "-o", output.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    output
}

fn inspect_json(fx: &Provgate, path: &std::path::Path) -> serde_json::Value {
    let run = fx.run(&["sbom", "inspect", "--json", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

#[test]
fn generated_sboms_round_trip_through_inspect() {
    let fx = common::provgate();
    let root = build_output(&fx);
    let expected = expected_digests(&root);
    assert_eq!(expected.len(), 5, "the symlink is not a regular file");
    for (format, name) in [("spdx-json", "spdx-json"), ("cyclonedx-json", "cyclonedx-json")] {
        let sbom = generate(&fx, format);
        let inspected = inspect_json(&fx, &sbom);
        assert_eq!(inspected["format"], name);
        assert_eq!(record_digests(&inspected), expected, "{format}");
        assert_eq!(inspected["files"], expected.len());
        assert_eq!(inspected["sha256_digests"], expected.len());
        assert_eq!(inspected["name"], "out");
        assert_eq!(inspected["sbom_sha256"], sha256_hex(&std::fs::read(&sbom).unwrap()));
        // SPDX 2 requires SHA-1 per file: it is there, counted, and never a record.
        let sha1 = if format == "spdx-json" { expected.len() } else { 0 };
        assert_eq!(inspected["skipped_algorithms"]["SHA-1"].as_u64().unwrap_or(0), sha1 as u64);
        for record in inspected["records"].as_array().unwrap() {
            assert_eq!(record["kind"], "file");
            assert!(record["package"].is_null());
        }
        // The plain form says the same in words.
        let text = fx.run(&["sbom", "inspect", sbom.to_str().unwrap()]);
        assert_eq!(text.code, 0);
        assert!(text.stdout.contains(&format!("files:      {}", expected.len())), "{}", text.stdout);
        assert!(text.stdout.contains(&format!("sha256:     {}", expected.len())), "{}", text.stdout);
    }
}

/// The records of a generated SBOM, re-written by hand in the formats `generate` does not
/// emit, read back the same.
#[test]
fn every_format_round_trips() {
    let fx = common::provgate();
    let root = build_output(&fx);
    let expected = expected_digests(&root);
    let inspected = inspect_json(&fx, &generate(&fx, "spdx-json"));
    let files: Vec<(String, String)> = record_digests(&inspected).into_iter().collect();
    let pkg_digest = sha256_hex(b"the package archive");

    let tag_value = {
        let mut doc = String::from(
            "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: by-hand\n\
             DocumentNamespace: https://example.com/by-hand\nCreator: Tool: test\nCreated: 2026-01-01T00:00:00Z\n\n",
        );
        doc += &format!(
            "PackageName: out\nSPDXID: SPDXRef-out\nPackageVersion: 1.0\nPackageFileName: out.tar\n\
             PackageChecksum: SHA256: {pkg_digest}\nExternalRef: PACKAGE-MANAGER purl pkg:generic/out@1.0\n\n"
        );
        for (i, (path, digest)) in files.iter().enumerate() {
            doc += &format!("FileName: ./{path}\nSPDXID: SPDXRef-f{i}\nFileChecksum: SHA256: {digest}\n\n");
        }
        doc
    };
    let spdx3 = {
        let mut graph = vec![
            serde_json::json!({"type": "SpdxDocument", "spdxId": "https://example.com/by-hand-3", "name": "by-hand"}),
            serde_json::json!({"type": "software_Package", "spdxId": "urn:out", "name": "out", "software_packageVersion": "1.0",
                "software_packageUrl": "pkg:generic/out@1.0",
                "verifiedUsing": [{"type": "Hash", "algorithm": "sha256", "hashValue": pkg_digest}]}),
        ];
        let mut ids = Vec::new();
        for (i, (path, digest)) in files.iter().enumerate() {
            ids.push(format!("urn:f{i}"));
            graph.push(serde_json::json!({"type": "software_File", "spdxId": format!("urn:f{i}"), "name": path,
                "verifiedUsing": [{"type": "Hash", "algorithm": "sha256", "hashValue": digest}]}));
        }
        graph.push(serde_json::json!({"type": "Relationship", "spdxId": "urn:r", "from": "urn:out", "relationshipType": "contains", "to": ids}));
        serde_json::json!({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": graph}).to_string()
    };
    let cyclonedx_xml = {
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
        let mut doc = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\" \
             serialNumber=\"urn:uuid:5b7e3c8a-1f0d-4c3e-9a6b-2d4f8e1c0a93\" version=\"1\">\n<metadata><component type=\"application\">\
             <name>by-hand</name></component></metadata>\n<components>\n",
        );
        doc += &format!(
            "<component type=\"application\"><name>out</name><version>1.0</version><hashes><hash alg=\"SHA-256\">{pkg_digest}</hash></hashes>\
             <purl>pkg:generic/out@1.0</purl><components>\n"
        );
        for (path, digest) in &files {
            doc += &format!(
                "<component type=\"file\"><name>{}</name><hashes><hash alg=\"SHA-256\">{digest}</hash></hashes></component>\n",
                escape(path)
            );
        }
        doc += "</components></component>\n</components>\n</bom>\n";
        doc
    };

    for (name, content, format) in [
        ("by-hand.spdx", tag_value, "spdx-tag-value"),
        ("by-hand.spdx3.json", spdx3, "spdx3-json-ld"),
        ("by-hand.cdx.xml", cyclonedx_xml, "cyclonedx-xml"),
    ] {
        let path = fx.write(name, content.as_bytes());
        let inspected = inspect_json(&fx, &path);
        assert_eq!(inspected["format"], format);
        let mut records = record_digests(&inspected);
        // The package's own digest names its archive in SPDX 2 (a record of that file); SPDX 3 and
        // CycloneDX name no file for it, so it is counted apart and never a record.
        if format == "spdx-tag-value" {
            assert_eq!(records.remove("out.tar").as_deref(), Some(pkg_digest.as_str()), "{format}");
            assert_eq!(inspected["packages_not_files"], 0, "{format}");
        } else {
            assert_eq!(inspected["packages_not_files"], 1, "{format}");
        }
        assert_eq!(records, expected, "{format}");
        let packages: BTreeMap<String, String> = inspected["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["sha256"].as_str().unwrap().to_owned(), r["package"]["purl"].as_str().unwrap_or("").to_owned()))
            .collect();
        assert!(
            packages.values().all(|p| p == "pkg:generic/out@1.0"),
            "{format}: every file belongs to the package: {packages:?}"
        );
    }
}

#[test]
fn a_malformed_digest_is_refused_naming_the_file_and_the_place() {
    let fx = common::provgate();
    let good = sha256_hex(b"x");
    let doc = format!(
        r#"{{"spdxVersion": "SPDX-2.3", "name": "bad", "files": [
  {{"SPDXID": "SPDXRef-a", "fileName": "a", "checksums": [{{"algorithm": "SHA256", "checksumValue": "{good}"}}]}},
  {{"SPDXID": "SPDXRef-b", "fileName": "b", "checksums": [{{"algorithm": "SHA256", "checksumValue": "{short}"}}]}}
]}}"#,
        short = &good[..63]
    );
    let path = fx.write("bad.spdx.json", doc.as_bytes());
    let run = fx.run(&["sbom", "inspect", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bad.spdx.json"), "{}", run.stderr);
    assert!(run.stderr.contains("$.files[1].checksums[0]"), "{}", run.stderr);
    assert!(run.stderr.contains("near line 4"), "{}", run.stderr);
    assert!(run.stderr.contains("expected 64 hex digits, found 63"), "{}", run.stderr);
    // The JSON form stays valid JSON and carries the error.
    let run = fx.run(&["sbom", "inspect", "--json", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let json = run.json();
    assert!(json["error"].as_str().unwrap().contains("$.files[1].checksums[0]"), "{json}");
}

#[test]
fn truncated_and_foreign_documents_are_refused_clearly() {
    let fx = common::provgate();
    build_output(&fx);
    let sbom = std::fs::read(generate(&fx, "cyclonedx-json")).unwrap();
    let truncated = fx.write("truncated.cdx.json", &sbom[..sbom.len() * 2 / 3]);
    let run = fx.run(&["sbom", "inspect", truncated.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("truncated.cdx.json") && run.stderr.contains("ends early"), "{}", run.stderr);
    assert!(run.stderr.contains("$.components["), "{}", run.stderr);

    for (name, content, says) in [
        ("notes.txt", &b"just some notes\n"[..], "not an SBOM"),
        ("empty.json", b"", "empty"),
        ("other.json", br#"{"kind": "something else"}"#, "none of spdxVersion"),
        (
            "rdf.xml",
            br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>"#,
            "RDF/XML is not supported",
        ),
    ] {
        let path = fx.write(name, content);
        let run = fx.run(&["sbom", "inspect", path.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{name}");
        assert!(run.stderr.contains(name) && run.stderr.contains(says), "{name}: {}", run.stderr);
    }
}

#[test]
fn generate_leaves_out_its_own_output_and_refuses_a_non_directory() {
    let fx = common::provgate();
    let root = build_output(&fx);
    let expected = expected_digests(&root);
    let output = root.join("sbom.json");
    let run =
        fx.run(&["sbom", "generate", root.to_str().unwrap(), "--format", "spdx-json", "-o", output.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(record_digests(&inspect_json(&fx, &output)), expected);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());

    let file = root.join("bin/tool");
    let run = fx.run(&["sbom", "generate", file.to_str().unwrap(), "--format", "spdx-json"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not a directory"), "{}", run.stderr);
}

#[test]
fn generate_is_reproducible_with_source_date_epoch() {
    let fx = common::provgate();
    let root = build_output(&fx);
    let run = common::Run::of(
        fx.command()
            .args(["sbom", "generate", root.to_str().unwrap(), "--format", "cyclonedx-json"])
            .env("SOURCE_DATE_EPOCH", "1700000000"),
    );
    let doc = run.json();
    assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
}
