//! The CycloneDX specification's own test files (shared corpora): every `valid-*` document reads,
//! its records are exactly the SHA-256 hashes of its file components, and its other components
//! with a SHA-256 are counted as package entries that are not files; `invalid-hash-*` documents
//! (an unknown algorithm, or a digest that is not hex of the right length) and
//! `invalid-bomformat-*` are refused. The other `invalid-*` files break schema rules that say
//! nothing about digests (licenses, timestamps, enums); this reader does not validate those.
mod common;

use std::collections::BTreeSet;

use provgate_sbom::SbomError;

/// SHA-256 hashes of every file component, nested or in metadata, found by walking the JSON
/// value, and how many other components have one.
fn component_sha256s(value: &serde_json::Value, files: &mut BTreeSet<String>, not_files: &mut u64) {
    let Some(object) = value.as_object() else {
        return;
    };
    let sha256: Vec<String> = object
        .get("hashes")
        .and_then(|h| h.as_array())
        .into_iter()
        .flatten()
        .filter(|hash| hash["alg"] == "SHA-256")
        .map(|hash| hash["content"].as_str().unwrap().to_lowercase())
        .collect();
    if object.get("type").and_then(|t| t.as_str()) == Some("file") {
        files.extend(sha256);
    } else if !sha256.is_empty() {
        *not_files += 1;
    }
    for child in object.get("components").and_then(|c| c.as_array()).into_iter().flatten() {
        component_sha256s(child, files, not_files);
    }
}

#[test]
fn cyclonedx_specification_examples() {
    let Some(resources) = provgate_test_support::corpus("cyclonedx-specification/tools/src/test/resources") else {
        return;
    };
    // Every version the corpora hold (1.5, 1.6 and 1.7 today), found there rather than listed.
    let mut versions: Vec<String> = std::fs::read_dir(&resources)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    assert!(versions.len() >= 3, "1.5, 1.6 and 1.7 at least; found {versions:?} in {}", resources.display());
    let (mut valid, mut refused, mut with_packages) = (0, 0, 0u64);
    for version in &versions {
        let version = version.as_str();
        let dir = resources.join(version);
        let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for path in names {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let bytes = std::fs::read(&path).unwrap();
            let result = common::read_with(&bytes, &provgate_sbom::Limits::default());
            if name.starts_with("valid-") {
                let (summary, records) = result.unwrap_or_else(|e| panic!("{version}/{name}: {e}"));
                let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                let (mut wanted, mut not_files) = (BTreeSet::new(), 0);
                for top in [&doc, &doc["metadata"]["component"]] {
                    if top.get("components").is_some() || top.get("hashes").is_some() {
                        component_sha256s(top, &mut wanted, &mut not_files);
                    }
                }
                let got: BTreeSet<String> = records.iter().map(|r| r.sha256.to_hex()).collect();
                assert_eq!(got, wanted, "{version}/{name}");
                assert_eq!(summary.packages_not_files, not_files, "{version}/{name}");
                with_packages += u64::from(not_files > 0);
                assert_eq!(summary.spec_version.as_deref(), Some(version), "{name}");
                valid += 1;
            } else if name.starts_with("invalid-hash-") {
                match result {
                    Err(e @ SbomError::Digest { .. }) => {
                        let location = e.location().unwrap().path.clone().unwrap();
                        assert!(location.starts_with("$.components[0].hashes["), "{name}: {e}");
                    }
                    other => panic!("{version}/{name} must be refused for its hash, got {:?}", other.map(|(s, _)| s)),
                }
                refused += 1;
            } else if name.starts_with("invalid-bomformat-") {
                assert!(result.is_err(), "{version}/{name}");
                refused += 1;
            }
        }
    }
    assert!(valid >= 100 && refused >= 15, "{valid} valid, {refused} refused: is the corpus complete?");
    assert!(with_packages > 0, "no document has a package with a SHA-256: the count is untested");
}
