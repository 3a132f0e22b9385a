//! Events out: every event the daemon records, also written as one JSON object per line to
//! where the configuration's `[events]` table says (a file rotated by size, stdout, or syslog),
//! for the log shipper a fleet already runs (Vector, Fluent Bit, an OpenTelemetry collector).
//! [`json`] builds the one object an event is (also for `denials --follow --json`), [`file`]
//! rotates, [`syslog`] frames RFC 5424.
mod file;
mod json;
mod syslog;

use std::{
    io::{self, BufWriter, Stdout, Write as _},
    path::{Path, PathBuf},
};

use serde::Deserialize;

pub use file::RotatingFile;
pub use json::{EventJson, hostname};
pub use syslog::{DEV_LOG, Syslog};

use crate::store::EventRecord;

/// The `[events]` table of the configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    pub output: Output,
    pub file: PathBuf,
    pub max_bytes: u64,
    pub keep: u32,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    None,
    Stdout,
    File,
    Syslog,
}

/// The smallest rotation size: a few events, whatever their command lines.
pub const MIN_MAX_BYTES: u64 = 64 * 1024;

impl Default for EventsConfig {
    fn default() -> Self {
        Self { output: Output::None, file: "/var/log/provgate/events.jsonl".into(), max_bytes: 10 << 20, keep: 5 }
    }
}

impl EventsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_bytes < MIN_MAX_BYTES {
            return Err(format!("events.max_bytes = {}: must be at least {MIN_MAX_BYTES}", self.max_bytes));
        }
        if self.output == Output::File && !self.file.is_absolute() {
            return Err(format!("events.file = {:?}: must be an absolute path", self.file));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("events output {target}: {source}")]
    Open { target: String, source: io::Error },
    #[error("events output {target}: {source}")]
    Write { target: String, source: io::Error },
}

enum Target {
    Stdout(BufWriter<Stdout>),
    File(RotatingFile),
    Syslog(Syslog),
}

/// Where events go, opened once; written from the recorder's thread.
pub struct Sink {
    target: Target,
    /// What the target is, for error messages.
    name: String,
    host: String,
    line: Vec<u8>,
}

impl Sink {
    /// The configured output, or None when events are only stored.
    pub fn open(config: &EventsConfig) -> Result<Option<Self>, SinkError> {
        Self::open_with_syslog(config, Path::new(DEV_LOG))
    }

    /// As `open`, with the syslog socket at `syslog_path` (tests bind their own).
    pub fn open_with_syslog(config: &EventsConfig, syslog_path: &Path) -> Result<Option<Self>, SinkError> {
        let host = hostname();
        let (target, name) = match config.output {
            Output::None => return Ok(None),
            Output::Stdout => (Target::Stdout(BufWriter::new(io::stdout())), "stdout".to_owned()),
            Output::File => {
                let name = format!("file {}", config.file.display());
                let file = RotatingFile::open(&config.file, config.max_bytes, config.keep)
                    .map_err(|source| SinkError::Open { target: name.clone(), source })?;
                (Target::File(file), name)
            }
            Output::Syslog => {
                let name = format!("syslog {}", syslog_path.display());
                let syslog = Syslog::connect(syslog_path, &host)
                    .map_err(|source| SinkError::Open { target: name.clone(), source })?;
                (Target::Syslog(syslog), name)
            }
        };
        Ok(Some(Self { target, name, host, line: Vec::with_capacity(4096) }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes one event (`id`: its id in the store, None if storing it failed). Returns false
    /// when the event could not be kept within the file's size bound and was left out.
    pub fn write(&mut self, id: Option<i64>, event: &EventRecord) -> Result<bool, SinkError> {
        self.line.clear();
        let json = EventJson::new(id, event, &self.host);
        json.write_line(&mut self.line);
        let written = match &mut self.target {
            Target::Stdout(out) => out.write_all(&self.line).map(|()| true),
            Target::File(file) => file.write_line(&self.line),
            Target::Syslog(syslog) => syslog.send(&event.action, &json.time, &self.line).map(|()| true),
        };
        written.map_err(|source| SinkError::Write { target: self.name.clone(), source })
    }

    /// Hands what is buffered to the file or stdout (after each batch, so a shipper tailing the
    /// file sees events within the ring buffer's wake-up delay).
    pub fn flush(&mut self) -> Result<(), SinkError> {
        let flushed = match &mut self.target {
            Target::Stdout(out) => out.flush(),
            Target::File(file) => file.flush(),
            Target::Syslog(_) => Ok(()),
        };
        flushed.map_err(|source| SinkError::Write { target: self.name.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::{json::tests::FIELDS, *};

    #[test]
    fn file_sink_writes_json_lines_with_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            EventsConfig { output: Output::File, file: dir.path().join("e/events.jsonl"), ..Default::default() };
        let mut sink = Sink::open(&config).unwrap().unwrap();
        let event = json::tests::kubernetes_event();
        for id in 1..=3 {
            assert!(sink.write(Some(id), &event).unwrap());
        }
        sink.flush().unwrap();
        let text = std::fs::read_to_string(&config.file).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        for (i, v) in lines.iter().enumerate() {
            assert_eq!(v["event_id"], i as i64 + 1);
            for field in FIELDS {
                assert!(!v[field].is_null(), "{field} in {v}");
            }
            assert_eq!(v["host"], hostname());
        }
    }

    #[test]
    fn syslog_sink_sends_one_frame_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("log");
        let server = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
        let config = EventsConfig { output: Output::Syslog, ..Default::default() };
        let mut sink = Sink::open_with_syslog(&config, &socket).unwrap().unwrap();
        sink.write(Some(9), &json::tests::kubernetes_event()).unwrap();
        let mut buf = vec![0u8; 65536];
        let n = server.recv(&mut buf).unwrap();
        let frame = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(frame.starts_with("<84>1 2025-11-25T10:00:00.123Z "), "{frame}");
        let json = &frame[frame.find(" denied - ").unwrap() + " denied - ".len()..];
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["event_id"], 9);
        assert_eq!(v.as_object().unwrap().len(), FIELDS.len());
    }

    #[test]
    fn none_opens_nothing_and_bad_sizes_are_refused() {
        assert!(Sink::open(&EventsConfig::default()).unwrap().is_none());
        assert!(EventsConfig { max_bytes: 100, ..Default::default() }.validate().is_err());
        let relative = EventsConfig { output: Output::File, file: "events.jsonl".into(), ..Default::default() };
        assert!(relative.validate().is_err());
    }

    /// The figure for bench/event-sink.sh: events per second through the file sink (JSON built,
    /// rotated at the default size, flushed per batch as the recorder does when the ring buffer
    /// is full) against a plain BufWriter writing the same bytes. Run in release, ignored by
    /// default.
    #[test]
    #[ignore = "benchmark: bench/event-sink.sh"]
    fn bench_json_lines_sink() {
        use std::time::Instant;
        let count: usize =
            std::env::var("PROVGATE_BENCH_EVENTS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
        // What one drain of a full ring buffer hands the recorder: the default 1 MiB holds about
        // 2,000 kernel events of about 500 bytes.
        const BATCH: usize = 2048;
        let dir =
            tempfile::tempdir_in(std::env::var_os("PROVGATE_BENCH_DIR").unwrap_or_else(|| "/var/tmp".into())).unwrap();
        let mut events: Vec<EventRecord> = (0..BATCH).map(|_| json::tests::kubernetes_event()).collect();
        for (i, e) in events.iter_mut().enumerate() {
            e.path = Some(format!("/var/lib/containerd/rootfs/usr/local/bin/tool-{i}"));
            e.ino += i as u64;
        }
        let config = EventsConfig { output: Output::File, file: dir.path().join("events.jsonl"), ..Default::default() };
        let mut sink = Sink::open(&config).unwrap().unwrap();
        let start = Instant::now();
        for n in 0..count / BATCH {
            for (i, e) in events.iter().enumerate() {
                assert!(sink.write(Some((n * BATCH + i) as i64), e).unwrap());
            }
            sink.flush().unwrap();
        }
        let sink_secs = start.elapsed().as_secs_f64();
        let sink_bytes: u64 =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
        // Baseline: the same lines, serialized beforehand, through a BufWriter to one file.
        let mut lines = Vec::new();
        for (i, e) in events.iter().enumerate() {
            EventJson::new(Some(i as i64), e, &hostname()).write_line(&mut lines);
        }
        let mut plain = BufWriter::with_capacity(64 * 1024, std::fs::File::create(dir.path().join("plain")).unwrap());
        let start = Instant::now();
        for _ in 0..count / BATCH {
            plain.write_all(&lines).unwrap();
            plain.flush().unwrap();
        }
        let plain_secs = start.elapsed().as_secs_f64();
        let written = (count / BATCH * BATCH) as f64;
        println!(
            "events: {written}, {} bytes per event, rotated files on disk: {sink_bytes} bytes (bound {})",
            lines.len() / BATCH,
            (u64::from(config.keep) + 1) * config.max_bytes
        );
        println!(
            "json-lines sink: {:.0} events/s ({:.1} MiB/s)",
            written / sink_secs,
            lines.len() as f64 * (count / BATCH) as f64 / sink_secs / (1 << 20) as f64
        );
        println!("plain BufWriter of the same bytes: {:.0} events/s", written / plain_secs);
        println!("ratio sink/plain throughput: {:.2}", plain_secs / sink_secs);
        assert!(sink_bytes <= (u64::from(config.keep) + 1) * config.max_bytes);
    }
}
