//! Image references (`registry/repository[:tag][@digest]`, Docker's normalisation: `alpine` is
//! `docker.io/library/alpine:latest`) and platforms (`linux/amd64`).
use std::fmt;

use crate::digest::Digest;

/// A parsed image reference. Parsing is oci-client's (Docker's grammar); what is added is the
/// pinned digest, so the image that was verified is the image whose layers are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    inner: oci_client::Reference,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an image reference ({problem}); expected [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST]")]
pub struct ReferenceError {
    pub input: String,
    pub problem: String,
}

impl std::str::FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, ReferenceError> {
        let error = |problem: String| ReferenceError { input: input.chars().take(300).collect(), problem };
        let inner = oci_client::Reference::try_from(input).map_err(|e| error(e.to_string()))?;
        // Docker's grammar has lowercase repository names; the parser lets capitals through.
        if inner.repository().bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(error("repository names are lowercase".into()));
        }
        if let Some(digest) = inner.digest() {
            digest.parse::<Digest>().map_err(|e| error(e.to_string()))?;
        }
        Ok(Self { inner })
    }
}

impl ImageReference {
    /// The registry as written (`docker.io`), for messages and credentials.
    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    /// The host to connect to (`index.docker.io` for Docker Hub).
    pub fn registry_host(&self) -> &str {
        self.inner.resolve_registry()
    }

    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    pub fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    /// The digest the reference names, if it names one.
    pub fn digest(&self) -> Option<Digest> {
        self.inner.digest().and_then(|d| d.parse().ok())
    }

    /// What to ask the registry for: the digest if the reference has one (a tag beside it is
    /// only a label), else the tag.
    pub fn manifest_reference(&self) -> String {
        match (self.inner.digest(), self.inner.tag()) {
            (Some(digest), _) => digest.to_owned(),
            (None, Some(tag)) => tag.to_owned(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// The same repository at `digest`.
    pub fn pinned(&self, digest: Digest) -> Self {
        Self { inner: self.inner.clone_with_digest(digest.to_string()) }
    }

    /// `registry/repository`, the name images are listed under.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry(), self.repository())
    }

    pub(crate) fn oci(&self) -> &oci_client::Reference {
        &self.inner
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.whole())
    }
}

/// An operating system and architecture (and variant), as image indexes list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    /// linux/amd64: what the machines provgate guards run.
    fn default() -> Self {
        Self { os: "linux".into(), architecture: "amd64".into(), variant: None }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let valid =
            |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if parts.iter().all(|p| valid(p)) => Ok(Self {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: parts.get(2).map(|v| (*v).to_owned()),
            }),
            _ => Err(format!(
                "{text:?} is not a platform: expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8"
            )),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let r: ImageReference = "alpine".parse().unwrap();
        assert_eq!(
            (r.registry(), r.registry_host(), r.repository(), r.tag()),
            ("docker.io", "index.docker.io", "library/alpine", Some("latest"))
        );
        let r: ImageReference = "127.0.0.1:5000/team/app:v1".parse().unwrap();
        assert_eq!(
            (r.registry(), r.registry_host(), r.repository(), r.manifest_reference().as_str()),
            ("127.0.0.1:5000", "127.0.0.1:5000", "team/app", "v1")
        );
        assert_eq!(r.name(), "127.0.0.1:5000/team/app");
        let digest = Digest::of(b"x");
        let pinned = r.pinned(digest);
        assert_eq!(pinned.to_string(), format!("127.0.0.1:5000/team/app@{digest}"));
        assert_eq!(pinned.manifest_reference(), digest.to_string());
        assert_eq!(pinned.digest(), Some(digest));
    }

    #[test]
    fn malformed_references_say_what_is_expected() {
        for bad in ["", "UPPER/case", "app@sha256:abc", "a//b", "app:tag with space", "app@md5:0123"] {
            let err = bad.parse::<ImageReference>().unwrap_err();
            assert!(err.to_string().contains("expected [REGISTRY/]REPOSITORY"), "{bad}: {err}");
        }
    }

    #[test]
    fn platforms() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!((p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()), ("linux", "arm64", Some("v8")));
        assert_eq!(Platform::default().to_string(), "linux/amd64");
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }
}
