//! Talking to one repository of one registry. oci-client does the authentication handshake
//! (the `/v2/` challenge, then a bearer token from the registry's token service, or HTTP Basic);
//! requests are made here so that every answer is bounded while it arrives (oci-client reads
//! whole bodies into memory) and checked against the digest it was asked for.
//!
//! Authentication answers the registry's challenges, as Docker and containerd do: requests go
//! out without credentials until a 401 asks for Basic credentials (sent from then on) or for a
//! bearer token (then fetched from the registry's token service). A token is fetched again
//! before a request once it is a minute old, the shortest life the token spec allows, so an
//! expired token never costs a refused request. A connection kept between requests (the
//! daemon's feed syncs) therefore asks an unchanged feed's index in one request.
use std::time::{Duration, Instant};

use bytes::Bytes;
use oci_client::{RegistryOperation, client::ClientProtocol, secrets::RegistryAuth};
use reqwest::{StatusCode, header};
use tokio::sync::Mutex;

use crate::{
    digest::Digest,
    limits::MAX_MANIFEST_BYTES,
    manifest::{self, Descriptor, Manifest, ManifestError, media_type},
    reference::ImageReference,
    registries::{CredentialSource, RegistryConfig},
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two reads of one answer; a stalled registry fails instead of hanging `image add`.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!("provgate/", env!("CARGO_PKG_VERSION"));
/// The distribution token spec's shortest token life ("a token should never be returned with
/// less than 60 seconds to live").
const TOKEN_MIN_LIFE: Duration = Duration::from_secs(60);

/// How requests are authenticated, as the registry's challenges asked.
enum Authorization {
    /// No challenge yet: requests carry no credentials.
    Anonymous,
    /// A Basic challenge: the credentials go with every request.
    Basic,
    /// A bearer challenge: the token the token service gave, and when.
    Bearer { token: String, obtained: Instant },
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry {registry}: {detail}")]
    Unreachable { registry: String, detail: String },
    #[error("registry {registry} refused access to {what} ({status}): {hint}")]
    Unauthorized { registry: String, what: String, status: StatusCode, hint: String },
    #[error("{what} not found in {registry}")]
    NotFound { registry: String, what: String },
    #[error("registry {registry} answered {status} for {what}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Status { registry: String, what: String, status: StatusCode, body: String },
    #[error("{what} is larger than the {max} bytes allowed")]
    TooLarge { what: String, max: u64 },
    #[error(
        "{what}: the registry sent {actual_size} bytes with digest {actual}, expected {expected_size} bytes with digest {expected}"
    )]
    DigestMismatch { what: String, expected: Digest, actual: Digest, expected_size: u64, actual_size: u64 },
    #[error("{what}: the registry names it {header}, but its content has digest {actual}")]
    HeaderDigest { what: String, header: String, actual: Digest },
    #[error("{what}: {source}")]
    Manifest { what: String, source: ManifestError },
    #[error("{what}: {problem}")]
    Malformed { what: String, problem: String },
    #[error("authenticating to registry {registry}: {detail}")]
    Auth { registry: String, detail: String },
    #[error("pushing {what} to registry {registry}: {detail}")]
    Push { registry: String, what: String, detail: String },
    #[error("getting the credentials for registry {registry}: {source}")]
    Credentials { registry: String, source: crate::credential_helper::HelperError },
}

impl RegistryError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }

    /// The registry or its token service refused the credentials sent (or their absence).
    pub fn is_access_refused(&self) -> bool {
        matches!(self, RegistryError::Unauthorized { .. } | RegistryError::Auth { .. })
    }
}

/// A manifest as fetched: its bytes, their digest, and what it says.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub digest: Digest,
    pub bytes: Bytes,
    pub manifest: Manifest,
}

/// One repository of one registry, authenticated.
pub struct Repository {
    http: reqwest::Client,
    oci: oci_client::Client,
    reference: ImageReference,
    base: String,
    auth: RegistryAuth,
    authorization: Mutex<Authorization>,
    /// For the hint of an authorization error.
    credentials_origin: String,
    has_credentials: bool,
    credential_source: CredentialSource,
}

impl Repository {
    /// Prepares to pull from the repository of `reference`: HTTPS, or plain HTTP when `config`
    /// allows it for this registry, with its credentials. Nothing is sent until the first
    /// request, which authenticates if the registry asks for a token.
    pub async fn connect(reference: &ImageReference, config: &RegistryConfig) -> Result<Self, RegistryError> {
        let host = reference.registry_host().to_owned();
        let plain_http = config.plain_http(&host) || config.plain_http(reference.registry());
        let scheme = if plain_http { "http" } else { "https" };
        // A credential helper may take seconds (cloud registries' helpers call their APIs).
        let credentials = {
            let (config, registry) = (config.clone(), reference.registry().to_owned());
            tokio::task::spawn_blocking(move || config.credentials(&registry))
                .await
                .map_err(|e| RegistryError::Auth { registry: host.clone(), detail: e.to_string() })?
                .map_err(|source| RegistryError::Credentials { registry: host.clone(), source })?
        };
        let has_credentials = credentials.is_some();
        let auth = match credentials {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        };
        let insecure_hosts: Vec<String> = if plain_http { vec![host.clone()] } else { Vec::new() };
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .redirect(no_downgrade(insecure_hosts.clone()))
            .build()
            .map_err(|e| {
                let detail = chain(&e);
                // The TLS client loads the system's roots when it is made, even for plain HTTP.
                let detail = if detail.contains("No CA certificates") {
                    format!("{detail} (install ca-certificates, or point SSL_CERT_FILE at a CA bundle)")
                } else {
                    detail
                };
                RegistryError::Unreachable { registry: host.clone(), detail }
            })?;
        let oci = oci_client::Client::new(oci_client::client::ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure_hosts),
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: USER_AGENT,
            platform_resolver: None,
            ..Default::default()
        });
        Ok(Self {
            http,
            oci,
            base: format!("{scheme}://{host}/v2/{}", reference.repository()),
            reference: reference.clone(),
            auth,
            authorization: Mutex::new(Authorization::Anonymous),
            credentials_origin: config.origin(),
            has_credentials,
            credential_source: config.credential_source(reference.registry()),
        })
    }

    /// Connects as [`Repository::connect`] does, and authenticates for pushing at once (the
    /// push requests go through oci-client, which needs its token first). A push token also
    /// grants pulls, so reads use it too.
    pub async fn connect_for_push(reference: &ImageReference, config: &RegistryConfig) -> Result<Self, RegistryError> {
        let repository = Self::connect(reference, config).await?;
        let token = repository
            .oci
            .auth(reference.oci(), &repository.auth, RegistryOperation::Push)
            .await
            .map_err(|e| repository.auth_error(e))?;
        if let Some(token) = token {
            *repository.authorization.lock().await = Authorization::Bearer { token, obtained: Instant::now() };
        }
        Ok(repository)
    }

    /// Uploads `bytes` unless the repository has them already; their descriptor.
    pub async fn push_blob(&self, media_type: &str, bytes: Bytes) -> Result<Descriptor, RegistryError> {
        let digest = Digest::of(&bytes);
        let what = format!("blob {digest}");
        let descriptor = Descriptor::new(media_type, digest, bytes.len() as u64);
        let exists = self.oci.blob_exists(self.reference.oci(), &digest.to_string()).await.unwrap_or(false);
        if !exists {
            self.oci
                .push_blob(self.reference.oci(), bytes, &digest.to_string())
                .await
                .map_err(|e| self.push_error(&what, &e))?;
        }
        Ok(descriptor)
    }

    /// Stores a manifest under `reference` (a tag, or its own digest); its digest.
    pub async fn push_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of(&bytes);
        let what = format!("manifest {}:{reference}", self.reference.repository());
        let target = match reference.parse::<Digest>() {
            Ok(d) => self.reference.oci().clone_with_digest(d.to_string()),
            Err(_) => oci_client::Reference::with_tag(
                self.reference.registry().to_owned(),
                self.reference.repository().to_owned(),
                reference.to_owned(),
            ),
        };
        let content_type = header::HeaderValue::from_str(media_type)
            .map_err(|e| RegistryError::Malformed { what: what.clone(), problem: e.to_string() })?;
        self.oci.push_manifest_raw(&target, bytes, content_type).await.map_err(|e| self.push_error(&what, &e))?;
        Ok(digest)
    }

    fn push_error(&self, what: &str, error: &oci_client::errors::OciDistributionError) -> RegistryError {
        RegistryError::Push { registry: self.registry().to_owned(), what: what.to_owned(), detail: chain(error) }
    }

    /// A bearer token for pulling, through oci-client's handshake (`/v2/`'s challenge, then
    /// the token service, with the Basic credentials if any).
    async fn fetch_token(&self) -> Result<Authorization, RegistryError> {
        let token = self
            .oci
            .auth(self.reference.oci(), &self.auth, RegistryOperation::Pull)
            .await
            .map_err(|e| self.auth_error(e))?;
        Ok(match token {
            Some(token) => Authorization::Bearer { token, obtained: Instant::now() },
            // `/v2/` asked for no token after all: Basic, if there is anything to send.
            None if self.has_credentials => Authorization::Basic,
            None => Authorization::Anonymous,
        })
    }

    /// `request` with the credentials the registry asked for; a token is renewed first once
    /// it may have expired.
    async fn authorize(&self, request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, RegistryError> {
        let mut authorization = self.authorization.lock().await;
        if let Authorization::Bearer { obtained, .. } = &*authorization
            && obtained.elapsed() >= TOKEN_MIN_LIFE
        {
            *authorization = self.fetch_token().await?;
        }
        Ok(match (&*authorization, &self.auth) {
            (Authorization::Bearer { token, .. }, _) => request.bearer_auth(token),
            (Authorization::Basic, RegistryAuth::Basic(user, password)) => request.basic_auth(user, Some(password)),
            _ => request,
        })
    }

    /// Follows a 401's challenge; whether the request is worth sending again.
    async fn answer_challenge(&self, response: &reqwest::Response) -> Result<bool, RegistryError> {
        let next = match challenge(response) {
            Some(Challenge::Bearer) => self.fetch_token().await?,
            Some(Challenge::Basic) if self.has_credentials => Authorization::Basic,
            _ => return Ok(false),
        };
        let mut authorization = self.authorization.lock().await;
        let changed = !matches!(
            (&*authorization, &next),
            (Authorization::Basic, Authorization::Basic) | (Authorization::Anonymous, Authorization::Anonymous)
        );
        *authorization = next;
        Ok(changed)
    }

    fn auth_error(&self, error: oci_client::errors::OciDistributionError) -> RegistryError {
        let registry = self.registry().to_owned();
        match error {
            oci_client::errors::OciDistributionError::RequestError(e) => {
                RegistryError::Unreachable { registry, detail: chain(&e) }
            }
            other => RegistryError::Auth { registry, detail: chain(&other) },
        }
    }

    pub fn registry(&self) -> &str {
        self.reference.registry_host()
    }

    pub fn reference(&self) -> &ImageReference {
        &self.reference
    }

    async fn get(&self, path: &str, accept: &str, what: &str) -> Result<reqwest::Response, RegistryError> {
        let url = format!("{}/{path}", self.base);
        let mut challenged = false;
        loop {
            let request = self.authorize(self.http.get(&url).header(header::ACCEPT, accept)).await?;
            let response = request
                .send()
                .await
                .map_err(|e| RegistryError::Unreachable { registry: self.registry().to_owned(), detail: chain(&e) })?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            // One challenge per request: the credentials it asks for, or a fresh token. A
            // second refusal, or one asking for what was sent, stands.
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                if self.answer_challenge(&response).await? {
                    tracing::debug!(what, "answering the registry's challenge");
                    continue;
                }
            }
            return Err(self.status_error(response, what).await);
        }
    }

    async fn status_error(&self, response: reqwest::Response, what: &str) -> RegistryError {
        let registry = self.registry().to_owned();
        let what = what.to_owned();
        let status = response.status();
        match status {
            StatusCode::NOT_FOUND => RegistryError::NotFound { registry, what },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let registry_name = self.reference.registry();
                let hint = match (&self.credential_source, self.has_credentials) {
                    (CredentialSource::Helper(helper), true) => {
                        format!("the credentials docker-credential-{helper} gave for {registry_name} were not accepted")
                    }
                    (CredentialSource::Helper(helper), false) => format!(
                        "docker-credential-{helper} (named in {}) has no credentials for {registry_name}",
                        self.credentials_origin
                    ),
                    (_, true) => {
                        format!("the credentials for {registry_name} in {} were not accepted", self.credentials_origin)
                    }
                    (_, false) => format!("no credentials for {registry_name} ({})", self.credentials_origin),
                };
                RegistryError::Unauthorized { registry, what, status, hint }
            }
            _ => {
                // The error body of a registry is a short JSON document; a few hundred bytes
                // of it are enough to say what went wrong.
                let body = read_bounded(response, 4096)
                    .await
                    .map(|b| String::from_utf8_lossy(&b).trim().chars().take(300).collect())
                    .unwrap_or_default();
                RegistryError::Status { registry, what, status, body }
            }
        }
    }

    /// The manifest (or index) at `reference` (a tag or a digest). A manifest fetched by digest
    /// must have that digest; one fetched by tag must match the digest the registry names.
    pub async fn manifest(&self, reference: &str) -> Result<FetchedManifest, RegistryError> {
        let what = format!("manifest {}:{reference}", self.reference.repository());
        let response = self.get(&format!("manifests/{reference}"), &media_type::ACCEPTED.join(", "), &what).await?;
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let header_digest =
            response.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = self.body(response, MAX_MANIFEST_BYTES as u64, &what).await?;
        let digest = Digest::of(&bytes);
        if let Ok(expected) = reference.parse::<Digest>()
            && expected != digest
        {
            return Err(RegistryError::DigestMismatch {
                what,
                expected,
                actual: digest,
                expected_size: bytes.len() as u64,
                actual_size: bytes.len() as u64,
            });
        }
        // Another algorithm's digest cannot be compared; ours is what gets pinned.
        if let Some(header) = header_digest.filter(|h| h.starts_with("sha256:"))
            && header != digest.to_string()
        {
            return Err(RegistryError::HeaderDigest {
                what,
                header: header.chars().take(100).collect(),
                actual: digest,
            });
        }
        let manifest = manifest::parse(&bytes, content_type.as_deref())
            .map_err(|source| RegistryError::Manifest { what, source })?;
        Ok(FetchedManifest { digest, bytes, manifest })
    }

    /// The descriptors of the manifests that refer to `subject` (OCI 1.1): from the referrers
    /// API, or, where the registry has none (it answers 404, as distribution 2.8 does), from the
    /// referrers tag schema's index at tag `sha256-<hex>`.
    pub async fn referrers(&self, subject: Digest) -> Result<Vec<Descriptor>, RegistryError> {
        let what = format!("referrers of {subject}");
        match self.get(&format!("referrers/{subject}"), media_type::OCI_INDEX, &what).await {
            Ok(response) => {
                let content_type =
                    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let bytes = self.body(response, MAX_MANIFEST_BYTES as u64, &what).await?;
                match manifest::parse(&bytes, content_type.as_deref().or(Some(media_type::OCI_INDEX))) {
                    Ok(Manifest::Index(index)) => Ok(index.manifests),
                    Ok(Manifest::Image(_)) => Err(RegistryError::Malformed {
                        what,
                        problem: "the referrers API answered an image manifest, not an index".into(),
                    }),
                    Err(source) => Err(RegistryError::Manifest { what, source }),
                }
            }
            // 404 is the spec's "no referrers API"; some registries say 400, 405 or 501.
            Err(RegistryError::NotFound { .. })
            | Err(RegistryError::Status {
                status: StatusCode::BAD_REQUEST | StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED,
                ..
            }) => {
                tracing::debug!(%subject, "no referrers API: reading the referrers tag schema");
                match self.manifest(&crate::digest::tag_prefix(subject)).await {
                    Ok(FetchedManifest { manifest: Manifest::Index(index), .. }) => Ok(index.manifests),
                    Ok(_) => Err(RegistryError::Malformed {
                        what: format!("referrers tag {}", crate::digest::tag_prefix(subject)),
                        problem: "holds an image manifest, not the index the referrers tag schema expects".into(),
                    }),
                    Err(e) if e.is_not_found() => Ok(Vec::new()),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// A blob as a stream. The caller checks its size and digest as it reads.
    pub async fn blob_stream(&self, descriptor: &Descriptor) -> Result<reqwest::Response, RegistryError> {
        self.get(&format!("blobs/{}", descriptor.digest), "*/*", &format!("blob {}", descriptor.digest)).await
    }

    /// A small blob (a signature layer, a bundle), whole, if it is at most `max` bytes and has
    /// the size and digest its descriptor says.
    pub async fn blob(&self, descriptor: &Descriptor, max: u64) -> Result<Bytes, RegistryError> {
        let what = format!("blob {}", descriptor.digest);
        if descriptor.size() > max {
            return Err(RegistryError::TooLarge { what, max });
        }
        let response = self.blob_stream(descriptor).await?;
        let bytes = self.body(response, descriptor.size(), &what).await?;
        let actual = Digest::of(&bytes);
        if actual != descriptor.digest || bytes.len() as u64 != descriptor.size() {
            return Err(RegistryError::DigestMismatch {
                what,
                expected: descriptor.digest,
                actual,
                expected_size: descriptor.size(),
                actual_size: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// A blob of at most `max` bytes written to `out` as it arrives, checked against its
    /// descriptor's size and digest at the end (the caller discards `out` on an error).
    pub async fn blob_to(
        &self,
        descriptor: &Descriptor,
        max: u64,
        out: &mut (impl std::io::Write + Send),
    ) -> Result<(), RegistryError> {
        use sha2::Digest as _;
        let what = format!("blob {}", descriptor.digest);
        if descriptor.size() > max {
            return Err(RegistryError::TooLarge { what, max });
        }
        let mut response = self.blob_stream(descriptor).await?;
        let (mut hasher, mut size) = (sha2::Sha256::new(), 0u64);
        let unreachable = |e: &dyn std::error::Error| RegistryError::Unreachable {
            registry: self.registry().to_owned(),
            detail: format!("reading {what}: {}", chain(e)),
        };
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            size += chunk.len() as u64;
            if size > descriptor.size() {
                break;
            }
            hasher.update(&chunk);
            out.write_all(&chunk).map_err(|e| unreachable(&e))?;
        }
        let actual = Digest(hasher.finalize().into());
        if actual != descriptor.digest || size != descriptor.size() {
            return Err(RegistryError::DigestMismatch {
                what,
                expected: descriptor.digest,
                actual,
                expected_size: descriptor.size(),
                actual_size: size,
            });
        }
        Ok(())
    }

    async fn body(&self, response: reqwest::Response, max: u64, what: &str) -> Result<Bytes, RegistryError> {
        read_bounded(response, max).await.map_err(|e| match e {
            BodyError::TooLarge => RegistryError::TooLarge { what: what.to_owned(), max },
            BodyError::Read(e) => RegistryError::Unreachable {
                registry: self.registry().to_owned(),
                detail: format!("reading {what}: {}", chain(&e)),
            },
        })
    }
}

enum Challenge {
    Basic,
    Bearer,
}

/// The scheme a 401 asks for (`WWW-Authenticate`); a bearer challenge wins over a Basic one.
fn challenge(response: &reqwest::Response) -> Option<Challenge> {
    let schemes: Vec<String> = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_whitespace().next().map(str::to_ascii_lowercase))
        .collect();
    if schemes.iter().any(|s| s == "bearer") {
        Some(Challenge::Bearer)
    } else if schemes.iter().any(|s| s == "basic") {
        Some(Challenge::Basic)
    } else {
        None
    }
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// Reads at most `max` bytes of an answer; one byte more is an error, so the registry cannot
/// make us hold more than we asked for.
async fn read_bounded(mut response: reqwest::Response, max: u64) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|length| length > max) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

/// Follows redirects (registries send blobs to storage services), but never from HTTPS to
/// plain HTTP unless the target is a registry allowed plain HTTP.
fn no_downgrade(plain_http_hosts: Vec<String>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let url = attempt.url().clone();
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else if url.scheme() != "https" && !plain_http_hosts.contains(&host) {
            attempt.error(format!("refusing a redirect to {url}: not HTTPS"))
        } else {
            attempt.follow()
        }
    })
}

/// An error and its causes on one line: reqwest's own message ("error sending request") says
/// little; the cause ("Connection refused") says what happened.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
