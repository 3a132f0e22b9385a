//! Image manifests and indexes, read from a registry's answer: bounded in size and depth
//! before the parser sees them, and of a media type we know (a manifest we do not know how to
//! read is refused, never guessed at).
use std::collections::BTreeMap;

use provgate_attestations::limits::{self, LimitError};
use serde::{Deserialize, Serialize};

use crate::{
    digest::Digest,
    limits::{MAX_LAYERS, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH},
    reference::Platform,
};

pub mod media_type {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Every manifest type we ask registries for, in the order we prefer them.
    pub const ACCEPTED: [&str; 4] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];

    /// Cosign's legacy signature layer (tag `sha256-<hex>.sig`).
    pub const COSIGN_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
    /// Cosign's legacy attestation layer (tag `sha256-<hex>.att`).
    pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("too big to be a manifest: {0}")]
    Limit(#[from] LimitError),
    #[error("not a manifest: {0}")]
    Json(serde_json::Error),
    #[error("manifest of unknown media type {found:?} (known: {})", media_type::ACCEPTED.join(", "))]
    UnknownMediaType { found: String },
    #[error("the manifest says it is {body:?} but the registry sent it as {header:?}")]
    MediaTypeConflict { body: String, header: String },
    #[error("manifest schema version {0}, not 2")]
    SchemaVersion(i64),
    #[error("the manifest lists {0} layers, more than the {MAX_LAYERS} allowed")]
    TooManyLayers(usize),
    #[error("descriptor {index}: size {size} is negative")]
    NegativeSize { index: usize, size: i64 },
}

/// A pointer to content: its media type, digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    /// Signed in the spec; a negative size is refused when the manifest is read.
    pub size: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest,
            size: size as i64,
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        }
    }

    pub fn size(&self) -> u64 {
        self.size.max(0) as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PlatformEntry {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    #[serde(skip)]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    #[serde(skip)]
    pub media_type: String,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// OCI 1.1: what an index of artifacts holds (a provgate feed says so here).
    pub artifact_type: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Manifest {
    Image(Box<ImageManifest>),
    Index(ImageIndex),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    schema_version: Option<i64>,
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
}

/// Reads a manifest or index. `content_type` is the registry's `Content-Type`, used when the
/// manifest does not name its own media type (older OCI manifests) and checked against it when
/// it does.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
    limits::check_json(bytes, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH)?;
    let head: Head = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
    if let Some(version) = head.schema_version.filter(|v| *v != 2) {
        return Err(ManifestError::SchemaVersion(version));
    }
    let header = content_type
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_owned())
        .filter(|t| media_type::ACCEPTED.contains(&t.as_str()));
    let media_type = match (head.media_type, header) {
        (Some(body), Some(header)) if body != header => {
            return Err(ManifestError::MediaTypeConflict { body, header });
        }
        (Some(body), _) => body,
        (None, Some(header)) => header,
        (None, None) if head.schema_version == Some(2) && head.manifests.is_some() => media_type::OCI_INDEX.to_owned(),
        (None, None) if head.schema_version == Some(2) => media_type::OCI_MANIFEST.to_owned(),
        (None, None) => {
            return Err(ManifestError::UnknownMediaType {
                found: content_type.unwrap_or("none").chars().take(200).collect(),
            });
        }
    };
    let manifest = match media_type.as_str() {
        media_type::OCI_MANIFEST | media_type::DOCKER_MANIFEST => {
            let mut manifest: ImageManifest = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
            if manifest.layers.len() > MAX_LAYERS {
                return Err(ManifestError::TooManyLayers(manifest.layers.len()));
            }
            check_sizes(std::iter::once(&manifest.config).chain(&manifest.layers))?;
            manifest.media_type = media_type;
            Manifest::Image(Box::new(manifest))
        }
        media_type::OCI_INDEX | media_type::DOCKER_MANIFEST_LIST => {
            let mut index: ImageIndex = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
            check_sizes(&index.manifests)?;
            index.media_type = media_type;
            Manifest::Index(index)
        }
        _ => {
            return Err(ManifestError::UnknownMediaType { found: media_type.chars().take(200).collect() });
        }
    };
    Ok(manifest)
}

fn check_sizes<'a>(descriptors: impl IntoIterator<Item = &'a Descriptor>) -> Result<(), ManifestError> {
    match descriptors.into_iter().enumerate().find(|(_, d)| d.size < 0) {
        Some((index, d)) => Err(ManifestError::NegativeSize { index, size: d.size }),
        None => Ok(()),
    }
}

impl ImageIndex {
    /// The image manifest for `platform`. Without a variant asked for, an entry without one is
    /// preferred. Nested indexes and entries that are not images (BuildKit's attestation
    /// manifests, platform `unknown/unknown`) never match.
    pub fn select(&self, platform: &Platform) -> Option<&Descriptor> {
        let images = || {
            self.manifests.iter().filter(|d| {
                matches!(d.media_type.as_str(), media_type::OCI_MANIFEST | media_type::DOCKER_MANIFEST)
                    && d.platform
                        .as_ref()
                        .is_some_and(|p| p.os == platform.os && p.architecture == platform.architecture)
            })
        };
        let variant = |d: &&Descriptor| d.platform.as_ref().and_then(|p| p.variant.clone());
        match &platform.variant {
            Some(wanted) => images().find(|d| variant(d).as_ref() == Some(wanted)),
            None => images().find(|d| variant(d).is_none()).or_else(|| images().next()),
        }
    }

    /// The platforms the index offers, for a message when none fits.
    pub fn platforms(&self) -> Vec<String> {
        self.manifests
            .iter()
            .filter_map(|d| d.platform.as_ref())
            .map(|p| {
                Platform { os: p.os.clone(), architecture: p.architecture.clone(), variant: p.variant.clone() }
                    .to_string()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(media_type: &str, content: &[u8], platform: Option<&str>) -> String {
        let platform = platform.map(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            let variant = parts.get(2).map(|v| format!(r#","variant":"{v}""#)).unwrap_or_default();
            format!(r#","platform":{{"os":"{}","architecture":"{}"{variant}}}"#, parts[0], parts[1])
        });
        format!(
            r#"{{"mediaType":"{media_type}","digest":"{}","size":{}{}}}"#,
            Digest::of(content),
            content.len(),
            platform.unwrap_or_default()
        )
    }

    #[test]
    fn reads_manifests_by_their_media_type_or_the_header() {
        let layers = [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", b"l", None)].join(",");
        let config = descriptor("application/vnd.oci.image.config.v1+json", b"{}", None);
        let body = format!(r#"{{"schemaVersion":2,"config":{config},"layers":[{layers}]}}"#);
        let Manifest::Image(m) =
            parse(body.as_bytes(), Some("application/vnd.docker.distribution.manifest.v2+json")).unwrap()
        else {
            panic!()
        };
        assert_eq!((m.media_type.as_str(), m.layers.len()), (media_type::DOCKER_MANIFEST, 1));
        let Manifest::Image(m) = parse(body.as_bytes(), Some("application/json")).unwrap() else { panic!() };
        assert_eq!(m.media_type, media_type::OCI_MANIFEST);
        let with_type = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{config},"layers":[]}}"#,
            media_type::OCI_MANIFEST
        );
        let err = parse(with_type.as_bytes(), Some(media_type::DOCKER_MANIFEST)).unwrap_err();
        assert!(matches!(err, ManifestError::MediaTypeConflict { .. }), "{err}");
    }

    #[test]
    fn refuses_unknown_and_malformed_manifests() {
        let schema1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        assert!(matches!(parse(schema1, None).unwrap_err(), ManifestError::SchemaVersion(1)));
        let other = br#"{"schemaVersion":2,"mediaType":"application/vnd.cncf.helm.config.v1+json"}"#;
        let err = parse(other, None).unwrap_err();
        assert!(
            err.to_string().starts_with(r#"manifest of unknown media type "application/vnd.cncf.helm.config.v1+json""#),
            "{err}"
        );
        assert!(matches!(parse(b"<html>", None).unwrap_err(), ManifestError::Json(_)));
        let deep = format!(r#"{{"schemaVersion":2,"x":{}"#, "[".repeat(100));
        assert!(matches!(parse(deep.as_bytes(), None).unwrap_err(), ManifestError::Limit(_)));
        let bad_digest = br#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:00","size":1},"layers":[]}"#;
        assert!(
            parse(bad_digest, Some(media_type::OCI_MANIFEST)).unwrap_err().to_string().contains("is not a sha256:<64")
        );
        let negative = format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[]}}"#,
            descriptor("a", b"", None).replace(r#""size":0"#, r#""size":-5"#)
        );
        assert!(matches!(
            parse(negative.as_bytes(), Some(media_type::OCI_MANIFEST)).unwrap_err(),
            ManifestError::NegativeSize { size: -5, .. }
        ));
        let duplicate =
            format!(r#"{{"schemaVersion":2,"config":{c},"config":{c},"layers":[]}}"#, c = descriptor("a", b"", None));
        assert!(matches!(
            parse(duplicate.as_bytes(), Some(media_type::OCI_MANIFEST)).unwrap_err(),
            ManifestError::Json(_)
        ));
    }

    #[test]
    fn selects_the_platform() {
        let entries = [
            descriptor(media_type::OCI_MANIFEST, b"arm", Some("linux/arm64/v8")),
            descriptor(media_type::OCI_MANIFEST, b"attestation", Some("unknown/unknown")),
            descriptor(media_type::OCI_INDEX, b"nested", Some("linux/amd64")),
            descriptor(media_type::OCI_MANIFEST, b"amd64v3", Some("linux/amd64/v3")),
            descriptor(media_type::OCI_MANIFEST, b"amd64", Some("linux/amd64")),
        ];
        let body = format!(r#"{{"schemaVersion":2,"manifests":[{}]}}"#, entries.join(","));
        let Manifest::Index(index) = parse(body.as_bytes(), None).unwrap() else { panic!() };
        assert_eq!(index.media_type, media_type::OCI_INDEX);
        let pick = |p: &str| index.select(&p.parse().unwrap()).map(|d| d.digest);
        assert_eq!(pick("linux/amd64"), Some(Digest::of(b"amd64")));
        assert_eq!(pick("linux/amd64/v3"), Some(Digest::of(b"amd64v3")));
        assert_eq!(pick("linux/arm64"), Some(Digest::of(b"arm")));
        assert_eq!(pick("linux/riscv64"), None);
        assert_eq!(index.platforms().len(), 5);
    }
}
