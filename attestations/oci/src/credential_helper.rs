//! Docker credential helpers (`docker-credential-<name> get`): the protocol cloud registries
//! (ECR, GCR, ACR) and desktop keychains use, so their credentials never sit in config.json.
//! The helper reads the server address on stdin and prints `{"Username": …, "Secret": …}`.
use std::{
    io::{Read, Write as _},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::registries::Credentials;

/// Helpers that call a cloud API (ecr-login) take a few seconds; one that hangs must not hang
/// `image add`.
const TIMEOUT: Duration = Duration::from_secs(60);
/// A helper's answer is a small JSON object.
const MAX_OUTPUT: u64 = 64 * 1024;
/// What every helper prints, with a non-zero exit, when it holds nothing for that server
/// (docker-credential-helpers' `ErrCredentialsNotFound`).
const NOT_FOUND: &str = "credentials not found in native keychain";
/// The user name a helper gives with an OAuth2 identity (refresh) token instead of a password.
const IDENTITY_TOKEN_USER: &str = "<token>";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credential helper {program}: {problem}")]
pub struct HelperError {
    pub program: String,
    pub problem: String,
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// The program Docker would run for helper `name`; a name that is a path is refused, since
/// Docker only ever looks helpers up on PATH.
pub fn program(name: &str) -> Result<String, HelperError> {
    let program = format!("docker-credential-{name}");
    if name.is_empty() || name.contains('/') || name.contains('\0') {
        return Err(HelperError {
            program,
            problem: "not a helper name (it must be a plain name found on PATH)".into(),
        });
    }
    Ok(program)
}

/// Asks helper `name` for the credentials of `server` (`host[:port]`, or Docker Hub's
/// `https://index.docker.io/v1/`). `Ok(None)` when it has none.
pub fn get(name: &str, server: &str) -> Result<Option<Credentials>, HelperError> {
    let program = program(name)?;
    ask(Command::new(&program), &program, server)
}

/// Runs `command get` (named `program` in messages) for `server`.
fn ask(mut command: Command, program: &str, server: &str) -> Result<Option<Credentials>, HelperError> {
    let fail = |problem: String| HelperError { program: program.to_owned(), problem };
    let mut child =
        command.arg("get").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(
            |e| match e.kind() {
                std::io::ErrorKind::NotFound => fail("not found on PATH".into()),
                _ => fail(format!("cannot run it: {e}")),
            },
        )?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is judged by its exit status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let stdout = child.stdout.take().map(read_bounded);
    let stderr = child.stderr.take().map(read_bounded);
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(|e| fail(format!("waiting for it: {e}")))? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("no answer within {} s", TIMEOUT.as_secs())));
            }
            None => thread::sleep(Duration::from_millis(10)),
        }
    };
    let stdout = stdout.map(join).unwrap_or_default();
    let stderr = stderr.map(join).unwrap_or_default();
    if !status.success() {
        let said = if stdout.trim().is_empty() { stderr.trim() } else { stdout.trim() };
        if said == NOT_FOUND {
            return Ok(None);
        }
        return Err(fail(format!("{status}{}", excerpt(said))));
    }
    if stdout.len() as u64 > MAX_OUTPUT {
        return Err(fail(format!("answered more than {MAX_OUTPUT} bytes")));
    }
    let answer: Answer = serde_json::from_str(&stdout).map_err(|e| {
        fail(format!("answered something that is not a credentials object ({e}){}", excerpt(stdout.trim())))
    })?;
    if answer.username == IDENTITY_TOKEN_USER {
        return Err(fail(format!(
            "gave an identity token for {server}, which provgate cannot exchange; give a user name and password or token in auths instead"
        )));
    }
    if answer.username.is_empty() && answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials { username: answer.username, password: answer.secret }))
}

/// Keeps at most one byte more than allowed, so an oversized answer is seen as such, and drains
/// the rest so that the helper is not left blocked on a full pipe.
fn read_bounded(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut stream).take(MAX_OUTPUT + 1).read_to_end(&mut bytes);
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(handle: thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

/// A few hundred characters of what the helper said; never its whole output, which might hold
/// a secret it printed by mistake on a long line.
fn excerpt(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.is_empty() {
        String::new()
    } else {
        format!(": {}", first_line.chars().take(200).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// Asks a helper script `script` for the credentials of `server`.
    fn ask_script(script: &str, server: &str) -> Result<Option<Credentials>, HelperError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker-credential-test");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Another test thread forking while this one wrote the script holds a write descriptor
        // of it until that child execs: exec then fails with ETXTBSY for a moment.
        for _ in 0..100 {
            match ask(Command::new(&path), "docker-credential-test", server) {
                Err(e) if e.to_string().contains("Text file busy") => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                other => return other,
            }
        }
        panic!("{} stayed busy", path.display());
    }

    #[test]
    fn names_that_are_paths_are_refused() {
        for name in ["", "../bin/sh", "/usr/bin/x"] {
            let err = program(name).unwrap_err();
            assert!(err.problem.contains("plain name"), "{name:?}: {err}");
        }
        assert_eq!(program("ecr-login").unwrap(), "docker-credential-ecr-login");
        let err = get("provgate-no-such-helper", "r.example.com").unwrap_err().to_string();
        assert_eq!(err, "credential helper docker-credential-provgate-no-such-helper: not found on PATH");
    }

    #[test]
    fn the_server_goes_in_and_credentials_come_out() {
        let script = r#"read server; [ "$1" = get ] && printf '{"ServerURL":"%s","Username":"ci","Secret":"pw-%s"}' "$server" "$server""#;
        let found = ask_script(script, "registry.example.com:5000").unwrap().unwrap();
        assert_eq!((found.username.as_str(), found.password.as_str()), ("ci", "pw-registry.example.com:5000"));
    }

    #[test]
    fn nothing_stored_means_no_credentials() {
        assert_eq!(ask_script(&format!("echo '{NOT_FOUND}'; exit 1"), "r.example.com").unwrap(), None);
        assert_eq!(ask_script(r#"echo '{"Username":"","Secret":""}'"#, "r.example.com").unwrap(), None);
    }

    #[test]
    fn failures_name_the_helper_and_what_it_said() {
        let err = ask_script("echo 'keychain locked' >&2; exit 3", "r.example.com").unwrap_err().to_string();
        assert_eq!(err, "credential helper docker-credential-test: exit status: 3: keychain locked");
        let err =
            ask_script(r#"echo '{"Username":"<token>","Secret":"refresh"}'"#, "r.example.com").unwrap_err().to_string();
        assert!(err.contains("identity token for r.example.com"), "{err}");
        let err = ask_script("echo hello", "r.example.com").unwrap_err().to_string();
        assert!(err.contains("not a credentials object") && err.ends_with(": hello"), "{err}");
        let err = ask_script("yes 0123456789abcdef | head -c 200000", "r.example.com").unwrap_err().to_string();
        assert!(err.contains("more than 65536 bytes"), "{err}");
    }
}
