//! A registry token service, as Docker Hub and most registries run one: the registry answers
//! `401` with `WWW-Authenticate: Bearer realm=...,service=...`, the client asks the realm for a
//! token (with Basic credentials), and presents the token. Tokens are ES256 JWTs with the signing
//! certificate in `x5c`, which docker-registry checks against its `rootcertbundle`.
use std::{
    io::{BufRead as _, BufReader, Write as _},
    net::TcpListener,
    path::Path,
    sync::{Arc, Mutex},
};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL},
};
use p256::ecdsa::{Signature, signature::Signer as _};
use provgate_attestations_testkit::{Keypair, keys::pem, x509::CaCertificate};
use serde_json::json;

pub const SERVICE: &str = "provgate-test-registry";
pub const ISSUER: &str = "provgate-test-token-issuer";

pub struct TokenService {
    pub port: u16,
    certificate: Arc<CaCertificate>,
    /// The scopes of every token request, in order, and whether its credentials were right.
    pub requests: Arc<Mutex<Vec<(String, bool)>>>,
}

impl TokenService {
    /// Serves tokens to `user` with `password` (others get 401).
    pub fn start(user: &str, password: &str) -> Self {
        let now = jiff::Timestamp::now();
        let day = jiff::SignedDuration::from_hours(24);
        let certificate = Arc::new(CaCertificate::new(
            "CN=provgate test token issuer,O=provgate test",
            None,
            None,
            now - day,
            now + day,
        ));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token service");
        let port = listener.local_addr().expect("an address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let expected = format!("Basic {}", BASE64.encode(format!("{user}:{password}")));
        let (signer, log) = (certificate.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push(line.trim_end().to_owned());
                }
                let target = head.first().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("/").to_owned();
                let authorized = head
                    .iter()
                    .any(|l| l.to_ascii_lowercase().starts_with("authorization:") && l[14..].trim() == expected);
                let scopes: Vec<String> = target
                    .split_once('?')
                    .map(|(_, query)| query.split('&').filter_map(|p| p.strip_prefix("scope=")).map(decode).collect())
                    .unwrap_or_default();
                log.lock().expect("lock").push((scopes.join(" "), authorized));
                let answer = if authorized {
                    let body = json!({ "token": jwt(&signer, &scopes), "expires_in": 300 }).to_string();
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
                };
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        Self { port, certificate, requests }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The certificate docker-registry trusts tokens from.
    pub fn write_root(&self, path: &Path) {
        std::fs::write(path, pem("CERTIFICATE", &self.certificate.der)).expect("write the token root");
    }
}

fn decode(text: &str) -> String {
    text.replace("%3A", ":")
        .replace("%3a", ":")
        .replace("%2C", ",")
        .replace("%2c", ",")
        .replace("%2F", "/")
        .replace("%2f", "/")
        .replace('+', " ")
}

/// A token granting every scope asked for (`repository:NAME:ACTIONS`).
fn jwt(certificate: &CaCertificate, scopes: &[String]) -> String {
    let now = jiff::Timestamp::now().as_second();
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(json!({ "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>() }))
        })
        .collect();
    let header = json!({ "typ": "JWT", "alg": "ES256", "x5c": [BASE64.encode(&certificate.der)] });
    let claims = json!({
        "iss": ISSUER, "sub": "ci", "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": format!("{now}-{}", scopes.len()), "access": access,
    });
    let signed = format!("{}.{}", BASE64URL.encode(header.to_string()), BASE64URL.encode(claims.to_string()));
    let Keypair::P256(key) = &certificate.key else { panic!("the test CA key is P-256") };
    let signature: Signature = key.sign(signed.as_bytes());
    format!("{signed}.{}", BASE64URL.encode(signature.to_bytes()))
}
