//! The daemon's TOML configuration file. Every key is optional; command-line flags override it.
//! `provgate config` prints the defaults below as a commented file.
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{daemon::scope::Mode, events_out::EventsConfig};

pub const DEFAULT_PATH: &str = "/etc/provgate/provgate.toml";

/// The documented default configuration, printed by `provgate config` and shipped as
/// `packaging/provgate.toml`. A test checks that it parses to `Config::default()`.
pub const DEFAULT_TOML: &str = r#"# provgate daemon configuration (/etc/provgate/provgate.toml).
# Every key is optional; the values below are the defaults. Command-line flags override them.

# SQLite store: allowlist sources, file cache, events, audit log.
store = "/var/lib/provgate/provgate.db"
# Status, lock and the root-only API socket (api.sock).
run_dir = "/run/provgate"
# bpffs directory for pinned programs and maps (used with keep_on_exit).
pin_dir = "/sys/fs/bpf/provgate"

# Mode for scopes that do not name one, and host-wide when no scope is listed:
# "enforce" denies unknown code with EPERM, "audit" allows it and records a would-deny.
mode = "audit"
# Leave the programs enforcing when the daemon exits; a restarted daemon takes them over.
keep_on_exit = false
# Only report execs of unknown files (also the automatic fallback on kernels refusing BPF LSM).
observe_only = false
# Deny anonymous executable memory (JIT) in enforced scopes; by default it is counted. With it
# denied, what amounts to it is denied too: private file mappings both writable and executable
# (W^X), written copy-on-write pages made executable, READ_IMPLIES_EXEC, executable stacks and
# userfaultfd.
deny_anon_exec = false
# Hardened mode (default: on when the mode is "enforce"): root in an enforced scope cannot
# disable, bypass or impersonate provgate. Its BPF objects, process, store, configuration and
# pins are out of reach; processes cannot move to a less strict scope; kernel modules and kexec
# images must be vouched for like any code, and cannot come from memory; block devices and
# /dev/mem are not writable. The programs stay pinned while the daemon runs, so a killed daemon
# leaves enforcement on (a clean stop detaches them unless keep_on_exit).
# hardened = true
# cgroups whose processes may trace and write other processes (debuggers); by default no
# process in an enforced scope may.
debugger_cgroups = []
# cgroups exempt from the hardened tamper rules, where provgate's own commands are run in a
# hardened scope (they still run only vouched code).
admin_cgroups = []

# Directories scanned at start: candidates under them (ELF, #!, execute bit) are hashed, and
# their filesystems are watched (new, replaced and modified files are re-hashed; an exec of a
# file not yet hashed waits for its hash).
roots = []
# Further paths whose filesystems are watched without a start-up scan.
watch = []
# Watch overlay filesystems (container root filesystems) as they are mounted.
watch_overlays = true
# (roots, watch and watch_overlays serve the observe-only program, which cannot hash files; the
# enforcing programs hash every file in the kernel on first use.)

# Code on filesystems whose bytes the kernel cannot vouch for (FUSE, NFS, SMB, 9p, Ceph, AFS,
# cluster filesystems) is refused in enforced scopes. Trust a type ("nfs4", "fuse") or a mount
# point ("/mnt/tools") here.
trusted_filesystems = []

# Signed provenance (register, sources verify): the trust policy naming the signers that may
# vouch for code (without one, nothing signed is trusted; see attestations/examples), and the
# Sigstore trusted root (without one, the public-good instance's root built into provgate).
# trust_policy = "/etc/provgate/trust-policy.toml"
# trusted_root = "/etc/provgate/trusted_root.json"
# Refuse `provgate register --unsigned`.
forbid_unsigned = false
# `provgate os trust`: the keyrings whose keys may sign the OS archive's InRelease (binary .gpg
# or armored .asc); --keyring replaces them.
os_keyrings = ["/usr/share/keyrings/debian-archive-keyring.gpg"]

# Trust feeds ("registry/repository:tag") followed besides those added with `provgate feed add`;
# their items are verified with trust_policy and trusted_root. The daemon syncs every feed this
# often ("0s" never); an unchanged feed costs one manifest request.
feeds = []
feed_interval = "5m"
# Registry credentials for feeds, a Docker config.json [default: $DOCKER_CONFIG/config.json,
# else ~/.docker/config.json].
# registry_config = "/etc/provgate/registries.json"

# Prometheus metrics (plain HTTP, no authentication) on this address; "" disables them. Only a
# loopback address is accepted unless metrics_public = true, which allows any address (e.g.
# "0.0.0.0:9464" behind a Kubernetes Service): the counters then reach whoever reaches the port.
metrics_address = "127.0.0.1:9464"
metrics_public = false

# The host's root directory as the daemon sees it: "/" on the host, "/host" in a container with
# the host's / mounted there read-only (deploy/kubernetes). The file of a denied event that the
# kernel did not hash is opened through /proc/<pid>/root (the process's own view, right for
# containers too) while the process lives, else under host_root.
host_root = "/"

# Events older than this are deleted from the store ("0s" keeps them all); the audit log of
# trust changes is kept whatever its age.
event_retention = "90d"

# Capacity of the kernel verdict map (files), and the event ring buffer in KiB.
verdict_capacity = 262144
event_buffer_kib = 1024

# Enforcement scopes: cgroup v2 directories (and their descendants), each with its own mode.
# Without any, the mode applies host-wide.
# [[scope]]
# cgroup = "/sys/fs/cgroup/workloads.slice"
# mode = "enforce"

# Images trusted as this node pulls them: the daemon follows containerd's events on its API
# socket and runs `provgate image add` (with trust_policy and trusted_root) for each image pulled
# whose repository matches a pattern ("registry.example/acme/*": `*` within one path segment,
# `**` across segments). Unsigned or wrongly signed images are refused and listed by `image ls`.
[images]
auto = []
containerd_socket = "/run/containerd/containerd.sock"

# Events out: every event the daemon records (a denial, a would-deny, an observation) is also
# written as one JSON object per line, for a log shipper (Vector, Fluent Bit, an OpenTelemetry
# collector). The fields are listed in the README ("Events out").
[events]
# "none" (only the store), "stdout", "file", or "syslog" (RFC 5424 datagrams on /dev/log,
# facility authpriv, the JSON object as the message).
output = "none"
# With output = "file": the file, and its rotation. When the next line would take the file past
# max_bytes (at least 65536), it becomes FILE.1 (FILE.1 becomes FILE.2, ...; FILE.<keep> is
# removed) and a new file starts: at most (keep + 1) * max_bytes on disk. Do not rotate it with
# logrotate as well.
file = "/var/log/provgate/events.jsonl"
max_bytes = 10485760
keep = 5
"#;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub store: PathBuf,
    pub run_dir: PathBuf,
    pub pin_dir: PathBuf,
    pub mode: Mode,
    pub keep_on_exit: bool,
    pub observe_only: bool,
    pub deny_anon_exec: bool,
    pub hardened: Option<bool>,
    pub debugger_cgroups: Vec<PathBuf>,
    pub admin_cgroups: Vec<PathBuf>,
    pub roots: Vec<PathBuf>,
    pub watch: Vec<PathBuf>,
    pub watch_overlays: bool,
    pub trusted_filesystems: Vec<String>,
    pub metrics_address: String,
    pub metrics_public: bool,
    pub host_root: PathBuf,
    pub trust_policy: Option<PathBuf>,
    pub trusted_root: Option<PathBuf>,
    pub forbid_unsigned: bool,
    pub os_keyrings: Vec<PathBuf>,
    pub feeds: Vec<String>,
    #[serde(with = "humantime_serde_compat")]
    pub feed_interval: std::time::Duration,
    pub registry_config: Option<PathBuf>,
    #[serde(with = "humantime_serde_compat")]
    pub event_retention: std::time::Duration,
    pub verdict_capacity: u32,
    pub event_buffer_kib: u32,
    #[serde(rename = "scope")]
    pub scopes: Vec<ScopeConfig>,
    pub images: ImagesConfig,
    pub events: EventsConfig,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ImagesConfig {
    /// Repository patterns of images trusted as containerd pulls them.
    pub auto: Vec<String>,
    pub containerd_socket: PathBuf,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        Self { auto: Vec::new(), containerd_socket: "/run/containerd/containerd.sock".into() }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    pub cgroup: PathBuf,
    pub mode: Option<Mode>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store: crate::store::DEFAULT_PATH.into(),
            run_dir: crate::api::DEFAULT_RUN_DIR.into(),
            pin_dir: crate::kernel::loader::DEFAULT_PIN_DIR.into(),
            mode: Mode::Audit,
            keep_on_exit: false,
            observe_only: false,
            deny_anon_exec: false,
            hardened: None,
            debugger_cgroups: Vec::new(),
            admin_cgroups: Vec::new(),
            roots: Vec::new(),
            watch: Vec::new(),
            watch_overlays: true,
            trusted_filesystems: Vec::new(),
            metrics_address: "127.0.0.1:9464".into(),
            metrics_public: false,
            host_root: "/".into(),
            trust_policy: None,
            trusted_root: None,
            forbid_unsigned: false,
            os_keyrings: vec!["/usr/share/keyrings/debian-archive-keyring.gpg".into()],
            feeds: Vec::new(),
            feed_interval: std::time::Duration::from_secs(300),
            registry_config: None,
            event_retention: std::time::Duration::from_secs(90 * 24 * 3600),
            verdict_capacity: 1 << 18,
            event_buffer_kib: 1024,
            scopes: Vec::new(),
            images: ImagesConfig::default(),
            events: EventsConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads `path`; a missing file at the default location means the defaults.
    pub fn load(path: &Path, explicit: bool) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Self::default());
            }
            Err(source) => {
                return Err(ConfigError::Read { path: path.to_owned(), source });
            }
        };
        let config: Self = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            // toml's message names the line and column and shows the offending text.
            message: e.to_string().trim_end().replace('\n', " | "),
        })?;
        config.validate().map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if !(self.event_buffer_kib >= 4 && self.event_buffer_kib.is_power_of_two()) {
            return Err(format!("event_buffer_kib = {}: must be a power of two, at least 4", self.event_buffer_kib));
        }
        self.events.validate()?;
        if self.verdict_capacity == 0 {
            return Err("verdict_capacity must be positive".into());
        }
        if !self.metrics_address.is_empty() {
            metrics_socket_address(&self.metrics_address, self.metrics_public)?;
        }
        if !self.host_root.is_absolute() {
            return Err(format!("host_root = {:?}: must be an absolute path", self.host_root));
        }
        Ok(())
    }
}

/// Durations written as humantime reads them ("5m", "90s", "1h 30m").
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<std::time::Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a duration (5m, 90s, 1h): {e}")))
    }
}

/// The one rule for where metrics may be served: `address` must be a socket address, and a
/// loopback one unless `public` (`metrics_public = true`, `--metrics-public`) asks for more. The
/// endpoint has no authentication, so serving it off the host is a deliberate choice.
pub fn metrics_socket_address(address: &str, public: bool) -> Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = address.parse().map_err(|e| format!("metrics_address = {address:?}: {e}"))?;
    if !public && !addr.ip().is_loopback() {
        return Err(format!(
            "metrics_address = {address:?} is not a loopback address: set metrics_public = true \
             (or --metrics-public) to serve metrics beyond this host"
        ));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("provgate.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path, true)
    }

    #[test]
    fn documented_defaults_are_the_defaults() {
        assert_eq!(parse(DEFAULT_TOML).unwrap(), Config::default());
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn the_shipped_file_is_the_documented_defaults() {
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/provgate.toml");
        assert_eq!(std::fs::read_to_string(shipped).unwrap(), DEFAULT_TOML);
    }

    #[test]
    fn reads_scopes_and_overrides() {
        let config = parse(
            "mode = \"enforce\"\nroots = [\"/usr\"]\n[[scope]]\ncgroup = \"/sys/fs/cgroup/a\"\n[[scope]]\ncgroup = \"b\"\nmode = \"audit\"\n",
        )
        .unwrap();
        assert_eq!(config.mode, Mode::Enforce);
        assert_eq!(config.roots, vec![PathBuf::from("/usr")]);
        assert_eq!(config.scopes.len(), 2);
        assert_eq!(config.scopes[1].mode, Some(Mode::Audit));
        let config = parse("feeds = [\"registry.example/acme/trust:prod\"]\nfeed_interval = \"90s\"\n").unwrap();
        assert_eq!(config.feeds, vec!["registry.example/acme/trust:prod".to_owned()]);
        assert_eq!(config.feed_interval, std::time::Duration::from_secs(90));
        let config = parse("event_retention = \"7d\"\n").unwrap();
        assert_eq!(config.event_retention, std::time::Duration::from_secs(7 * 24 * 3600));
        let config = parse("[events]\noutput = \"file\"\nfile = \"/tmp/e.jsonl\"\nkeep = 2\n").unwrap();
        assert_eq!(config.events.output, crate::events_out::Output::File);
        assert_eq!((config.events.keep, config.events.max_bytes), (2, 10 << 20));
    }

    #[test]
    fn errors_name_the_file_and_the_line() {
        let err = parse("mode = \"enforce\"\nkeep_on_exti = true\n").unwrap_err().to_string();
        assert!(err.contains("provgate.toml") && err.contains("line 2") && err.contains("keep_on_exti"), "{err}");
        let err = parse("mode = \"deny-all\"\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("deny-all"), "{err}");
        let err = parse("metrics_address = \"0.0.0.0:9464\"\n").unwrap_err().to_string();
        assert!(err.contains("loopback") && err.contains("metrics_public = true"), "{err}");
        let err = parse("event_buffer_kib = 3\n").unwrap_err().to_string();
        assert!(err.contains("power of two"), "{err}");
        let err = parse("feed_interval = \"often\"\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("not a duration"), "{err}");
        let err = parse("[events]\noutput = \"kafka\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("kafka"), "{err}");
        let err = parse("[events]\nmax_bytes = 10\n").unwrap_err().to_string();
        assert!(err.contains("events.max_bytes"), "{err}");
    }

    #[test]
    fn missing_default_file_means_defaults_but_missing_explicit_file_is_an_error() {
        let missing = Path::new("/nonexistent/provgate.toml");
        assert_eq!(Config::load(missing, false).unwrap(), Config::default());
        assert!(matches!(Config::load(missing, true), Err(ConfigError::Read { .. })));
    }

    #[test]
    fn a_public_metrics_address_needs_metrics_public() {
        for address in ["0.0.0.0:9464", "[::]:9464", "10.1.2.3:9464"] {
            let err = parse(&format!("metrics_address = {address:?}\n")).unwrap_err().to_string();
            assert!(err.contains("metrics_public = true") && err.contains(address), "{err}");
            let config = parse(&format!("metrics_address = {address:?}\nmetrics_public = true\n")).unwrap();
            assert_eq!(config.metrics_address, address);
            assert!(config.metrics_public);
        }
        // Loopback stays allowed either way; a bad address is an error either way.
        assert!(parse("metrics_address = \"[::1]:9000\"\nmetrics_public = true\n").is_ok());
        let err = parse("metrics_address = \"nowhere\"\nmetrics_public = true\n").unwrap_err().to_string();
        assert!(err.contains("nowhere"), "{err}");
        assert!(metrics_socket_address("127.0.0.1:9464", false).is_ok());
        assert!(metrics_socket_address("0.0.0.0:9464", false).unwrap_err().contains("metrics_public"));
        assert_eq!(metrics_socket_address("0.0.0.0:9464", true).unwrap().port(), 9464);
    }

    #[test]
    fn host_root_is_an_absolute_path() {
        assert_eq!(parse("host_root = \"/host\"\n").unwrap().host_root, PathBuf::from("/host"));
        let err = parse("host_root = \"host\"\n").unwrap_err().to_string();
        assert!(err.contains("host_root") && err.contains("absolute"), "{err}");
    }
}
