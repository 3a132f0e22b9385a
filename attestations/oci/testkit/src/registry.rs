//! Debian's `docker-registry` (distribution 2.8) on a loopback port, with its own configuration
//! and storage in a temporary directory: never the package's default configuration, which
//! listens on all interfaces. Optionally with htpasswd Basic authentication.
use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use oci_client::{Reference, RegistryOperation, client::ClientProtocol, secrets::RegistryAuth};

use crate::oci::{Blob, Image, OCI_INDEX, OCI_MANIFEST};

pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub credentials: Option<(String, String)>,
}

/// Whether the tools the registry tests need are here; says which is missing.
pub fn tools() -> Result<(), String> {
    for tool in ["docker-registry", "skopeo", "htpasswd"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
        if !found {
            return Err(format!(
                "{tool} is not installed (apt-get install docker-registry skopeo apache2-utils, or scripts/setup.sh)"
            ));
        }
    }
    Ok(())
}

impl Registry {
    pub fn start() -> Result<Self, String> {
        Self::start_with(None, None)
    }

    /// Logging every request, for tests that count them ([`Registry::requests`]).
    pub fn start_with_access_log() -> Result<Self, String> {
        Self::start_logged(None, None, true)
    }

    /// The requests served so far, as `METHOD PATH` (with an access log only).
    pub fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let request = line.split('"').nth(1)?;
                let mut words = request.split(' ');
                Some(format!("{} {}", words.next()?, words.next()?))
            })
            .filter(|r| r.contains(" /v2/"))
            .collect()
    }

    /// With HTTP Basic authentication for `user` and `password` (bcrypt htpasswd).
    pub fn start_with_auth(user: &str, password: &str) -> Result<Self, String> {
        Self::start_with(Some((user.to_owned(), password.to_owned())), None)
    }

    /// With bearer tokens from `service`, for `user` and `password`.
    pub fn start_with_tokens(service: &crate::token::TokenService, user: &str, password: &str) -> Result<Self, String> {
        Self::start_with(Some((user.to_owned(), password.to_owned())), Some(service))
    }

    /// As [`Registry::start_with_tokens`], logging every request ([`Registry::requests`]).
    pub fn start_with_tokens_and_access_log(
        service: &crate::token::TokenService,
        user: &str,
        password: &str,
    ) -> Result<Self, String> {
        Self::start_logged(Some((user.to_owned(), password.to_owned())), Some(service), true)
    }

    fn start_with(
        credentials: Option<(String, String)>,
        tokens: Option<&crate::token::TokenService>,
    ) -> Result<Self, String> {
        Self::start_logged(credentials, tokens, false)
    }

    fn start_logged(
        credentials: Option<(String, String)>,
        tokens: Option<&crate::token::TokenService>,
        access_log: bool,
    ) -> Result<Self, String> {
        tools()?;
        let log_config = if access_log {
            "log:\n  level: info\n  accesslog:\n    disabled: false\n"
        } else {
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        };
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut auth = String::new();
        if let Some(service) = tokens {
            let root = dir.path().join("token-root.pem");
            service.write_root(&root);
            auth = format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                service.realm(),
                crate::token::SERVICE,
                crate::token::ISSUER,
                root.display()
            );
        } else if let Some((user, password)) = &credentials {
            let output = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .map_err(|e| format!("htpasswd: {e}"))?;
            if !output.status.success() {
                return Err(format!("htpasswd: {}", String::from_utf8_lossy(&output.stderr)));
            }
            std::fs::write(dir.path().join("htpasswd"), &output.stdout).map_err(|e| e.to_string())?;
            auth = format!(
                "auth:\n  htpasswd:\n    realm: provgate-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            );
        }
        // Another process may take the port between our probe and the registry's bind: retry.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
            let addr = format!("127.0.0.1:{port}");
            let config = format!(
                "version: 0.1\n{log_config}storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{auth}",
                dir.path().join("storage").display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
            let log = std::fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("docker-registry: {e}"))?;
            let mut child = child;
            match wait_ready(&mut child, &addr, &dir.path().join("registry.log")) {
                Ok(()) => {
                    return Ok(Self { child, dir, addr, credentials });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if !e.contains("address already in use") {
                        return Err(e);
                    }
                    last_error = e;
                }
            }
        }
        Err(last_error)
    }

    /// `127.0.0.1:PORT/repository`.
    pub fn repository(&self, repository: &str) -> String {
        format!("{}/{repository}", self.addr)
    }

    /// Where the registry keeps a blob's bytes, to alter them behind its back.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir.path().join("storage/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    pub fn storage(&self) -> &Path {
        self.dir.path()
    }

    pub fn pusher(&self) -> Pusher {
        let auth = match &self.credentials {
            Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            None => RegistryAuth::Anonymous,
        };
        Pusher::new(&self.addr, auth)
    }
}

impl Registry {
    /// Stops the registry: what a test does after this cannot reach it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Pushes blobs and manifests with oci-client, byte for byte (so digests are what the test
/// computed), over plain HTTP to the loopback registry.
pub struct Pusher {
    runtime: tokio::runtime::Runtime,
    client: oci_client::Client,
    addr: String,
    auth: RegistryAuth,
}

impl Pusher {
    pub fn new(addr: &str, auth: RegistryAuth) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let client = oci_client::Client::new(oci_client::client::ClientConfig {
            protocol: ClientProtocol::HttpsExcept(vec![addr.to_owned()]),
            ..Default::default()
        });
        Self { runtime, client, addr: addr.to_owned(), auth }
    }

    fn reference(&self, repository: &str, tag_or_digest: &str) -> Reference {
        let text = if tag_or_digest.starts_with("sha256:") {
            format!("{}/{repository}@{tag_or_digest}", self.addr)
        } else {
            format!("{}/{repository}:{tag_or_digest}", self.addr)
        };
        text.parse().expect("a valid reference")
    }

    pub fn blob(&self, repository: &str, blob: &Blob) {
        let reference = self.reference(repository, "latest");
        self.runtime.block_on(async {
            self.client.auth(&reference, &self.auth, RegistryOperation::Push).await.expect("authenticate for push");
            self.client.push_blob(&reference, blob.bytes.clone(), &blob.digest()).await.expect("push blob");
        });
    }

    /// Pushes `manifest` (with `media_type`) at `tag_or_digest`.
    pub fn manifest(&self, repository: &str, tag_or_digest: &str, manifest: &[u8], media_type: &str) {
        let reference = self.reference(repository, tag_or_digest);
        self.runtime.block_on(async {
            self.client.auth(&reference, &self.auth, RegistryOperation::Push).await.expect("authenticate for push");
            let content_type = reqwest::header::HeaderValue::from_str(media_type).expect("a header value");
            self.client.push_manifest_raw(&reference, manifest.to_vec(), content_type).await.expect("push manifest");
        });
    }

    /// Pushes an image's blobs and manifest, tagged `tag`; returns its digest.
    pub fn image(&self, repository: &str, tag: &str, image: &Image) -> String {
        self.blob(repository, &image.config);
        for layer in &image.layers {
            self.blob(repository, layer);
        }
        self.manifest(repository, tag, &image.manifest(), OCI_MANIFEST);
        image.digest()
    }

    /// Pushes an index (its images must be pushed already) tagged `tag`; returns its digest.
    pub fn index(&self, repository: &str, tag: &str, index: &[u8]) -> String {
        self.manifest(repository, tag, index, OCI_INDEX);
        crate::oci::digest(index)
    }
}

fn wait_ready(child: &mut Child, addr: &str, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("docker-registry exited ({status}): {log}"));
        }
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let request = format!("GET /v2/ HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.")
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("docker-registry did not answer within 20 s".into())
}
