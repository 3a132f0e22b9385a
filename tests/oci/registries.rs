//! Registries: Basic authentication over plain HTTP to loopback, 401 without credentials, a
//! registry that is down, and one that answers garbage.
use std::{
    io::{Read as _, Write as _},
    net::TcpListener,
};

use base64::Engine as _;
use libtest_mimic::{Failed, Trial};
use provgate_oci_testkit::{Member, Registry, token::TokenService};
use provgate_test_support::Run;

use crate::{
    fixture::{ELF, Expect as _, Fixture, ensure},
    trial,
};

pub fn trials() -> Vec<Trial> {
    vec![
        trial("registries::basic_auth_over_plain_http_to_loopback", basic_auth_over_plain_http_to_loopback),
        trial("registries::unauthorized_without_credentials", unauthorized_without_credentials),
        trial("registries::bearer_token_from_the_token_service", bearer_token_from_the_token_service),
        trial("registries::credentials_from_a_credential_helper", credentials_from_a_credential_helper),
        trial("registries::registry_down", registry_down),
        trial("registries::registry_answering_garbage", registry_answering_garbage),
    ]
}

fn auth_registry() -> Result<Fixture, Failed> {
    Fixture::with_registry(Registry::start_with_auth("ci", "s3cret-Passw0rd")?)
}

fn basic_auth_over_plain_http_to_loopback() -> Result<(), Failed> {
    let mut fixture = auth_registry()?;
    let (_, digest) = fixture.push("private/app", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let signer = fixture.release_signer();
    fixture.sign("private/app", &digest, &signer);
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret-Passw0rd");
    let config = serde_json::json!({ "auths": { format!("http://{}", fixture.registry.addr): { "auth": auth } } });
    std::fs::write(fixture.path("config.json"), config.to_string())?;
    let reference = format!("{}:v1", fixture.repository("private/app"));
    fixture.image(&["add", &reference]).succeeded()?;
    ensure(fixture.allowed(ELF), "the program is allowed")?;
    // DOCKER_CONFIG is honoured when no --registry-config is given.
    let docker_config = fixture.path("docker");
    std::fs::create_dir(&docker_config)?;
    std::fs::copy(fixture.path("config.json"), docker_config.join("config.json"))?;
    fixture.image(&["rm", &reference]).succeeded()?;
    let mut command = fixture.provgate();
    command
        .env("DOCKER_CONFIG", &docker_config)
        .args(["image", "add", &reference, "--policy"])
        .arg(fixture.path("policy.toml"))
        .arg("--trusted-root")
        .arg(fixture.path("trusted_root.json"));
    Run::of(&mut command).succeeded()
}

fn unauthorized_without_credentials() -> Result<(), Failed> {
    let fixture = auth_registry()?;
    let reference = format!("{}:v1", fixture.repository("private/app"));
    let run = fixture.image(&["add", &reference]);
    let addr = &fixture.registry.addr;
    run.refused(&format!(
        "image {reference}: resolving the reference: registry {addr} refused access to manifest private/app:v1 (401 Unauthorized): no credentials for {addr} ({})",
        fixture.path("config.json").display()
    ))?;
    // Wrong credentials are named as such.
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:wrong");
    std::fs::write(
        fixture.path("config.json"),
        serde_json::json!({ "auths": { addr: { "auth": auth } } }).to_string(),
    )?;
    let run = fixture.image(&["add", &reference]);
    run.refused(&format!("the credentials for {addr} in {} were not accepted", fixture.path("config.json").display()))?;
    fixture.store_is_empty()
}

fn bearer_token_from_the_token_service() -> Result<(), Failed> {
    let service = TokenService::start("ci", "t0ken-Passw0rd");
    let mut fixture = Fixture::with_registry(Registry::start_with_tokens(&service, "ci", "t0ken-Passw0rd")?)?;
    let (_, digest) = fixture.push("private/app", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let signer = fixture.release_signer();
    fixture.sign("private/app", &digest, &signer);
    let reference = format!("{}:v1", fixture.repository("private/app"));
    // Without credentials the token service refuses, and the error says where it failed.
    let run = fixture.image(&["add", &reference]);
    run.refused(&format!(
        "image {reference}: resolving the reference: authenticating to registry {}",
        fixture.registry.addr
    ))?;
    fixture.store_is_empty()?;
    let pushed = service.requests.lock().map_err(|e| e.to_string())?.len();
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:t0ken-Passw0rd");
    std::fs::write(
        fixture.path("config.json"),
        serde_json::json!({ "auths": { &fixture.registry.addr: { "auth": auth } } }).to_string(),
    )?;
    fixture.image(&["add", &reference]).succeeded()?;
    ensure(fixture.allowed(ELF), "the program is allowed")?;
    // provgate asked the token service for a pull token with its credentials, once.
    let requests = service.requests.lock().map_err(|e| e.to_string())?;
    let provgate: Vec<&(String, bool)> = requests[pushed..].iter().collect();
    ensure(
        provgate == [&("repository:private/app:pull".to_owned(), true)],
        format!("one authorized pull token request, got {provgate:?}"),
    )
}

/// Installs `docker-credential-provgate-test` in the fixture: it logs the server address it is
/// asked about, and answers with `answer` (a shell command).
fn credential_helper(fixture: &Fixture, answer: &str) -> Result<String, Failed> {
    let bin = fixture.path("bin");
    std::fs::create_dir_all(&bin)?;
    let helper = bin.join("docker-credential-provgate-test");
    let log = fixture.path("helper.log");
    std::fs::write(&helper, format!("#!/bin/sh\nread server\necho \"$1 $server\" >> {}\n{answer}\n", log.display()))?;
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
}

fn credentials_from_a_credential_helper() -> Result<(), Failed> {
    let mut fixture = auth_registry()?;
    let (_, digest) = fixture.push("private/app", "v1", &[vec![Member::file("usr/bin/app", ELF, 0o755)]]);
    let signer = fixture.release_signer();
    fixture.sign("private/app", &digest, &signer);
    let addr = fixture.registry.addr.clone();
    let reference = format!("{}:v1", fixture.repository("private/app"));
    let add = |path: &str| {
        let mut command = fixture.image_command(&["add", &reference]);
        command.env("PATH", path);
        Run::of(&mut command)
    };
    // A helper that has nothing for this registry: anonymous, refused, and the hint names it.
    let path = credential_helper(&fixture, "echo 'credentials not found in native keychain'; exit 1")?;
    std::fs::write(fixture.path("config.json"), serde_json::json!({ "credsStore": "provgate-test" }).to_string())?;
    add(&path).refused(&format!(
        "refused access to manifest private/app:v1 (401 Unauthorized): docker-credential-provgate-test (named in {}) has no credentials for {addr}",
        fixture.path("config.json").display()
    ))?;
    // A helper that fails: its failure, and nothing else is tried.
    let path = credential_helper(&fixture, "echo 'the keychain is locked' >&2; exit 2")?;
    add(&path).refused(&format!(
        "image {reference}: connecting to the registry: getting the credentials for registry {addr}: credential helper docker-credential-provgate-test: exit status: 2: the keychain is locked"
    ))?;
    fixture.store_is_empty()?;
    // credHelpers names the helper for this registry; it is asked about exactly this server.
    let path = credential_helper(
        &fixture,
        r#"printf '{"ServerURL":"%s","Username":"ci","Secret":"s3cret-Passw0rd"}' "$server""#,
    )?;
    std::fs::write(
        fixture.path("config.json"),
        serde_json::json!({ "credHelpers": { &addr: "provgate-test" } }).to_string(),
    )?;
    add(&path).succeeded()?;
    ensure(fixture.allowed(ELF), "the program is allowed")?;
    let asked = std::fs::read_to_string(fixture.path("helper.log"))?;
    ensure(
        asked.lines().all(|line| line == format!("get {addr}")),
        format!("the helper was asked `get {addr}`, got {asked:?}"),
    )
}

fn registry_down() -> Result<(), Failed> {
    let fixture = Fixture::new()?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let reference = format!("127.0.0.1:{port}/app:v1");
    let run = fixture.image(&["add", &reference]);
    run.refused(&format!("image {reference}: resolving the reference: cannot reach registry 127.0.0.1:{port}"))?;
    run.check(run.stderr.to_lowercase().contains("connection refused"), "says the connection was refused")?;
    fixture.store_is_empty()
}

/// An HTTP answer with `body`.
fn http(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A server that answers every request with `answer`.
fn serve(answer: String) -> Result<u16, Failed> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    Ok(port)
}

fn registry_answering_garbage() -> Result<(), Failed> {
    let fixture = Fixture::new()?;
    let cases = [
        (http("200 OK", "text/html", "<html>hello</html>"), "resolving the reference: manifest app:v1: not a manifest"),
        (
            http(
                "200 OK",
                "application/vnd.example+json",
                r#"{"schemaVersion":2,"mediaType":"application/vnd.example+json"}"#,
            ),
            "resolving the reference: manifest app:v1: manifest of unknown media type \"application/vnd.example+json\"",
        ),
        (
            http("500 Internal Server Error", "text/plain", "database on fire"),
            "resolving the reference: registry 127.0.0.1:PORT answered 500 Internal Server Error for manifest app:v1: database on fire",
        ),
        ("this is not HTTP at all\r\n\r\n".to_owned(), "resolving the reference: cannot reach registry"),
    ];
    for (answer, expected) in cases {
        let port = serve(answer)?;
        let reference = format!("127.0.0.1:{port}/app:v1");
        let run = fixture.image(&["add", &reference]);
        run.refused(&format!("image {reference}: {}", expected.replace("PORT", &port.to_string())))?;
    }
    fixture.store_is_empty()
}
