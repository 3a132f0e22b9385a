//! Serving the API ([`crate::api`]): newline-delimited JSON over a Unix socket that only root
//! can open, and Prometheus metrics over HTTP (on a loopback address unless `metrics_public`). Both hand requests to the
//! daemon's loop, which owns the state, through one channel.
use std::{net::SocketAddr, path::Path};

use anyhow::{Context as _, Result};

use crate::api::{Answer, Request};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    net::{TcpListener, UnixListener},
    sync::{mpsc, oneshot},
};

pub struct Call {
    pub request: Request,
    pub reply: oneshot::Sender<Answer>,
}

const MAX_REQUEST: u64 = 64 * 1024;

/// Binds the socket; the daemon's umask (0077) makes it root-only from creation on.
pub fn bind_socket(path: &Path) -> Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).with_context(|| format!("API socket {}", path.display()))
}

pub async fn serve_socket(listener: UnixListener, calls: mpsc::Sender<Call>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(read.take(MAX_REQUEST));
            if reader.read_line(&mut line).await.is_err() {
                return;
            }
            let answer = match serde_json::from_str::<Request>(line.trim()) {
                Ok(request) => ask(&calls, request).await,
                Err(e) => Answer::Failed { error: format!("bad request: {e}") },
            };
            let Ok(mut out) = serde_json::to_string(&answer) else { return };
            out.push('\n');
            let _ = write.write_all(out.as_bytes()).await;
        });
    }
}

async fn ask(calls: &mpsc::Sender<Call>, request: Request) -> Answer {
    let stopping = || Answer::Failed { error: "daemon is stopping".into() };
    let (reply, answer) = oneshot::channel();
    if calls.send(Call { request, reply }).await.is_err() {
        return stopping();
    }
    answer.await.unwrap_or_else(|_| stopping())
}

pub async fn bind_metrics(address: &str, public: bool) -> Result<TcpListener> {
    let addr: SocketAddr = crate::config::metrics_socket_address(address, public).map_err(anyhow::Error::msg)?;
    TcpListener::bind(addr).await.with_context(|| format!("metrics address {address}"))
}

/// A minimal HTTP/1.1 responder: every request gets the metrics.
pub async fn serve_metrics(listener: TcpListener, calls: mpsc::Sender<Call>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let body = match ask(&calls, Request::Metrics).await {
                Answer::Metrics { text } => text,
                other => format!("{other:?}"),
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
