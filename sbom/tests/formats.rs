//! Each format read from real, hand-made documents: files, packages, and which package a file
//! belongs to.
mod common;

use common::{read, sha1, sha256, triples};
use provgate_sbom::{Format, RecordKind};

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn spdx_2_3_json_with_relationships_after_the_files() {
    let (a, b, pkg) = (sha256(1), sha256(2), sha256(3));
    let doc = format!(
        r#"{{
  "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
  "name": "hello-1.0", "documentNamespace": "https://example.com/hello-1.0-1234",
  "creationInfo": {{"created": "2026-01-01T00:00:00Z", "creators": ["Tool: hand"]}},
  "files": [
    {{"SPDXID": "SPDXRef-bin", "fileName": "./usr/bin/hello", "x-unknown": {{"deep": [1, 2]}},
      "checksums": [{{"algorithm": "SHA1", "checksumValue": "{s1}"}}, {{"algorithm": "SHA256", "checksumValue": "{a}"}}]}},
    {{"SPDXID": "SPDXRef-lib", "fileName": "./usr/lib/libhello.so",
      "checksums": [{{"algorithm": "SHA256", "checksumValue": "{b_upper}"}}]}},
    {{"SPDXID": "SPDXRef-doc", "fileName": "./README", "checksums": [{{"algorithm": "SHA1", "checksumValue": "{s1}"}}]}}
  ],
  "packages": [
    {{"SPDXID": "SPDXRef-hello", "name": "hello", "versionInfo": "1.0", "packageFileName": "hello-1.0.tar.gz",
      "downloadLocation": "NOASSERTION", "hasFiles": ["SPDXRef-bin"],
      "checksums": [{{"algorithm": "SHA256", "checksumValue": "{pkg}"}}, {{"algorithm": "MD5", "checksumValue": "{md5}"}}],
      "externalRefs": [{{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:generic/hello@1.0"}}]}},
    {{"SPDXID": "SPDXRef-libhello", "name": "libhello", "versionInfo": "2.1", "downloadLocation": "NOASSERTION"}}
  ],
  "relationships": [
    {{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-hello"}},
    {{"spdxElementId": "SPDXRef-lib", "relationshipType": "CONTAINED_BY", "relatedSpdxElement": "SPDXRef-libhello"}}
  ]
}}"#,
        s1 = sha1(9),
        md5 = "ab".repeat(16),
        b_upper = b.to_uppercase(),
    );
    let (summary, records) = read(&doc).unwrap();
    assert_eq!(summary.format, Format::SpdxJson);
    assert_eq!(summary.spec_version.as_deref(), Some("SPDX-2.3"));
    assert_eq!(summary.name.as_deref(), Some("hello-1.0"));
    assert_eq!(summary.namespace.as_deref(), Some("https://example.com/hello-1.0-1234"));
    assert_eq!((summary.files, summary.packages, summary.sha256_digests), (3, 2, 3));
    assert_eq!(summary.skipped_algorithms.get("SHA-1"), Some(&2));
    assert_eq!(summary.skipped_algorithms.get("MD5"), Some(&1));
    assert_eq!(
        triples(&records),
        vec![
            (a.clone(), some("./usr/bin/hello"), some("pkg:generic/hello@1.0")),
            (b.clone(), some("./usr/lib/libhello.so"), some("libhello@2.1")),
            (pkg.clone(), some("hello-1.0.tar.gz"), some("pkg:generic/hello@1.0")),
        ]
    );
    assert_eq!(records[2].kind, RecordKind::Package);
    assert_eq!(records[0].other_digests[0].value, sha1(9));
    // The file with only SHA-1 is reported, not silently dropped.
    assert!(
        summary.problems.iter().any(|p| p.message.contains("./README") && p.place == "$.files[2]"),
        "{:?}",
        summary.problems
    );
}

#[test]
fn spdx_2_2_json_and_contains_relationships_before_files() {
    let a = sha256(4);
    let doc = format!(
        r#"{{"spdxVersion": "SPDX-2.2", "SPDXID": "SPDXRef-DOCUMENT", "name": "two", "documentNamespace": "urn:x",
  "relationships": [{{"spdxElementId": "SPDXRef-p", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-f"}}],
  "files": [{{"SPDXID": "SPDXRef-f", "fileName": "f", "checksums": [{{"algorithm": "SHA256", "checksumValue": "{a}"}}]}}],
  "packages": [{{"SPDXID": "SPDXRef-p", "name": "p"}}]}}"#
    );
    let (summary, records) = read(&doc).unwrap();
    assert_eq!(summary.spec_version.as_deref(), Some("SPDX-2.2"));
    assert_eq!(triples(&records), vec![(a, some("f"), some("p"))]);
}

#[test]
fn spdx_tag_value_files_follow_their_package() {
    let (a, b, c, pkg) = (sha256(5), sha256(6), sha256(7), sha256(8));
    let doc = format!(
        "# a comment
SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: tools-2.0
DocumentNamespace: https://example.com/tools-2.0
DocumentComment: <text>spans
several lines: with colons
</text>
Creator: Tool: hand

PackageName: tools
SPDXID: SPDXRef-tools
PackageVersion: 2.0
PackageFileName: tools-2.0.deb
PackageChecksum: SHA256: {pkg}
ExternalRef: PACKAGE-MANAGER purl pkg:deb/debian/tools@2.0

FileName: ./bin/a
SPDXID: SPDXRef-a
FileChecksum: SHA1: {s1}
FileChecksum: SHA256: {a}

FileName: ./bin/b
SPDXID: SPDXRef-b
FileChecksum: SHA256: {b}
FileComment: <text>one line</text>

PackageName: other
SPDXID: SPDXRef-other
PackageVersion: 1

FileName: ./lib/c
SPDXID: SPDXRef-c
FileChecksum: SHA256: {c}

Relationship: SPDXRef-tools CONTAINS SPDXRef-c
Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-tools
",
        s1 = sha1(1)
    );
    let (summary, records) = read(&doc).unwrap();
    assert_eq!(summary.format, Format::SpdxTagValue);
    assert_eq!(summary.name.as_deref(), Some("tools-2.0"));
    assert_eq!(summary.namespace.as_deref(), Some("https://example.com/tools-2.0"));
    assert_eq!((summary.files, summary.packages, summary.sha256_digests), (3, 2, 4));
    let tools = some("pkg:deb/debian/tools@2.0");
    assert_eq!(
        triples(&records),
        vec![
            (pkg, some("tools-2.0.deb"), tools.clone()),
            (a, some("./bin/a"), tools.clone()),
            (b, some("./bin/b"), tools.clone()),
            // c follows `other`, but a stated relationship beats the implied one.
            (c, some("./lib/c"), tools.clone()),
        ]
    );
}

#[test]
fn spdx_3_json_ld_with_contains_relationship_last() {
    let (a, b, pkg) = (sha256(10), sha256(11), sha256(12));
    let doc = format!(
        r#"{{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
  "@graph": [
    {{"type": "CreationInfo", "@id": "_:creationinfo", "specVersion": "3.0.1", "created": "2026-01-01T00:00:00Z", "createdBy": ["urn:me"]}},
    {{"type": "SpdxDocument", "spdxId": "https://example.com/doc-3", "name": "three", "creationInfo": "_:creationinfo", "rootElement": ["urn:pkg"]}},
    {{"type": "software_File", "spdxId": "urn:f1", "name": "bin/one", "creationInfo": "_:creationinfo",
      "verifiedUsing": [{{"type": "Hash", "algorithm": "sha256", "hashValue": "{a}"}}, {{"type": "Hash", "algorithm": "sha3_256", "hashValue": "{a}"}}]}},
    {{"type": "software_File", "spdxId": "urn:f2", "name": "bin/two",
      "verifiedUsing": [{{"type": "Hash", "algorithm": "sha256", "hashValue": "{b}"}}]}},
    {{"type": "software_Package", "spdxId": "urn:pkg", "name": "three-pkg", "software_packageVersion": "3.0",
      "software_packageUrl": "pkg:pypi/three@3.0",
      "verifiedUsing": [{{"type": "PackageVerificationCode", "algorithm": "sha1", "hashValue": "{s1}"}},
                        {{"type": "Hash", "algorithm": "sha256", "hashValue": "{pkg}"}}]}},
    {{"type": "Relationship", "spdxId": "urn:rel", "from": "urn:pkg", "relationshipType": "contains", "to": ["urn:f1"]}}
  ]}}"#,
        s1 = sha1(3)
    );
    let (summary, records) = read(&doc).unwrap();
    assert_eq!(summary.format, Format::Spdx3JsonLd);
    assert_eq!(summary.spec_version.as_deref(), Some("3.0.1"));
    assert_eq!(summary.name.as_deref(), Some("three"));
    assert_eq!(summary.namespace.as_deref(), Some("https://example.com/doc-3"));
    // The package's own SHA-256 names no file (SPDX 3 packages have no file name): counted apart.
    assert_eq!((summary.files, summary.packages, summary.sha256_digests, summary.packages_not_files), (2, 1, 2, 1));
    // The verification code is not a digest of anything and is not counted.
    assert_eq!(summary.skipped_algorithms.get("SHA-1"), None);
    assert_eq!(summary.skipped_algorithms.get("SHA3-256"), Some(&1));
    assert_eq!(triples(&records), vec![(a, some("bin/one"), some("pkg:pypi/three@3.0")), (b, some("bin/two"), None),]);
}

fn cyclonedx_json(version: &str, a: &str, b: &str, lib: &str) -> String {
    format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "{version}", "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 1,
  "metadata": {{"component": {{"type": "application", "name": "app", "version": "9"}}}},
  "components": [
    {{"type": "library", "name": "lib", "version": "1.2", "purl": "pkg:maven/org/lib@1.2",
      "hashes": [{{"alg": "SHA-256", "content": "{lib}"}}, {{"alg": "SHA-512", "content": "{s512}"}}],
      "components": [
        {{"type": "file", "name": "lib/inner.class", "hashes": [{{"alg": "SHA-256", "content": "{a}"}}]}}
      ]}},
    {{"type": "file", "name": "bin/tool", "hashes": [{{"alg": "SHA-256", "content": "{b}"}}, {{"alg": "BLAKE3", "content": "{b}"}}]}},
    {{"type": "library", "name": "no-hashes"}}
  ]}}"#,
        s512 = "cd".repeat(64)
    )
}

/// What both CycloneDX documents below hold: a library with a nested file, and a loose file.
fn assert_cyclonedx(
    doc: &str,
    format: Format,
    version: &str,
    name: &str,
    (a, b, lib): (&str, &str, &str),
) -> provgate_sbom::Summary {
    let (summary, records) = read(doc).unwrap();
    assert_eq!(summary.format, format);
    assert_eq!(summary.spec_version.as_deref(), Some(version));
    assert_eq!(summary.name.as_deref(), Some(name));
    assert_eq!(summary.namespace.as_deref(), Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"));
    assert_eq!(summary.files, 2);
    // The library's own hash is of no file the document names (a purl-only component): counted
    // apart, never a record.
    assert_eq!((summary.sha256_digests, summary.packages_not_files), (2, 1));
    assert!(records.iter().all(|r| r.sha256.to_hex() != lib), "the library's hash is no record");
    assert_eq!(
        triples(&records),
        vec![
            (a.to_owned(), some("lib/inner.class"), some("pkg:maven/org/lib@1.2")),
            (b.to_owned(), some("bin/tool"), None)
        ]
    );
    summary
}

#[test]
fn cyclonedx_json_1_4_to_1_7_nested_components() {
    for version in ["1.4", "1.5", "1.6", "1.7"] {
        let (a, b, lib) = (sha256(20), sha256(21), sha256(22));
        let summary = assert_cyclonedx(
            &cyclonedx_json(version, &a, &b, &lib),
            Format::CyclonedxJson,
            version,
            "app",
            (&a, &b, &lib),
        );
        // metadata.component, lib, no-hashes are packages.
        assert_eq!(summary.packages, 3);
        assert_eq!(summary.skipped_algorithms.get("SHA-512"), Some(&1));
        assert_eq!(summary.skipped_algorithms.get("BLAKE3"), Some(&1));
    }
}

#[test]
fn cyclonedx_json_files_wait_for_a_package_named_after_them() {
    let (a, lib) = (sha256(30), sha256(31));
    let doc = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
  {{"components": [{{"type": "file", "name": "f", "hashes": [{{"alg": "SHA-256", "content": "{a}"}}]}}],
    "type": "library", "name": "late", "version": "1", "hashes": [{{"alg": "SHA-256", "content": "{lib}"}}]}}]}}"#
    );
    let (summary, records) = read(&doc).unwrap();
    assert_eq!(triples(&records), vec![(a, some("f"), some("late@1"))]);
    assert_eq!(summary.packages_not_files, 1, "{lib} is the library's, not a file's");
}

#[test]
fn cyclonedx_xml_with_a_prefixed_namespace() {
    let d = sha256(43);
    let doc = format!(
        r#"<cdx:bom xmlns:cdx="http://cyclonedx.org/schema/bom/1.5" xmlns:x="urn:x"><cdx:components><cdx:component type="file">
  <cdx:name>f</cdx:name><cdx:hashes><cdx:hash alg="SHA-256">{d}</cdx:hash></cdx:hashes></cdx:component></cdx:components></cdx:bom>"#
    );
    let (summary, records) = read(&doc).unwrap();
    assert_eq!(summary.spec_version.as_deref(), Some("1.5"));
    assert_eq!(triples(&records), vec![(d, some("f"), None)]);
}

#[test]
fn cyclonedx_xml() {
    let (a, b, lib) = (sha256(40), sha256(41), sha256(42));
    for version in ["1.4", "1.5", "1.6", "1.7"] {
        let doc = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<bom xmlns="http://cyclonedx.org/schema/bom/{version}" serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" version="1">
  <metadata><component type="application"><name>x&amp;y app</name></component></metadata>
  <components>
    <component type="library" bom-ref="lib">
      <group>org</group>
      <name>lib</name>
      <version>1.2</version>
      <hashes>
        <hash alg="SHA-256">{lib}</hash>
        <hash alg="SHA-1">{s1}</hash>
      </hashes>
      <purl>pkg:maven/org/lib@1.2</purl>
      <components>
        <component type="file"><name>lib/<![CDATA[inner]]>.class</name><hashes><hash alg="SHA-256">
          {a}
        </hash></hashes></component>
      </components>
    </component>
    <component type="file"><name>bin/tool</name><hashes><hash alg="SHA-256">{b}</hash></hashes><extension xmlns="urn:other"><name>ignored</name></extension></component>
  </components>
</bom>"#,
            s1 = sha1(7)
        );
        let summary = assert_cyclonedx(&doc, Format::CyclonedxXml, version, "x&y app", (&a, &b, &lib));
        assert_eq!(summary.packages, 2);
        assert_eq!(summary.skipped_algorithms.get("SHA-1"), Some(&1));
    }
}

/// syft's own JSON, hand-written here after syft's published schema (16.x) and the documents
/// syft 1.18 writes (`tests/cli/syft.rs` reads real ones): the files with their digests, the
/// packages, and `contains` relationships from a package to its files, given before the files as
/// syft orders them; directories are left out; the source is the document's name.
fn syft_json(descriptor: &str, relationships_last: bool) -> String {
    let (a, b) = (sha256(50), sha256(51));
    let relationships = r#""artifactRelationships": [
    {"parent": "src-1", "child": "pkg-1", "type": "contains"},
    {"parent": "pkg-1", "child": "file-2", "type": "evident-by", "metadata": {"kind": "primary"}},
    {"parent": "pkg-1", "child": "file-1", "type": "contains"}
  ]"#;
    let files = format!(
        r#""files": [
    {{"id": "dir-1", "location": {{"path": "/usr/bin"}}, "metadata": {{"mode": 755, "type": "Directory", "size": 4096}}}},
    {{"id": "file-1", "location": {{"path": "/usr/bin/hello", "layerID": "sha256:{layer}"}},
      "metadata": {{"mode": 755, "type": "RegularFile", "size": 18}},
      "digests": [{{"algorithm": "sha1", "value": "{s1}"}}, {{"algorithm": "sha256", "value": "{a}"}}]}},
    {{"id": "file-2", "location": {{"path": "/var/lib/dpkg/status"}}, "digests": [{{"algorithm": "sha256", "value": "{b}"}}]}},
    {{"id": "link-1", "location": {{"path": "/usr/bin/hi"}}, "metadata": {{"type": "SymbolicLink", "linkDestination": "hello"}}}},
    {{"id": "file-3", "location": {{"path": "/usr/bin/unhashed"}}, "executable": {{"format": "elf"}}}}
  ]"#,
        layer = sha256(52),
        s1 = sha1(5),
    );
    let (first, last) =
        if relationships_last { (files, relationships.to_owned()) } else { (relationships.to_owned(), files) };
    format!(
        r#"{{
  "artifacts": [
    {{"id": "pkg-1", "name": "hello", "version": "2.10-3", "type": "deb", "foundBy": "dpkg-db-cataloger",
      "locations": [{{"path": "/var/lib/dpkg/status"}}], "purl": "pkg:deb/debian/hello@2.10-3?arch=amd64",
      "metadata": {{"package": "hello", "files": [{{"path": "/usr/bin/hello", "digest": {{"algorithm": "md5", "value": "00"}}}}]}}}}
  ],
  {first},
  {last},
  "source": {{"id": "src-1", "name": "rootfs", "version": "", "type": "directory", "metadata": {{"path": "rootfs"}}}},
  "distro": {{"prettyName": "Debian GNU/Linux 12 (bookworm)", "name": "Debian GNU/Linux", "id": "debian", "versionID": "12"}},
  "descriptor": {descriptor},
  "schema": {{"version": "16.0.18", "url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.18.json"}}
}}"#
    )
}

#[test]
fn syft_json_files_and_the_packages_that_contain_them() {
    let (a, b) = (sha256(50), sha256(51));
    let syft =
        r#"{"name": "syft", "version": "1.18.1", "configuration": {"file": {"metadata": {"selection": "all"}}}}"#;
    for relationships_last in [false, true] {
        let (summary, records) = read(&syft_json(syft, relationships_last)).unwrap();
        assert_eq!(summary.format, Format::SyftJson);
        assert_eq!(summary.spec_version.as_deref(), Some("16.0.18"));
        assert_eq!(summary.name.as_deref(), Some("rootfs"));
        assert_eq!((summary.files, summary.packages, summary.sha256_digests), (3, 1, 2));
        assert_eq!(summary.skipped_algorithms.get("SHA-1"), Some(&1));
        assert_eq!(
            triples(&records),
            vec![
                (a.clone(), some("/usr/bin/hello"), some("pkg:deb/debian/hello@2.10-3?arch=amd64")),
                // evident-by is how syft found the package, not a file of it.
                (b.clone(), some("/var/lib/dpkg/status"), None),
            ]
        );
        assert!(records.iter().all(|r| r.kind == RecordKind::File));
        // A regular file syft did not hash is said, not dropped.
        assert!(summary.problems.iter().any(|p| p.message.contains("/usr/bin/unhashed") && p.place == "$.files[4]"));
    }
    // The same layout from another generator is not syft's.
    let other = read(&syft_json(r#"{"name": "not-syft"}"#, false)).unwrap_err();
    assert!(other.to_string().contains("syft's descriptor"), "{other}");
    let other = read(&syft_json(r#""syft""#, false)).unwrap_err();
    assert!(matches!(other, provgate_sbom::SbomError::UnknownFormat(_)), "{other}");
}
