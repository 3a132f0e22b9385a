//! OCI blobs, manifests and indexes as bytes, with their descriptors.
use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Content with its media type (and, for layers of signatures, annotations).
#[derive(Debug, Clone)]
pub struct Blob {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

impl Blob {
    pub fn new(media_type: &str, bytes: Vec<u8>) -> Self {
        Self { media_type: media_type.into(), bytes, annotations: BTreeMap::new() }
    }

    pub fn digest(&self) -> String {
        digest(&self.bytes)
    }

    pub fn descriptor(&self) -> Value {
        let mut descriptor = json!({ "mediaType": self.media_type, "digest": self.digest(), "size": self.bytes.len() });
        if !self.annotations.is_empty() {
            descriptor["annotations"] = json!(self.annotations);
        }
        descriptor
    }
}

/// An image manifest with its config and layers (and, for referrers, subject and artifact type).
#[derive(Debug, Clone)]
pub struct Image {
    pub config: Blob,
    pub layers: Vec<Blob>,
    pub subject: Option<Value>,
    pub artifact_type: Option<String>,
}

impl Image {
    pub fn new(layers: Vec<Blob>) -> Self {
        let config = json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": { "type": "layers", "diff_ids": [] },
            "config": {},
        });
        Self {
            config: Blob::new(OCI_CONFIG, config.to_string().into_bytes()),
            layers,
            subject: None,
            artifact_type: None,
        }
    }

    /// An image a runtime can unpack: gzip layers of `layers`, whose uncompressed digests are the
    /// config's `rootfs.diff_ids` (containerd checks them).
    pub fn unpackable(layers: &[Vec<crate::Member>]) -> Self {
        let tars: Vec<Vec<u8>> = layers.iter().map(|members| crate::tarball::tar(members)).collect();
        let diff_ids: Vec<String> = tars.iter().map(|tar| digest(tar)).collect();
        let config = json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "config": {},
        });
        Self {
            config: Blob::new(OCI_CONFIG, config.to_string().into_bytes()),
            layers: tars.iter().map(|tar| Blob::new(LAYER_GZIP, crate::tarball::gzip(tar))).collect(),
            subject: None,
            artifact_type: None,
        }
    }

    /// An OCI 1.1 artifact manifest: empty config, `artifact_type`, about `subject`.
    pub fn artifact(artifact_type: &str, layers: Vec<Blob>, subject: Value) -> Self {
        Self {
            config: Blob::new(OCI_EMPTY, b"{}".to_vec()),
            layers,
            subject: Some(subject),
            artifact_type: Some(artifact_type.into()),
        }
    }

    pub fn manifest(&self) -> Vec<u8> {
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.config.descriptor(),
            "layers": self.layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        });
        if let Some(subject) = &self.subject {
            manifest["subject"] = subject.clone();
        }
        if let Some(artifact_type) = &self.artifact_type {
            manifest["artifactType"] = artifact_type.clone().into();
        }
        serde_json::to_vec(&manifest).expect("JSON")
    }

    pub fn digest(&self) -> String {
        digest(&self.manifest())
    }

    /// The descriptor of this manifest, e.g. for an index entry or a subject.
    pub fn descriptor(&self) -> Value {
        json!({ "mediaType": OCI_MANIFEST, "digest": self.digest(), "size": self.manifest().len() })
    }
}

/// An image index of `(platform "os/arch[/variant]", manifest descriptor)`.
pub fn index(entries: &[(&str, Value)]) -> Vec<u8> {
    let manifests: Vec<Value> = entries
        .iter()
        .map(|(platform, descriptor)| {
            let parts: Vec<&str> = platform.split('/').collect();
            let mut entry = descriptor.clone();
            entry["platform"] = json!({ "os": parts[0], "architecture": parts[1] });
            if let Some(variant) = parts.get(2) {
                entry["platform"]["variant"] = json!(variant);
            }
            entry
        })
        .collect();
    serde_json::to_vec(&json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests })).expect("JSON")
}

/// A layer of `members`, compressed as `media_type` says.
pub fn layer(members: &[crate::Member], media_type: &str) -> Blob {
    let tar = crate::tarball::tar(members);
    let bytes = match media_type {
        LAYER_GZIP => crate::tarball::gzip(&tar),
        LAYER_ZSTD => crate::tarball::zstd(&tar),
        _ => tar,
    };
    Blob::new(media_type, bytes)
}
