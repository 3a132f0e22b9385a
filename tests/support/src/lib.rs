//! What every end-to-end test of provgate shares:
//!
//! - [`Provgate`]: the real binary, always isolated from the machine it runs on. Each fixture owns
//!   a temporary directory and every command gets `--db`, `--run-dir` and `--config` inside it, so
//!   no test reads the host's `/etc/provgate/provgate.toml`, writes its store, or talks to a daemon
//!   running at `/run/provgate`. Inherited `PROVGATE_*` variables are removed and `RUST_LOG=warn`
//!   is set.
//! - [`must_run`], [`skip_or_fail`] and [`missing`]: the one rule for a part of the test
//!   environment that is not there (a tool, root, kernel BTF, a corpus). In CI (`CI` is `true` or
//!   `1`) the test fails naming it; elsewhere it prints `skipped: <reason>` and the caller returns.
//! - [`corpora`] and [`corpus`]: where the shared test corpora are (`../shared/corpora` beside the
//!   checkout, or `PROVGATE_CORPORA`).
//!
//! The crate does not depend on provgate: the binary's path is given to [`Provgate::new`], as
//! `Provgate::new(env!("CARGO_BIN_EXE_provgate"))` from a test target of the provgate package.
use std::{
    ffi::{OsStr, OsString},
    fmt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

// ------------------------------------------------------------------------------------------------
// Skip or fail

/// Whether this run must have every part it tests with (CI): the `CI` variable is `true` (in any
/// case) or `1`. Anything else, or no `CI` at all, is a developer's machine, where a missing part
/// skips the test that needs it.
pub fn must_run() -> bool {
    std::env::var("CI").is_ok_and(|v| ci_value_means_on(&v))
}

fn ci_value_means_on(value: &str) -> bool {
    value == "1" || value.eq_ignore_ascii_case("true")
}

/// A part the test needs is missing (`why` says which, and where to get it). In CI this panics
/// with the reason; elsewhere it prints one line, `skipped: <why>`, to stderr, and the caller
/// returns without testing anything.
#[track_caller]
pub fn skip_or_fail(why: impl fmt::Display) {
    if must_run() {
        panic!("{why} (CI is set, so a missing part fails the test instead of skipping it)");
    }
    eprintln!("skipped: {why}");
}

/// [`skip_or_fail`], then `None`: for `let Some(x) = ... else { return missing(...) }` and for
/// functions that return what the test needs or nothing.
#[track_caller]
pub fn missing<T>(why: impl fmt::Display) -> Option<T> {
    skip_or_fail(why);
    None
}

// ------------------------------------------------------------------------------------------------
// Locations

/// The workspace's root directory (the checkout).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Path::parent).expect("tests/support is two levels below the workspace root").to_owned()
}

/// The variable that moves the test tools' venv (scripts/setup.sh) somewhere else.
pub const TOOLS_VAR: &str = "PROVGATE_TOOLS";

/// A program of the test tools' venv that scripts/setup.sh makes (`$PROVGATE_TOOLS/venv/bin`,
/// default `/var/cache/provgate-tools`: kubernetes-validate, syft), or `None` after
/// [`skip_or_fail`] when it is not there.
#[track_caller]
pub fn tool(name: &str) -> Option<PathBuf> {
    let tools = match std::env::var_os(TOOLS_VAR) {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => PathBuf::from("/var/cache/provgate-tools"),
    };
    let program = tools.join("venv/bin").join(name);
    if program.is_file() {
        Some(program)
    } else {
        missing(format!("{name} is not installed at {}: run scripts/setup.sh", program.display()))
    }
}

/// The variable that moves the shared corpora somewhere else.
/// Every field of an exported event, in the schema's order (README, "Events out"): what the
/// daemon's events output, `denials --follow --json` and their tests agree on.
pub const EVENT_FIELDS: [&str; 24] = [
    "event_id",
    "time",
    "host",
    "action",
    "mode",
    "hook",
    "reason",
    "path",
    "sha256",
    "dev",
    "ino",
    "pid",
    "tid",
    "ppid",
    "uid",
    "comm",
    "exe",
    "command",
    "parent_command",
    "parent_exe",
    "cgroup_id",
    "cgroup",
    "container_id",
    "pod_uid",
];

pub const CORPORA_VAR: &str = "PROVGATE_CORPORA";

/// Where the shared corpora should be: `PROVGATE_CORPORA` if set (a relative path is taken from the
/// workspace root, as scripts/setup.sh does, not from the directory cargo runs a test in), else
/// `../shared/corpora` beside the checkout, where CI has them. Whether they are there is not
/// checked; see [`corpora`].
pub fn corpora_path() -> PathBuf {
    match std::env::var_os(CORPORA_VAR) {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().parent().expect("the workspace has a parent directory").join("shared/corpora"),
    }
}

/// The shared corpora (the Sigstore conformance suite, trusted roots, CycloneDX files, real-world
/// npm and PyPI attestations), or `None` after [`skip_or_fail`] when they are not there.
#[track_caller]
pub fn corpora() -> Option<PathBuf> {
    let dir = corpora_path();
    if dir.is_dir() { Some(dir) } else { missing(corpora_missing(&dir)) }
}

/// One file or folder of the shared corpora, `relative` to them, or `None` after [`skip_or_fail`]
/// when it is not there.
#[track_caller]
pub fn corpus(relative: impl AsRef<Path>) -> Option<PathBuf> {
    let path = corpora_path().join(relative);
    if path.exists() { Some(path) } else { missing(corpora_missing(&path)) }
}

fn corpora_missing(path: &Path) -> String {
    format!(
        "the shared test corpora are missing at {}: put them at ../shared/corpora beside the checkout \
         (see its README.md) or name their folder in {CORPORA_VAR}",
        path.display()
    )
}

// ------------------------------------------------------------------------------------------------
// The binary

/// The provgate binary with a store, run directory and configuration of its own, in a temporary
/// directory the fixture owns (removed when it is dropped).
///
/// Every [`command`](Self::command) is `provgate --db <dir>/provgate.db --run-dir <dir>/run
/// --config <dir>/provgate.toml`, without any inherited `PROVGATE_*` variable and with
/// `RUST_LOG=warn`. The configuration file exists (empty: every default) because an explicit
/// `--config` must; [`write_config`](Self::write_config) replaces it. The builder methods move
/// the three elsewhere or change the environment for every command; a single command can still be
/// changed before it runs.
pub struct Provgate {
    bin: PathBuf,
    dir: tempfile::TempDir,
    db: PathBuf,
    run_dir: PathBuf,
    config: PathBuf,
    /// Applied after the defaults, in order: `None` removes the variable.
    env: Vec<(OsString, Option<OsString>)>,
}

impl Provgate {
    /// A fixture for the binary at `bin` (`env!("CARGO_BIN_EXE_provgate")`).
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("provgate.toml");
        std::fs::write(&config, "").expect("write the empty configuration");
        Self {
            bin: bin.into(),
            db: dir.path().join("provgate.db"),
            run_dir: dir.path().join("run"),
            config,
            dir,
            env: Vec::new(),
        }
    }

    /// The store at `path` (relative: inside the fixture's directory).
    pub fn db_at(mut self, path: impl AsRef<Path>) -> Self {
        self.db = self.dir.path().join(path);
        self
    }

    /// The run directory (lock, status, API socket) at `path` (relative: inside the fixture's
    /// directory), e.g. for a daemon test that shares one with a daemon it started.
    pub fn run_dir_at(mut self, path: impl AsRef<Path>) -> Self {
        self.run_dir = self.dir.path().join(path);
        self
    }

    /// The configuration file at `path` (relative: inside the fixture's directory), for a test of
    /// the configuration file itself. It is given as `--config` whether it exists or not.
    pub fn config_at(mut self, path: impl AsRef<Path>) -> Self {
        self.config = self.dir.path().join(path);
        self
    }

    /// Sets `key` for every command (after the defaults: `RUST_LOG` may be changed this way).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes `key` from the environment of every command.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// The fixture's own directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the fixture's directory.
    pub fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The store every command uses.
    pub fn db(&self) -> PathBuf {
        self.db.clone()
    }

    /// The run directory every command uses.
    pub fn run_dir(&self) -> PathBuf {
        self.run_dir.clone()
    }

    /// The configuration file every command uses.
    pub fn config(&self) -> PathBuf {
        self.config.clone()
    }

    /// The binary the fixture runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Writes `content` to `name` inside the fixture's directory (creating folders); returns the
    /// path.
    pub fn write(&self, name: impl AsRef<Path>, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// How many sources the store holds, read from the file itself (0 when there is none yet):
    /// what a refusal must leave unchanged.
    pub fn source_count(&self) -> i64 {
        if !self.db.exists() {
            return 0;
        }
        rusqlite::Connection::open(&self.db)
            .and_then(|db| db.query_row("SELECT count(*) FROM sources", [], |r| r.get(0)))
            .unwrap_or_else(|e| panic!("{}: {e}", self.db.display()))
    }

    /// Replaces the configuration file every command reads.
    pub fn write_config(&self, toml: &str) {
        std::fs::write(&self.config, toml).unwrap_or_else(|e| panic!("{}: {e}", self.config.display()));
    }

    /// `provgate --db .. --run-dir .. --config ..` in the isolated environment, for a test to add
    /// the command and its arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.bin);
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("PROVGATE_")) {
                command.env_remove(key);
            }
        }
        command.env("RUST_LOG", "warn");
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command.arg("--db").arg(&self.db).arg("--run-dir").arg(&self.run_dir).arg("--config").arg(&self.config);
        command
    }

    /// Runs `provgate ARGS` to completion.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        Run::of(self.command().args(args))
    }

    /// Runs `provgate ARGS`, which must succeed (else the test fails with its output); returns its
    /// standard output.
    #[track_caller]
    pub fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let run = self.run(args);
        let shown: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
        assert_eq!(run.code, 0, "provgate {shown:?} failed:\n{run}");
        run.stdout
    }
}

/// How a command ended: its exit code and its output as text.
#[derive(Clone, Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` to completion.
    #[track_caller]
    pub fn of(command: &mut Command) -> Self {
        let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        output.into()
    }

    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Standard output as JSON (the test fails if it is not).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

impl From<Output> for Run {
    #[track_caller]
    fn from(output: Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let code = output.status.code().unwrap_or_else(|| {
            panic!("the command did not exit but was ended: {}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status)
        });
        Self { code, stdout, stderr }
    }
}

/// The exit code and both outputs, for failure messages.
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit code {}\nstdout:\n{}\nstderr:\n{}", self.code, self.stdout, self.stderr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_on_for_true_in_any_case_and_1_only() {
        for on in ["true", "TRUE", "True", "1"] {
            assert!(ci_value_means_on(on), "{on}");
        }
        for off in ["", "0", "false", "yes", "no", " true", "2"] {
            assert!(!ci_value_means_on(off), "{off:?}");
        }
    }

    #[test]
    fn every_command_is_isolated() {
        let pg = Provgate::new("/bin/provgate-does-not-run-here").env("RUST_LOG", "info").env_remove("HOME");
        let command = pg.command();
        let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
        let expected: Vec<OsString> = vec![
            "--db".into(),
            pg.path("provgate.db").into(),
            "--run-dir".into(),
            pg.path("run").into(),
            "--config".into(),
            pg.path("provgate.toml").into(),
        ];
        assert_eq!(args, expected);
        assert_eq!(std::fs::read_to_string(pg.config()).unwrap(), "", "the configuration exists, with every default");
        let env: Vec<_> = command.get_envs().collect();
        assert!(env.contains(&(OsStr::new("RUST_LOG"), Some(OsStr::new("info")))), "{env:?}");
        assert!(env.contains(&(OsStr::new("HOME"), None)), "{env:?}");
        for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("PROVGATE_")) {
            assert!(env.contains(&(key.as_os_str(), None)), "{key:?} is removed");
        }
    }

    #[test]
    fn paths_can_move_inside_or_outside_the_fixture() {
        let pg = Provgate::new("provgate").db_at("store/p.db").run_dir_at("/elsewhere/run").config_at("c.toml");
        assert_eq!(pg.db(), pg.dir().join("store/p.db"));
        assert_eq!(pg.run_dir(), Path::new("/elsewhere/run"));
        assert_eq!(pg.config(), pg.dir().join("c.toml"));
    }

    #[test]
    fn runs_report_code_and_output() {
        let run = Run::of(Command::new("sh").args(["-c", "echo '{\"a\": 1}'; echo oops >&2; exit 3"]));
        assert_eq!((run.code, run.stderr.as_str()), (3, "oops\n"));
        assert_eq!(run.json()["a"], 1);
        assert!(run.to_string().starts_with("exit code 3\n"));
    }

    #[test]
    fn the_corpora_are_beside_the_checkout_unless_moved() {
        if std::env::var_os(CORPORA_VAR).is_none() {
            assert_eq!(corpora_path(), workspace_root().parent().unwrap().join("shared/corpora"));
        }
        assert!(workspace_root().join("Cargo.toml").is_file());
    }
}
