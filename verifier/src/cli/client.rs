//! Talking to the running daemon over its API socket.
use std::{
    io::{BufRead as _, BufReader, Write as _},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no provgate daemon is running (no API socket at {0})")]
    NotRunning(PathBuf),
    #[error("the daemon's API socket {0} is root-only: run this command as root")]
    PermissionDenied(PathBuf),
    #[error("daemon API {path}: {message}")]
    Failed { path: PathBuf, message: String },
}

pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join("api.sock")
}

/// Sends one request and returns the daemon's answer (which has `"ok": true` on success).
pub fn call(run_dir: &Path, request: &Value) -> Result<Value, ClientError> {
    let path = socket_path(run_dir);
    let failed = |message: String| ClientError::Failed { path: path.clone(), message };
    let mut stream = UnixStream::connect(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => ClientError::NotRunning(path.clone()),
        std::io::ErrorKind::PermissionDenied => ClientError::PermissionDenied(path.clone()),
        _ => failed(e.to_string()),
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| failed(e.to_string()))?;
    let mut line = request.to_string();
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(|e| failed(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(|e| failed(e.to_string()))?;
    let value: Value = serde_json::from_str(&answer).map_err(|e| failed(format!("unreadable answer: {e}")))?;
    if value["ok"] == true {
        Ok(value)
    } else {
        Err(failed(value["error"].as_str().unwrap_or("request failed").to_owned()))
    }
}
