//! SLSA provenance (v0.2 and v1): which builder produced the statement's subjects, how, and
//! from what. The subjects' digests are what provenance vouches for; these fields say where they
//! came from, for the record and for the store's detail column.
use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlsaVersion {
    V0_2,
    V1,
}

/// An input of the build (v0.2 `materials`, v1 `resolvedDependencies`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Material {
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlsaProvenance {
    pub version: SlsaVersion,
    /// The builder's identity (`builder.id`), e.g. a reusable workflow's URI.
    pub builder_id: String,
    pub build_type: String,
    pub materials: Vec<Material>,
}

#[derive(Deserialize)]
struct Builder {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvenanceV0_2 {
    builder: Builder,
    build_type: String,
    #[serde(default)]
    materials: Vec<Material>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvenanceV1 {
    build_definition: BuildDefinition,
    run_details: RunDetails,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildDefinition {
    build_type: String,
    #[serde(default)]
    resolved_dependencies: Vec<Material>,
}

#[derive(Deserialize)]
struct RunDetails {
    builder: Builder,
}

impl SlsaProvenance {
    pub fn from_json(version: SlsaVersion, json: &str) -> Result<Self, serde_json::Error> {
        Ok(match version {
            SlsaVersion::V0_2 => {
                let p: ProvenanceV0_2 = serde_json::from_str(json)?;
                Self { version, builder_id: p.builder.id, build_type: p.build_type, materials: p.materials }
            }
            SlsaVersion::V1 => {
                let p: ProvenanceV1 = serde_json::from_str(json)?;
                Self {
                    version,
                    builder_id: p.run_details.builder.id,
                    build_type: p.build_definition.build_type,
                    materials: p.build_definition.resolved_dependencies,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v0_2() {
        let json = r#"{"builder":{"id":"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0"},
            "buildType":"https://github.com/slsa-framework/slsa-github-generator/generic@v1",
            "invocation":{"configSource":{"uri":"git+https://github.com/acme/app@refs/tags/v1.0.0","digest":{"sha1":"abc"},"entryPoint":".github/workflows/release.yml"}},
            "materials":[{"uri":"git+https://github.com/acme/app@refs/tags/v1.0.0","digest":{"sha1":"abc"}}]}"#;
        let p = SlsaProvenance::from_json(SlsaVersion::V0_2, json).unwrap();
        assert!(p.builder_id.ends_with("generator_generic_slsa3.yml@refs/tags/v1.9.0"));
        assert_eq!(p.build_type, "https://github.com/slsa-framework/slsa-github-generator/generic@v1");
        assert_eq!(p.materials[0].digest["sha1"], "abc");
    }

    #[test]
    fn reads_v1() {
        let json = r#"{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1",
              "externalParameters":{"workflow":{"ref":"refs/heads/main","repository":"https://github.com/acme/app","path":".github/workflows/build.yml"}},
              "resolvedDependencies":[{"uri":"git+https://github.com/acme/app@refs/heads/main","digest":{"gitCommit":"0123"}}]},
            "runDetails":{"builder":{"id":"https://github.com/actions/runner/github-hosted"},"metadata":{"invocationId":"x"}}}"#;
        let p = SlsaProvenance::from_json(SlsaVersion::V1, json).unwrap();
        assert_eq!(p.builder_id, "https://github.com/actions/runner/github-hosted");
        assert_eq!(p.materials[0].uri.as_deref(), Some("git+https://github.com/acme/app@refs/heads/main"));
    }

    #[test]
    fn requires_builder_and_build_type() {
        assert!(SlsaProvenance::from_json(SlsaVersion::V1, r#"{"buildDefinition":{"buildType":"t"}}"#).is_err());
        assert!(SlsaProvenance::from_json(SlsaVersion::V0_2, r#"{"builder":{"id":"b"}}"#).is_err());
        // A v1 document is not v0.2 provenance.
        assert!(
            SlsaProvenance::from_json(
                SlsaVersion::V0_2,
                r#"{"buildDefinition":{"buildType":"t"},"runDetails":{"builder":{"id":"b"}}}"#
            )
            .is_err()
        );
    }
}
