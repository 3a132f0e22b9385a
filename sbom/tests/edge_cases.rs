//! Hand-made documents at the edges: duplicates, empty documents, unknown fields, huge strings,
//! deep nesting, truncation, malformed digests, and the limits that bound memory.
mod common;

use common::{read, read_with, sha1, sha256, triples};
use provgate_sbom::{Format, Limits, SbomError};

fn spdx_with_files(files: &[String]) -> String {
    format!(
        r#"{{"spdxVersion": "SPDX-2.3", "name": "n", "documentNamespace": "urn:n", "files": [{}]}}"#,
        files.join(",")
    )
}

fn spdx_file(id: &str, path: &str, alg: &str, value: &str) -> String {
    format!(
        r#"{{"SPDXID": "{id}", "fileName": "{path}", "checksums": [{{"algorithm": "{alg}", "checksumValue": "{value}"}}]}}"#
    )
}

fn cdx(components: &str) -> String {
    format!(r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{components}]}}"#)
}

fn cdx_file(path: &str, alg: &str, value: &str) -> String {
    format!(r#"{{"type": "file", "name": "{path}", "hashes": [{{"alg": "{alg}", "content": "{value}"}}]}}"#)
}

fn err(doc: &str) -> SbomError {
    read(doc).expect_err("the document must be refused")
}

#[test]
fn duplicate_entries_are_kept_and_duplicate_keys_refused() {
    let d = sha256(1);
    let (summary, records) =
        read(&spdx_with_files(&[spdx_file("SPDXRef-a", "a", "SHA256", &d), spdx_file("SPDXRef-a", "a", "SHA256", &d)]))
            .unwrap();
    assert_eq!((summary.files, records.len()), (2, 2), "the store dedupes; the reader shows the document as it is");

    let twice = format!(
        r#"{{"spdxVersion": "SPDX-2.3", "files": [], "files": [{}]}}"#,
        spdx_file("SPDXRef-a", "a", "SHA256", &d)
    );
    let e = err(&twice);
    assert!(e.to_string().contains("$.files") && e.to_string().contains("appears twice"), "{e}");

    let field_twice = r#"{"spdxVersion": "SPDX-2.3", "files": [{"fileName": "a", "fileName": "b", "checksums": []}]}"#;
    let e = err(field_twice);
    assert!(e.to_string().contains("$.files[0]") && e.to_string().contains("duplicate field"), "{e}");

    let hashes_twice = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "file", "hashes": [], "hashes": []}]}"#;
    assert!(err(hashes_twice).to_string().contains("$.components[0]"));

    let syft_files_twice =
        r#"{"descriptor": {"name": "syft"}, "schema": {"version": "16.0.18"}, "files": [], "files": []}"#;
    let e = err(syft_files_twice);
    assert!(e.to_string().contains("$.files") && e.to_string().contains("appears twice"), "{e}");
    let syft_path_twice = r#"{"descriptor": {"name": "syft"}, "schema": {"version": "16.0.18"}, "files": [{"location": {"path": "/a", "path": "/b"}}]}"#;
    assert!(err(syft_path_twice).to_string().contains("$.files[0]"));

    // Two different SHA-256 for one file cannot both be right.
    let conflicting = cdx(&format!(
        r#"{{"type": "file", "name": "f", "hashes": [{{"alg": "SHA-256", "content": "{}"}}, {{"alg": "SHA-256", "content": "{}"}}]}}"#,
        sha256(1),
        sha256(2)
    ));
    let e = err(&conflicting);
    assert!(matches!(e, SbomError::Digest { .. }) && e.to_string().contains("$.components[0].hashes[1]"), "{e}");
}

#[test]
fn empty_documents() {
    for (doc, format) in [
        (r#"{"spdxVersion": "SPDX-2.3"}"#.to_owned(), Format::SpdxJson),
        (cdx(""), Format::CyclonedxJson),
        ("SPDXVersion: SPDX-2.3\n".to_owned(), Format::SpdxTagValue),
        (
            r#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}"#.to_owned(),
            Format::Spdx3JsonLd,
        ),
        (r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>"#.to_owned(), Format::CyclonedxXml),
    ] {
        let (summary, records) = read(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert_eq!(summary.format, format);
        assert!(records.is_empty());
        assert!(summary.problems.iter().any(|p| p.message.contains("no SHA-256 digest in the document")), "{format}");
    }
    for doc in ["", "   \n", "{}", "[]", "\u{feff}"] {
        assert!(matches!(err(doc), SbomError::UnknownFormat(_)), "{doc:?}");
    }
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let doc = format!("\u{feff}{}", cdx(&cdx_file("f", "SHA-256", &sha256(3))));
    assert_eq!(read(&doc).unwrap().1.len(), 1);
}

#[test]
fn unknown_fields_and_elements_are_ignored_whatever_their_shape() {
    let doc = format!(
        r#"{{"bomFormat": "CycloneDX", "x-vendor": {{"components": [{{"hashes": "not even a list"}}]}}, "specVersion": "1.6",
  "components": [{{"type": "file", "name": "f", "evidence": {{"hashes": [1, {{"deep": [[[]]]}}]}}, "properties": [],
    "hashes": [{{"alg": "SHA-256", "content": "{}", "x-note": null}}]}}],
  "services": [{{"name": "s", "hashes": "ignored"}}], "extra": 1.5e300}}"#,
        sha256(4)
    );
    assert_eq!(triples(&read(&doc).unwrap().1), vec![(sha256(4), Some("f".into()), None)]);
}

#[test]
fn huge_strings_are_refused_before_they_are_held() {
    let limits = Limits { max_string_bytes: 1000, ..Limits::default() };
    let long = "x".repeat(2000);
    let cases = [
        spdx_with_files(&[spdx_file("SPDXRef-a", &long, "SHA256", &sha256(1))]),
        cdx(&format!(r#"{{"type": "library", "description": "{long}"}}"#)),
        format!("SPDXVersion: SPDX-2.3\nDocumentComment: {long}\n"),
        format!("SPDXVersion: SPDX-2.3\nDocumentComment: <text>{}</text>\n", "short line\n".repeat(200)),
        format!(
            r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="file"><name>{long}</name></component></components></bom>"#
        ),
    ];
    for doc in cases {
        match read_with(doc.as_bytes(), &limits) {
            Err(e @ SbomError::Limit { .. }) => {
                assert!(e.to_string().contains("limit of 1000"), "{e}")
            }
            other => panic!("expected a limit error, got {other:?}"),
        }
    }
    // The default limit holds a long license text but not an absurd string.
    let big = "y".repeat(5 << 20);
    let e = read(&cdx(&format!(r#"{{"type": "library", "name": "{big}"}}"#))).unwrap_err();
    assert!(matches!(e, SbomError::Limit { .. }) && e.to_string().contains("$.components[0]"), "{e}");
}

fn nested_json(depth: usize, leaf: &str) -> String {
    let mut doc = leaf.to_owned();
    for i in 0..depth {
        doc = format!(r#"{{"type": "library", "name": "lib{i}", "components": [{doc}]}}"#);
    }
    cdx(&doc)
}

fn nested_xml(depth: usize, leaf: &str) -> String {
    let mut doc = leaf.to_owned();
    for i in 0..depth {
        doc = format!(r#"<component type="library"><name>lib{i}</name><components>{doc}</components></component>"#);
    }
    format!(r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>{doc}</components></bom>"#)
}

#[test]
fn deep_nesting_is_bounded_and_shallower_nesting_attributes_files() {
    let d = sha256(5);
    let json_leaf = cdx_file("deep/file", "SHA-256", &d);
    let xml_leaf = format!(
        r#"<component type="file"><name>deep/file</name><hashes><hash alg="SHA-256">{d}</hash></hashes></component>"#
    );
    for doc in [nested_json(20, &json_leaf), nested_xml(20, &xml_leaf)] {
        let (summary, records) = read(&doc).unwrap();
        assert_eq!(summary.packages, 20);
        // The innermost library (named last in the loop, lib0) owns the file.
        assert_eq!(triples(&records), vec![(d.clone(), Some("deep/file".into()), Some("lib0".into()))]);
    }
    for doc in [nested_json(500, &json_leaf), nested_xml(500, &xml_leaf)] {
        match read(&doc) {
            Err(e @ SbomError::Limit { what: "nesting", .. }) => assert!(e.to_string().contains("limit of 100"), "{e}"),
            other => panic!("expected a nesting limit, got {:?}", other.map(|(s, _)| s)),
        }
    }
    // A bracket bomb is refused at the limit, not by running out of stack.
    let bomb = format!(r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": {}}}"#, "[".repeat(1_000_000));
    assert!(matches!(read(&bomb), Err(SbomError::Limit { what: "nesting", .. })));
}

#[test]
fn truncated_documents_say_so() {
    let full = spdx_with_files(&[
        spdx_file("SPDXRef-a", "a", "SHA256", &sha256(6)),
        spdx_file("SPDXRef-b", "b", "SHA256", &sha256(7)),
    ]);
    let cut = &full[..full.len() - 40];
    let e = err(cut);
    // Found by the first pass, which skips over the files.
    assert!(matches!(e, SbomError::Truncated { .. }) && e.to_string().contains("at $.files"), "{e}");

    let xml = nested_xml(2, "");
    let e = err(&xml[..xml.len() - 20]);
    assert!(matches!(e, SbomError::Truncated { .. }) && e.to_string().contains("/bom/components"), "{e}");

    let e = err("SPDXVersion: SPDX-2.3\nDocumentComment: <text>never\nclosed\n");
    assert!(matches!(e, SbomError::Truncated { .. }) && e.to_string().contains("line 2"), "{e}");
}

#[test]
fn malformed_digests_name_their_place_in_every_format() {
    let bad = "g".repeat(64);
    let cases = [
        (
            spdx_with_files(&[
                spdx_file("SPDXRef-a", "a", "SHA256", &sha256(1)),
                spdx_file("SPDXRef-b", "b", "SHA1", &bad[..40]),
            ]),
            "$.files[1].checksums[0]",
        ),
        (
            cdx(&format!("{},{}", cdx_file("a", "SHA-256", &sha256(1)), cdx_file("b", "MD5", "abc"))),
            "$.components[1].hashes[0]",
        ),
        (cdx(&cdx_file("a", "SHA-257", &sha256(1))), "$.components[0].hashes[0]"),
        (format!("SPDXVersion: SPDX-2.3\nFileName: a\nFileChecksum: SHA256 {}\n", sha256(1)), "line 3"),
        (format!("SPDXVersion: SPDX-2.3\nPackageName: p\nPackageChecksum: SHA256: {}\n", &sha256(1)[1..]), "line 3"),
        (
            format!(
                r#"{{"@context": "https://spdx.org/rdf/3.0.0/spdx-context.jsonld", "@graph": [{{"type": "software_File", "name": "a",
  "verifiedUsing": [{{"type": "Hash", "algorithm": "sha1", "hashValue": "{}"}}, {{"type": "Hash", "algorithm": "sha256", "hashValue": "{bad}"}}]}}]}}"#,
                sha1(1)
            ),
            "$.@graph[0].verifiedUsing[1]",
        ),
        (
            format!(
                r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="file"><hashes><hash alg="SHA-256">{}</hash><hash alg="SHA-1">zz</hash></hashes></component></components></bom>"#,
                sha256(1)
            ),
            "/bom/components/component[0]/hashes/hash[1]",
        ),
    ];
    let syft = format!(
        r#"{{"descriptor": {{"name": "syft"}}, "schema": {{"version": "16.0.18"}}, "files": [
  {{"location": {{"path": "/a"}}, "digests": [{{"algorithm": "sha256", "value": "{}"}}]}},
  {{"location": {{"path": "/b"}}, "digests": [{{"algorithm": "sha256", "value": "{bad}"}}]}}]}}"#,
        sha256(1)
    );
    for (doc, place) in cases.into_iter().chain([(syft, "$.files[1].digests[0]")]) {
        let e = err(&doc);
        assert!(e.to_string().contains(place), "{place}: {e}");
    }
}

#[test]
fn unsupported_versions_and_foreign_content_are_refused() {
    for (doc, version) in [
        (r#"{"spdxVersion": "SPDX-2.1", "files": []}"#.to_owned(), "SPDX-2.1"),
        (r#"{"bomFormat": "CycloneDX", "specVersion": "2.0"}"#.to_owned(), "2.0"),
        (r#"{"@context": "https://spdx.org/rdf/3.1/spdx-context.jsonld", "@graph": []}"#.to_owned(), "3.1"),
        ("SPDXVersion: SPDX-3.0\n".to_owned(), "SPDX-3.0"),
        (r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.1"/>"#.to_owned(), "bom/1.1"),
        (r#"{"descriptor": {"name": "syft"}, "schema": {"version": "17.0.0"}}"#.to_owned(), "17.0.0"),
    ] {
        let e = err(&doc);
        assert!(matches!(e, SbomError::UnsupportedVersion { .. }) && e.to_string().contains(version), "{e}");
    }
    let e = err(r#"{"bomFormat": "SPDX", "specVersion": "1.6"}"#);
    assert!(e.to_string().contains("bomFormat"), "{e}");
    let dtd =
        r#"<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaa">]><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>"#;
    assert!(err(dtd).to_string().contains("DTD"));
    let e = err("SPDXVersion: SPDX-2.3\nthis line has no tag\n");
    assert!(e.to_string().contains("line 2"), "{e}");
}

#[test]
fn the_package_index_is_bounded_and_only_attribution_degrades() {
    let files: Vec<String> =
        (0..50).map(|i| spdx_file(&format!("SPDXRef-f{i}"), &format!("f{i}"), "SHA256", &sha256(i))).collect();
    let contains: Vec<String> = (0..50)
        .map(|i| {
            format!(r#"{{"spdxElementId": "SPDXRef-p", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-f{i}"}}"#)
        })
        .collect();
    let doc = format!(
        r#"{{"spdxVersion": "SPDX-2.3", "packages": [{{"SPDXID": "SPDXRef-p", "name": "p"}}], "files": [{}], "relationships": [{}]}}"#,
        files.join(","),
        contains.join(",")
    );
    let (_, records) = read(&doc).unwrap();
    assert!(records.iter().all(|r| r.package.as_ref().and_then(|p| p.name.as_deref()) == Some("p")));

    let limits = Limits { max_index_bytes: 400, ..Limits::default() };
    let (summary, records) = read_with(doc.as_bytes(), &limits).unwrap();
    assert_eq!(records.len(), 50, "every digest is still there");
    let attributed = records.iter().filter(|r| r.package.is_some()).count();
    assert!(attributed > 0 && attributed < 50, "{attributed}");
    assert!(summary.problems.iter().any(|p| p.message.contains("max_index_bytes")), "{:?}", summary.problems);
}

#[test]
fn problems_are_bounded_and_counted() {
    let files: Vec<String> =
        (0..250).map(|i| spdx_file(&format!("SPDXRef-f{i}"), &format!("f{i}"), "MD5", &"00".repeat(16))).collect();
    let limits = Limits { max_problems: 100, ..Limits::default() };
    let (summary, _) = read_with(spdx_with_files(&files).as_bytes(), &limits).unwrap();
    assert_eq!(summary.problems.len(), 100);
    // 250 files without SHA-256 and the document-wide warning.
    assert_eq!(summary.problems_not_shown, 151);
    assert_eq!(summary.skipped_algorithms.get("MD5"), Some(&250));
}

#[test]
fn waiting_files_are_bounded() {
    // Files whose package's name comes after them wait; past the limit they go without it.
    let files: Vec<String> = (0..10).map(|i| cdx_file(&format!("f{i}"), "SHA-256", &sha256(i))).collect();
    let doc = cdx(&format!(r#"{{"components": [{}], "type": "library", "name": "late"}}"#, files.join(",")));
    let limits = Limits { max_deferred_records: 4, ..Limits::default() };
    let (summary, records) = read_with(doc.as_bytes(), &limits).unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(records.iter().filter(|r| r.package.is_some()).count(), 4);
    assert_eq!(summary.problems.iter().filter(|p| p.message.contains("max_deferred_records")).count(), 6);
}
