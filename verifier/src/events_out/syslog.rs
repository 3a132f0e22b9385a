//! Events to the local syslog daemon: RFC 5424 messages, one datagram each, on its Unix socket
//! (`/dev/log`), with the event's JSON object as the message. Facility `authpriv` (security
//! messages, kept from ordinary users by the usual configurations); severity `warning` for a
//! denial, `notice` for what was only audited or observed.
use std::{
    io,
    os::unix::net::UnixDatagram,
    path::{Path, PathBuf},
};

pub const DEV_LOG: &str = "/dev/log";

const FACILITY_AUTHPRIV: u8 = 10;
const SEVERITY_WARNING: u8 = 4;
const SEVERITY_NOTICE: u8 = 5;

pub struct Syslog {
    path: PathBuf,
    socket: Option<UnixDatagram>,
    host: String,
    pid: u32,
}

impl Syslog {
    /// Connects to the syslog socket at `path` (`DEV_LOG`, or a test's own).
    pub fn connect(path: &Path, host: &str) -> io::Result<Self> {
        let mut syslog =
            Self { path: path.to_owned(), socket: None, host: header_field(host, 255), pid: std::process::id() };
        syslog.reconnect()?;
        Ok(syslog)
    }

    fn reconnect(&mut self) -> io::Result<&UnixDatagram> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(&self.path)?;
        Ok(self.socket.insert(socket))
    }

    /// Sends one event: `action` is its MSGID, `time` its TIMESTAMP, `json` the message.
    pub fn send(&mut self, action: &str, time: &str, json: &[u8]) -> io::Result<()> {
        let frame = frame(action, time, &self.host, self.pid, json);
        let sent = match &self.socket {
            Some(socket) => socket.send(&frame),
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        match sent {
            Ok(_) => Ok(()),
            // The syslog daemon restarted (a new socket at the same path): connect again, once.
            Err(_) => self.reconnect()?.send(&frame).map(drop),
        }
    }
}

/// `<PRI>1 TIMESTAMP HOSTNAME provgate PROCID MSGID - MSG` (RFC 5424 section 6), without
/// structured data: everything is in the JSON message.
pub fn frame(action: &str, time: &str, host: &str, pid: u32, json: &[u8]) -> Vec<u8> {
    let severity = if action == "denied" { SEVERITY_WARNING } else { SEVERITY_NOTICE };
    let pri = FACILITY_AUTHPRIV * 8 + severity;
    let header = format!("<{pri}>1 {time} {host} provgate {pid} {} - ", header_field(action, 32));
    let json = json.strip_suffix(b"\n").unwrap_or(json);
    [header.as_bytes(), json].concat()
}

/// A header field as RFC 5424 allows it: printable ASCII without spaces, at most `max` long,
/// `-` when empty.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if field.is_empty() { "-".into() } else { field }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_reach_a_datagram_socket_as_rfc5424() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut syslog = Syslog::connect(&path, "node 1").unwrap();
        syslog.send("denied", "2025-11-25T10:00:00.123Z", b"{\"event_id\":1}\n").unwrap();
        syslog.send("would-deny", "2025-11-25T10:00:01.000Z", b"{\"event_id\":2}\n").unwrap();
        let mut buf = [0u8; 4096];
        let pid = std::process::id();
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            format!("<84>1 2025-11-25T10:00:00.123Z node1 provgate {pid} denied - {{\"event_id\":1}}")
        );
        let n = server.recv(&mut buf).unwrap();
        assert!(std::str::from_utf8(&buf[..n]).unwrap().starts_with("<85>1 2025-11-25T10:00:01.000Z node1 "));
        // The syslog daemon restarts: a new socket at the same path is found again.
        drop(server);
        std::fs::remove_file(&path).unwrap();
        let server = UnixDatagram::bind(&path).unwrap();
        syslog.send("observed", "2025-11-25T10:00:02.000Z", b"{}").unwrap();
        let n = server.recv(&mut buf).unwrap();
        assert!(std::str::from_utf8(&buf[..n]).unwrap().ends_with(" observed - {}"));
    }

    #[test]
    fn no_socket_is_an_error() {
        assert!(Syslog::connect(Path::new("/nonexistent/log"), "h").is_err());
    }
}
