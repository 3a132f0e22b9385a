//! Talking to the running daemon over its API socket.
use std::{
    io::{BufRead as _, BufReader, Write as _},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    time::Duration,
};

use super::{Answer, DaemonStatus, KernelFileState, MapChanges, Request, socket_path};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no provgate daemon is running (no API socket at {0})")]
    NotRunning(PathBuf),
    #[error("the daemon's API socket {0} is root-only: run this command as root")]
    PermissionDenied(PathBuf),
    #[error("daemon API {path}: {message}")]
    Failed { path: PathBuf, message: String },
}

/// Sends one request and returns the daemon's answer; a [`Answer::Failed`] is an error.
pub fn call(run_dir: &Path, request: &Request) -> Result<Answer, ClientError> {
    let path = socket_path(run_dir);
    let failed = |message: String| ClientError::Failed { path: path.clone(), message };
    let mut stream = UnixStream::connect(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => ClientError::NotRunning(path.clone()),
        std::io::ErrorKind::PermissionDenied => ClientError::PermissionDenied(path.clone()),
        _ => failed(e.to_string()),
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| failed(e.to_string()))?;
    let mut line = serde_json::to_string(request).map_err(|e| failed(e.to_string()))?;
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(|e| failed(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(|e| failed(e.to_string()))?;
    match serde_json::from_str(&answer).map_err(|e| failed(format!("unreadable answer: {e}")))? {
        Answer::Failed { error } => Err(failed(error)),
        answer => Ok(answer),
    }
}

fn unexpected(run_dir: &Path, answer: Answer) -> ClientError {
    ClientError::Failed { path: socket_path(run_dir), message: format!("unexpected answer {answer:?}") }
}

pub fn status(run_dir: &Path) -> Result<DaemonStatus, ClientError> {
    match call(run_dir, &Request::Status)? {
        Answer::Status { status } => Ok(*status),
        other => Err(unexpected(run_dir, other)),
    }
}

/// Has the daemon apply the store's trust to the kernel now: what changed, in how many µs.
pub fn reload(run_dir: &Path) -> Result<(MapChanges, u64), ClientError> {
    match call(run_dir, &Request::Reload)? {
        Answer::Reloaded { changes, micros } => Ok((changes, micros)),
        other => Err(unexpected(run_dir, other)),
    }
}

/// What the kernel holds for the file at `path` (absolute: the daemon resolves it in its own
/// working directory).
pub fn kernel_state(run_dir: &Path, path: &Path) -> Result<KernelFileState, ClientError> {
    match call(run_dir, &Request::KernelState { path: path.to_owned() })? {
        Answer::KernelState { kernel } => Ok(kernel),
        other => Err(unexpected(run_dir, other)),
    }
}
