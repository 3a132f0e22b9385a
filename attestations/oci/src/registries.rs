//! Which registries we talk to and how: credentials from a Docker `config.json`
//! (`auths.<host>.auth`, base64 `user:password`, or a credential helper named in `credHelpers`
//! or `credsStore`), found through `--registry-config`, `DOCKER_CONFIG` or
//! `~/.docker/config.json`; and which registries may be reached over plain
//! HTTP: loopback ones, and those listed as insecure (`--insecure-registry HOST`, or the
//! `insecure-registries` key of that file, spelled as in Docker's daemon.json). Everything else
//! is HTTPS.
use std::{
    collections::HashMap,
    net::IpAddr,
    path::{Path, PathBuf},
};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use provgate_attestations::limits;
use serde::Deserialize;

use crate::credential_helper::{self, HelperError};

/// Registry configuration files are small; a larger one is a wrong path.
const MAX_CONFIG_BYTES: usize = 1 << 20;
const DOCKER_HUB: &str = "docker.io";
/// The server address Docker hands credential helpers for Docker Hub.
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registry configuration {origin}: {problem}")]
pub struct RegistryConfigError {
    pub origin: String,
    pub problem: String,
}

/// A user name and password for HTTP Basic authentication (and for a registry's token
/// service, which oci-client then asks for a bearer token).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    /// The file read, if any, for messages.
    origin: Option<PathBuf>,
    credentials: HashMap<String, Credentials>,
    /// Credential helper names by host (`host[:port]`), from `credHelpers`.
    helpers: HashMap<String, String>,
    /// The helper for every other host, from `credsStore`.
    default_helper: Option<String>,
    insecure: Vec<String>,
}

/// Where a registry's credentials come from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    None,
    Auths,
    Helper(String),
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "insecure-registries")]
    insecure_registries: Vec<String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl RegistryConfig {
    /// No credentials, nothing insecure beyond loopback.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Reads `explicit` (which must exist), else `$DOCKER_CONFIG/config.json`, else
    /// `$HOME/.docker/config.json`; a missing default file means anonymous access.
    pub fn load(explicit: Option<&Path>) -> Result<Self, RegistryConfigError> {
        let (path, required) = match explicit {
            Some(path) => (path.to_owned(), true),
            None => match Self::default_path() {
                Some(path) => (path, false),
                None => return Ok(Self::anonymous()),
            },
        };
        let origin = path.display().to_string();
        let bytes = match limits::read_bounded(&path, MAX_CONFIG_BYTES) {
            Ok(bytes) => bytes,
            Err(limits::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                tracing::debug!(path = origin, "no registry configuration: anonymous access");
                return Ok(Self::anonymous());
            }
            Err(e) => {
                return Err(RegistryConfigError { origin, problem: e.to_string() });
            }
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| RegistryConfigError { origin: origin.clone(), problem: "not UTF-8 text".into() })?;
        let mut config = Self::from_json(&origin, &text)?;
        config.origin = Some(path);
        Ok(config)
    }

    /// Where Docker keeps its client configuration.
    pub fn default_path() -> Option<PathBuf> {
        match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => Some(PathBuf::from(dir).join("config.json")),
            None => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json")),
        }
    }

    pub fn from_json(origin: &str, text: &str) -> Result<Self, RegistryConfigError> {
        let problem = |problem: String| RegistryConfigError { origin: origin.to_owned(), problem };
        limits::check_json(text.as_bytes(), MAX_CONFIG_BYTES, 16).map_err(|e| problem(e.to_string()))?;
        let file: ConfigFile =
            serde_json::from_str(text).map_err(|e| problem(format!("not a Docker config.json: {e}")))?;
        let mut credentials = HashMap::new();
        for (key, entry) in file.auths {
            let host = normalise_host(&key);
            let found = match (entry.auth.filter(|a| !a.is_empty()), entry.username, entry.password) {
                (Some(auth), _, _) => {
                    Some(decode_auth(&auth).map_err(|why| problem(format!("auths.{key:?}.auth: {why}")))?)
                }
                (None, Some(username), Some(password)) => Some(Credentials { username, password }),
                // An entry without a secret, as `docker login` leaves when a credential store
                // holds the password.
                _ => None,
            };
            if let Some(found) = found {
                credentials.insert(host, found);
            }
        }
        let helpers = file.cred_helpers.iter().map(|(key, name)| (normalise_host(key), name.clone())).collect();
        let default_helper = file.creds_store.filter(|name| !name.is_empty());
        for name in file.cred_helpers.values().chain(&default_helper) {
            credential_helper::program(name).map_err(|e| problem(e.to_string()))?;
        }
        let insecure = file.insecure_registries.iter().map(|host| normalise_host(host)).collect();
        Ok(Self { origin: None, credentials, helpers, default_helper, insecure })
    }

    /// Also reach `host` (`host[:port]`) over plain HTTP.
    pub fn allow_insecure(&mut self, host: &str) {
        self.insecure.push(normalise_host(host));
    }

    /// Where the credentials of `registry` come from: the helper `credHelpers` names for it,
    /// else its `auths` entry, else the `credsStore` helper (Docker's order, except that a secret
    /// written in `auths` is used even when a `credsStore` is set).
    pub fn credential_source(&self, registry: &str) -> CredentialSource {
        let host = normalise_host(registry);
        if let Some(helper) = self.helpers.get(&host) {
            return CredentialSource::Helper(helper.clone());
        }
        if self.credentials.contains_key(&host) {
            return CredentialSource::Auths;
        }
        match &self.default_helper {
            Some(helper) => CredentialSource::Helper(helper.clone()),
            None => CredentialSource::None,
        }
    }

    /// The credentials for `registry`, running its credential helper if it has one (which may
    /// take a while: helpers of cloud registries call their APIs). `None` means anonymous.
    pub fn credentials(&self, registry: &str) -> Result<Option<Credentials>, HelperError> {
        let host = normalise_host(registry);
        match self.credential_source(registry) {
            CredentialSource::None => Ok(None),
            CredentialSource::Auths => Ok(self.credentials.get(&host).cloned()),
            CredentialSource::Helper(name) => {
                let server = if host == DOCKER_HUB { DOCKER_HUB_SERVER } else { host.as_str() };
                credential_helper::get(&name, server)
            }
        }
    }

    /// Plain HTTP for loopback registries and those listed as insecure; HTTPS for the rest.
    pub fn plain_http(&self, registry: &str) -> bool {
        is_loopback(registry) || self.insecure.contains(&normalise_host(registry))
    }

    /// The file the configuration came from, for messages.
    pub fn origin(&self) -> String {
        match &self.origin {
            Some(path) => path.display().to_string(),
            None => "no registry configuration file".to_owned(),
        }
    }
}

fn decode_auth(auth: &str) -> Result<Credentials, String> {
    let bytes = BASE64.decode(auth.trim()).map_err(|e| format!("not base64: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 once decoded".to_owned())?;
    let (username, password) = text.split_once(':').ok_or("not user:password once decoded")?;
    Ok(Credentials { username: username.to_owned(), password: password.to_owned() })
}

/// `https://index.docker.io/v1/`, `http://host:5000/`, `Host:5000` → `docker.io`, `host:5000`.
fn normalise_host(key: &str) -> String {
    let without_scheme = key.trim().trim_start_matches("https://").trim_start_matches("http://");
    let host = without_scheme.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB.to_owned(),
        _ => host,
    }
}

/// `localhost`, `127.0.0.0/8` and `::1`, with or without a port.
pub fn is_loopback(registry: &str) -> bool {
    let host = normalise_host(registry);
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default().to_owned(),
        None => host.rsplit_once(':').map_or(host.clone(), |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) { name.to_owned() } else { host.clone() }
        }),
    };
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_auths() {
        let auth = BASE64.encode("alice:s3cret:with:colons");
        let json = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{auth}"}},
                "http://127.0.0.1:5000/": {{"username": "bob", "password": "pw"}},
                "registry.example.com": {{}}
            }}, "credHelpers": {{"gcr.io": "gcloud"}}, "insecure-registries": ["Build.internal:5000"]}}"#
        );
        let config = RegistryConfig::from_json("config.json", &json).unwrap();
        let hub = config.credentials("docker.io").unwrap().unwrap();
        assert_eq!((hub.username.as_str(), hub.password.as_str()), ("alice", "s3cret:with:colons"));
        assert_eq!(config.credentials("index.docker.io").unwrap(), Some(hub.clone()));
        assert_eq!(config.credentials("127.0.0.1:5000").unwrap().unwrap().username, "bob");
        assert_eq!(config.credentials("registry.example.com").unwrap(), None);
        assert_eq!(config.credential_source("registry.example.com"), CredentialSource::None);
        assert_eq!(config.credential_source("GCR.io"), CredentialSource::Helper("gcloud".into()));
        assert!(config.plain_http("build.internal:5000"));
        assert!(!config.plain_http("build.internal:5001"));
        assert!(!format!("{hub:?}").contains("s3cret"), "passwords stay out of logs");
    }

    #[test]
    fn bad_files_name_the_problem() {
        let err = RegistryConfig::from_json("c.json", r#"{"auths": {"h": {"auth": "%%%"}}}"#).unwrap_err();
        assert!(err.to_string().starts_with(r#"registry configuration c.json: auths."h".auth: not base64"#), "{err}");
        let err = RegistryConfig::from_json("c.json", r#"{"auths": {"h": {"auth": "YWxpY2U="}}}"#).unwrap_err();
        assert!(err.to_string().contains("not user:password"), "{err}");
        let err = RegistryConfig::from_json("c.json", r#"{"credsStore": "../../tmp/x"}"#).unwrap_err();
        assert!(
            err.to_string().contains("credential helper docker-credential-../../tmp/x: not a helper name"),
            "{err}"
        );
        let err = RegistryConfig::from_json("c.json", "[").unwrap_err();
        assert!(err.to_string().contains("not a Docker config.json"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.json");
        let err = RegistryConfig::load(Some(&missing)).unwrap_err();
        assert!(err.to_string().contains("none.json"), "{err}");
    }

    #[test]
    fn helpers_come_before_auths_and_the_store_after() {
        let auth = BASE64.encode("carol:pw");
        let json = format!(
            r#"{{"auths": {{"both.example.com": {{"auth": "{auth}"}}, "mine.example.com": {{"auth": "{auth}"}}}},
                "credHelpers": {{"both.example.com": "ecr-login"}}, "credsStore": "desktop"}}"#
        );
        let config = RegistryConfig::from_json("config.json", &json).unwrap();
        assert_eq!(config.credential_source("both.example.com"), CredentialSource::Helper("ecr-login".into()));
        assert_eq!(config.credential_source("mine.example.com"), CredentialSource::Auths);
        assert_eq!(config.credential_source("other.example.com"), CredentialSource::Helper("desktop".into()));
    }

    #[test]
    fn only_loopback_and_listed_hosts_get_plain_http() {
        let mut config = RegistryConfig::anonymous();
        for host in ["localhost:5000", "127.0.0.1:38211", "127.1.2.3", "[::1]:5000", "LOCALHOST"] {
            assert!(config.plain_http(host), "{host}");
        }
        for host in ["registry.example.com", "10.0.0.1:5000", "localhost.evil.com:5000", "127.0.0.1.nip.io"] {
            assert!(!config.plain_http(host), "{host}");
        }
        config.allow_insecure("10.0.0.1:5000");
        assert!(config.plain_http("10.0.0.1:5000"));
    }
}
