//! Builds an initramfs holding provgate, busybox, the test programs and fapolicyd (the VM
//! benchmark's peer, unpacked by scripts/fetch-fapolicyd.sh), and boots it under qemu (TCG) with
//! a Debian cloud kernel fetched by scripts/fetch-kernels.sh. Shared by the VM tests and the VM
//! benchmark.
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// Kernel generations the tests boot, by Debian suite.
pub const KERNELS: [(&str, &str); 3] = [("6.1", "bookworm"), ("6.12", "bookworm-backports"), ("newest", "sid")];

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vm_cache() -> PathBuf {
    std::env::var_os("PROVGATE_VM_CACHE").map_or_else(|| PathBuf::from("/var/cache/provgate-vm"), PathBuf::from)
}

pub fn kernel_image(suite: &str) -> Result<PathBuf, String> {
    let path = vm_cache().join("kernels").join(suite).join("vmlinuz");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!("no {suite} kernel at {} (run scripts/setup.sh)", path.display()))
    }
}

pub fn prerequisites() -> Result<(), String> {
    for tool in ["qemu-system-x86_64", "cc", "strip", "ldd", "timeout"] {
        if which(tool).is_none() {
            return Err(format!("{tool} is not installed (run scripts/setup.sh)"));
        }
    }
    if !Path::new(BUSYBOX).exists() {
        return Err(format!("{BUSYBOX} is missing (apt-get install busybox-static)"));
    }
    Ok(())
}

const BUSYBOX: &str = "/bin/busybox";

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(tool)).find(|p| p.is_file()))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr))) }
}

/// A newc cpio archive in memory: the format the kernel unpacks as initramfs.
#[derive(Default)]
struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let name = name.trim_start_matches('/');
        let fields = [self.ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, rdev.0, rdev.1, name.len() as u32 + 1, 0];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, &[], (0, 0));
    }

    fn file(&mut self, name: &str, data: &[u8], perm: u32) {
        self.entry(name, 0o100000 | perm, data, (0, 0));
    }

    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, target.as_bytes(), (0, 0));
    }

    fn char_dev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, &[], (major, minor));
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], (0, 0));
        self.out
    }
}

/// Shared libraries a dynamically linked binary needs, as `ldd` lists them.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd").arg(binary).output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

/// Test programs compiled from tests/vm/progs: (source, output name, extra flags).
const PROGRAMS: &[(&str, &str, &[&str])] = &[
    ("hello.c", "hello", &[]),
    ("try_exec.c", "try_exec", &[]),
    ("dltest.c", "dltest", &[]),
    ("mprotect_test.c", "mprotect_test", &[]),
    ("memfd_exec.c", "memfd_exec", &[]),
    ("jit.c", "jit", &[]),
    ("execbench.c", "execbench", &[]),
    ("noop.c", "noop", &[]),
    ("mmapflood.c", "mmapflood", &[]),
    ("write_exec.c", "write_exec", &[]),
    ("preload_lib.c", "goodlib.so", &["-shared", "-fPIC"]),
    // The attacks of tests/vm/attacks.sh and what they need.
    ("runas.c", "runas", &[]),
    ("pwned.c", "pwned", &[]),
    ("evil_preload.c", "evil_preload.so", &["-shared", "-fPIC"]),
    ("speak.c", "speak_good.so", &["-shared", "-fPIC"]),
    ("speak.c", "speak_evil.so", &["-shared", "-fPIC", "-DEVIL"]),
    ("libloop.c", "libloop", &["-ldl"]),
    ("mapwrite.c", "mapwrite", &[]),
    ("mmaprace.c", "mmaprace", &["-lpthread"]),
    ("maprun.c", "maprun", &[]),
    ("looper.c", "looper", &[]),
    ("inject.c", "inject", &[]),
    ("wx.c", "wx", &["-lpthread"]),
    ("execstack.c", "execstack", &["-z", "execstack"]),
    ("memfd_sealed.c", "memfd_sealed", &[]),
    ("bpftamper.c", "bpftamper", &[]),
    ("modload.c", "modload", &[]),
    ("rawpatch.c", "rawpatch", &[]),
    ("clone_into.c", "clone_into", &[]),
    ("fuse_serve.c", "fuse_serve", &["$fuse3"]),
    // The benchmark's library-heavy start: linked against the BENCH_LIBRARIES libraries.
    ("libstart.c", "libstart", &["@benchlibs"]),
];

/// How many shared libraries `libstart` maps (issue 15's library-heavy start); tests/vm/bench.sh
/// allows and trusts /opt/t/lib/libbench0.so .. libbench49.so and must agree.
pub const BENCH_LIBRARIES: usize = 50;

/// The libraries `libstart` needs: (path in the VM, built file), and the flags that link it.
struct BenchLibraries {
    files: Vec<(String, PathBuf)>,
    link_flags: Vec<String>,
}

/// Builds libbench0.so .. libbench{BENCH_LIBRARIES-1}.so from tests/vm/progs/benchlib/benchlib.c
/// into BUILD/benchlib, and returns them with the linker flags that make a program need them all
/// and find them in /opt/t/lib in the VM (its run path; the host's `ldd` cannot resolve it, so
/// the libraries are placed by name, not through `shared_libraries`).
fn bench_libraries(progs_dir: &Path, build: &Path) -> Result<BenchLibraries, String> {
    let dir = build.join("benchlib");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let source = progs_dir.join("benchlib/benchlib.c");
    let mut children = Vec::new();
    for i in 0..BENCH_LIBRARIES {
        let out = dir.join(format!("libbench{i}.so"));
        // Fifty compilers at once: one after the other takes several seconds of each build.
        let child = Command::new("cc")
            .args(["-O2", "-Wall", "-shared", "-fPIC", &format!("-DBENCH_LIB={i}"), "-o"])
            .arg(&out)
            .arg(&source)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cc {}: {e}", source.display()))?;
        children.push((i, out, child));
    }
    let mut libraries = Vec::new();
    for (i, out, child) in children {
        let result = child.wait_with_output().map_err(|e| e.to_string())?;
        if !result.status.success() {
            return Err(format!(
                "cc {} for libbench{i}.so failed: {}",
                source.display(),
                String::from_utf8_lossy(&result.stderr)
            ));
        }
        libraries.push((format!("/opt/t/lib/libbench{i}.so"), out));
    }
    let mut link_flags = vec![format!("-L{}", dir.display()), "-Wl,-rpath,/opt/t/lib".to_owned()];
    link_flags.extend((0..BENCH_LIBRARIES).map(|i| format!("-lbench{i}")));
    Ok(BenchLibraries { files: libraries, link_flags })
}

/// Debian's fapolicyd, the peer tests/vm/bench.sh measures provgate against, as
/// scripts/fetch-fapolicyd.sh unpacked it (never installed on the host, where it would enforce):
/// the daemon, the libraries it needs (the unpacked liblmdb where the host has none), its magic
/// database, and the configuration and rules of tests/vm/fapolicyd. The trust file is written in
/// the VM by the benchmark, from the very files it allows provgate.
fn fapolicyd_files() -> Result<Vec<(String, PathBuf, u32)>, String> {
    let root = vm_cache().join("fapolicyd/root");
    let daemon = root.join("usr/sbin/fapolicyd");
    if !daemon.is_file() {
        return Err(format!("no fapolicyd at {} (run scripts/setup.sh)", daemon.display()));
    }
    let mut files = vec![("/usr/sbin/fapolicyd".to_owned(), daemon.clone(), 0o755)];
    let out = Command::new("ldd")
        .arg(&daemon)
        .env("LD_LIBRARY_PATH", root.join("usr/lib/x86_64-linux-gnu"))
        .output()
        .map_err(|e| format!("ldd {}: {e}", daemon.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("not found") {
        return Err(format!("{} cannot find its libraries (run scripts/setup.sh):\n{text}", daemon.display()));
    }
    for lib in
        text.lines().filter_map(|l| l.split("=>").nth(1)?.split_whitespace().next()).filter(|p| p.starts_with('/'))
    {
        let lib = Path::new(lib);
        let real = lib.canonicalize().map_err(|e| format!("{}: {e}", lib.display()))?;
        // A library of the unpacked packages goes where the package would install it.
        let dest = lib.strip_prefix(&root).map_or_else(|_| lib.to_path_buf(), |rel| Path::new("/").join(rel));
        files.push((dest.display().to_string(), real, 0o755));
    }
    // libmagic decides each object's type (the rules' ftype); fapolicyd loads its own database,
    // then the system's.
    files.push((
        "/usr/share/fapolicyd/fapolicyd-magic.mgc".into(),
        root.join("usr/share/fapolicyd/fapolicyd-magic.mgc"),
        0o644,
    ));
    let system_magic = Path::new("/usr/share/misc/magic.mgc")
        .canonicalize()
        .map_err(|e| format!("/usr/share/misc/magic.mgc: {e} (apt-get install libmagic-mgc)"))?;
    files.push(("/usr/share/misc/magic.mgc".into(), system_magic, 0o644));
    let config = workspace_root().join("tests/vm/fapolicyd");
    files.push(("/etc/fapolicyd/fapolicyd.conf".into(), config.join("fapolicyd.conf"), 0o644));
    // What fagenrules would compile from rules.d; fapolicyd reads this file first.
    files.push(("/etc/fapolicyd/compiled.rules".into(), config.join("fapolicyd.rules"), 0o644));
    Ok(files)
}

/// Programs of the machine the VM tests run as they are: a real container runtime.
const CA_CERTIFICATES: &str = "/etc/ssl/certs/ca-certificates.crt";

const HOST_PROGRAMS: &[&str] = &["/usr/sbin/runc", "/usr/bin/docker-registry"];

/// What a CI pipeline hands over, made on the host with the tests' private Sigstore, for the VM
/// to publish to a trust feed (on a registry inside the VM) and trust from it: a program
/// (`hello` with content of its own), its Sigstore bundle, the trusted root, and a trust policy
/// naming the workflow that signed it. Installed under /opt/ci.
fn ci_evidence(build: &Path) -> Result<Vec<(String, PathBuf, u32)>, String> {
    use provgate_attestations_testkit::{Identity, PrivateSigstore};
    let mut agent = std::fs::read(build.join("hello")).map_err(|e| format!("hello: {e}"))?;
    agent.extend_from_slice(b"\nprovgate-ci-agent: built and signed by the release workflow\n");
    let mut sigstore = PrivateSigstore::new();
    let identity = Identity::github_actions("acme/agent", ".github/workflows/release.yml", "refs/heads/main", "push");
    let signer = sigstore.keyless(&identity);
    let options = sigstore.default_options();
    let bundle = sigstore.sign_artifact(&signer, &agent, &options);
    let policy = "version = 1\n\n[[signer]]\nname = \"release workflow\"\n\
                  issuer = \"https://token.actions.githubusercontent.com\"\n\
                  identity = \"https://github.com/acme/agent/.github/workflows/release.yml@refs/heads/main\"\n\
                  artifact_signatures = true\n";
    let outputs: [(&str, Vec<u8>, u32); 4] = [
        ("agent", agent, 0o755),
        ("agent.sigstore.json", bundle.to_string().into_bytes(), 0o644),
        ("trusted_root.json", sigstore.trusted_root().to_string().into_bytes(), 0o644),
        ("policy.toml", policy.as_bytes().to_vec(), 0o644),
    ];
    let dir = build.join("ci");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    outputs
        .into_iter()
        .map(|(name, bytes, perm)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((format!("/opt/ci/{name}"), path, perm))
        })
        .collect()
}

/// Compiler flags for a pkg-config package.
fn pkg_config(package: &str) -> Result<Vec<String>, String> {
    let out = Command::new("pkg-config").args(["--cflags", "--libs", package]).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "pkg-config {package}: {} (run scripts/setup.sh)",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect())
}

/// Builds the initramfs once per test binary run and returns its path.
pub fn build_initramfs(provgate: &Path, work: &Path) -> Result<PathBuf, String> {
    let progs_dir = workspace_root().join("tests/vm/progs");
    let build = work.join("build");
    std::fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    let mut files: BTreeMap<String, (PathBuf, u32)> = BTreeMap::new();

    let stripped = build.join("provgate");
    run(Command::new("strip").arg("-o").arg(&stripped).arg(provgate))?;
    files.insert("/bin/provgate".into(), (stripped.clone(), 0o755));
    files.insert(BUSYBOX.into(), (PathBuf::from(BUSYBOX), 0o755));
    let mut dynamic = vec![stripped];
    for (source, name, flags) in PROGRAMS {
        let out = build.join(name);
        let mut args: Vec<String> = Vec::new();
        for flag in *flags {
            match (flag.strip_prefix('$'), *flag) {
                (Some(package), _) => args.extend(pkg_config(package)?),
                (None, "@benchlibs") => {
                    let libraries = bench_libraries(&progs_dir, &build)?;
                    for (dest, path) in libraries.files {
                        files.insert(dest, (path, 0o755));
                    }
                    args.extend(libraries.link_flags);
                }
                (None, _) => args.push((*flag).to_owned()),
            }
        }
        // Libraries come after the source, where the linker looks for what it needs.
        run(Command::new("cc").args(["-O2", "-Wall", "-o"]).arg(&out).arg(progs_dir.join(source)).args(&args))?;
        files.insert(format!("/opt/t/{name}"), (out.clone(), 0o755));
        dynamic.push(out);
    }
    // A node has the CA certificates its registries' TLS needs; TLS clients load them at start.
    files.insert(CA_CERTIFICATES.into(), (PathBuf::from(CA_CERTIFICATES), 0o644));
    for (dest, path, perm) in ci_evidence(&build)? {
        files.insert(dest, (path, perm));
    }
    for (dest, path, perm) in fapolicyd_files()? {
        files.insert(dest, (path, perm));
    }
    for program in HOST_PROGRAMS {
        let path = PathBuf::from(program);
        if !path.exists() {
            return Err(format!("{program} is not installed (run scripts/setup.sh)"));
        }
        files.insert((*program).to_owned(), (path.clone(), 0o755));
        dynamic.push(path);
    }
    for binary in &dynamic {
        for lib in shared_libraries(binary)? {
            let real = lib.canonicalize().map_err(|e| format!("{}: {e}", lib.display()))?;
            files.insert(lib.display().to_string(), (real, 0o755));
        }
    }
    // Every shell script of tests/vm: init.sh becomes /init, the others /NAME.sh (the kernel
    // command line names the one init runs).
    let scripts = workspace_root().join("tests/vm");
    for entry in std::fs::read_dir(&scripts).map_err(|e| format!("{}: {e}", scripts.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).filter(|n| n.ends_with(".sh")) else {
            continue;
        };
        let dest = if name == "init.sh" { "/init".to_owned() } else { format!("/{name}") };
        files.insert(dest, (path.clone(), 0o755));
    }

    let mut cpio = Cpio::default();
    let mut dirs: Vec<String> =
        ["/dev", "/proc", "/sys", "/tmp", "/run", "/var", "/var/lib", "/usr", "/sbin", "/usr/bin", "/usr/sbin"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for path in files.keys() {
        let mut p = Path::new(path).parent();
        while let Some(dir) = p.filter(|d| d != &Path::new("/")) {
            dirs.push(dir.display().to_string());
            p = dir.parent();
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        cpio.dir(d);
    }
    // The kernel opens /dev/console for init before init can mount devtmpfs.
    cpio.char_dev("/dev/console", 5, 1);
    for (dest, (src, perm)) in &files {
        let data = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
        cpio.file(dest, &data, *perm);
    }
    cpio.symlink("/bin/sh", "busybox");
    let image = work.join("initramfs.cpio");
    std::fs::write(&image, cpio.finish()).map_err(|e| e.to_string())?;
    Ok(image)
}

/// The initramfs for one kernel: the shared image followed by a second archive with that
/// kernel's modules (the kernel unpacks concatenated archives in order): overlayfs, and those
/// the tests load as they need them (loop, FUSE where it is a module, dummy).
pub fn kernel_initramfs(base: &Path, suite: &str, work: &Path) -> Result<PathBuf, String> {
    let dir = vm_cache().join("kernels").join(suite);
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e} (run scripts/setup.sh)", path.display()));
    let mut cpio = Cpio::default();
    cpio.dir("/lib/modules");
    cpio.file("/lib/modules/overlay.ko", &read(&dir.join("overlay.ko"))?, 0o644);
    let modules = dir.join("modules");
    for entry in
        std::fs::read_dir(&modules).map_err(|e| format!("{}: {e} (run scripts/setup.sh)", modules.display()))?
    {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name().and_then(|n| n.to_str()).filter(|n| n.ends_with(".ko")) {
            cpio.file(&format!("/lib/modules/{name}"), &read(&path)?, 0o644);
        }
    }
    let mut image = std::fs::read(base).map_err(|e| format!("{}: {e}", base.display()))?;
    image.extend_from_slice(&cpio.finish());
    let path = work.join(format!("initramfs-{suite}.cpio"));
    std::fs::write(&path, image).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The console output of one boot, and what the scenarios reported.
pub struct VmRun {
    pub console: String,
    pub log: PathBuf,
    pub results: BTreeMap<String, (bool, String)>,
    pub finished: bool,
    pub elapsed: Duration,
}

/// Boots the VM and waits for it to power off. `script` names the /SCRIPT.sh the init runs.
/// The guest CPU for a kernel generation. QEMU 7.2's multi-threaded TCG corrupts EFLAGS around
/// cmpxchg16b, which 6.12's SLUB fast path uses (double faults seen here), so the older kernels
/// get a CPU without CX16. The newest kernel needs CX16: without it, its allocator cannot serve
/// allocations that may not take locks (`kmalloc_nolock`), and BPF local storage, which provgate
/// keeps per inode, fails with ENOMEM. Real x86-64 hardware has CX16.
pub fn cpu_model(suite: &str) -> &'static str {
    if suite == "sid" { "max" } else { "max,-cx16" }
}

/// The emulator: single-threaded TCG for every kernel. Multi-threaded TCG's atomics are not
/// sound on this QEMU: the cmpxchg16b bug struck the newest kernel's SLUB refill path once in a
/// dozen runs here (an `int3` oops in `refill_objects` while runc wrote
/// `cgroup.subtree_control`), and 6.12, without CX16, once panicked in the page-fault path
/// during the runc scenarios in CI. One host thread emulating both vCPUs never races with
/// itself, and it is not slower on these two-core machines (6.12's scenarios: 303 s multi-
/// threaded, the newest kernel's 218 s single-threaded, in the same loaded hour).
pub fn accel(_suite: &str) -> &'static str {
    "tcg,thread=single"
}

pub fn boot(
    kernel: &Path,
    initramfs: &Path,
    suite: &str,
    script: &str,
    log: &Path,
    timeout: Duration,
) -> Result<VmRun, String> {
    let start = Instant::now();
    let output = Command::new("timeout")
        .args(["--kill-after=10", &timeout.as_secs().to_string(), "qemu-system-x86_64"])
        .args(["-accel", accel(suite), "-cpu", cpu_model(suite), "-m", "2048", "-smp", "2"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initramfs)
        .args(["-append", &format!("console=ttyS0 quiet panic=-1 provgate.script={script}")])
        .args(["-nographic", "-no-reboot", "-monitor", "none", "-serial", "stdio", "-display", "none"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("starting qemu: {e}"))?;
    let console = String::from_utf8_lossy(&output.stdout).replace('\r', "");
    std::fs::write(log, &console).map_err(|e| e.to_string())?;
    let results = console
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("PROVGATE-SCENARIO ")?;
            let mut parts = rest.splitn(3, ' ');
            let name = parts.next()?.to_owned();
            let pass = parts.next()? == "PASS";
            Some((name, (pass, parts.next().unwrap_or("").to_owned())))
        })
        .collect();
    Ok(VmRun {
        finished: console.contains("PROVGATE-VM-DONE"),
        console,
        log: log.to_owned(),
        results,
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Names a script gives as `$T/NAME` (the programs' folder in the VM), with one-line `for`
    /// loops over `$T/$VAR` expanded.
    fn referenced(script: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for line in expand_loops(script) {
            let mut rest = line.as_str();
            while let Some(at) = rest.find("$T/") {
                rest = &rest[at + 3..];
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')).collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
        out
    }

    /// The lines of a script, a one-line `for VAR in WORDS; do BODY; done` becoming BODY once per
    /// word with `$VAR` replaced.
    fn expand_loops(script: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in script.lines() {
            let trimmed = line.trim();
            let parsed = trimmed.strip_prefix("for ").and_then(|rest| {
                let (head, body) = rest.split_once("; do ")?;
                let (var, words) = head.split_once(" in ")?;
                Some((var, words, body.strip_suffix("done")?))
            });
            match parsed {
                Some((var, words, body)) => {
                    out.extend(words.split_whitespace().map(|w| body.replace(&format!("${var}"), w)))
                }
                None => out.push(line.to_owned()),
            }
        }
        out
    }

    /// Names under `$T/` that a script writes itself: redirected to, the destination of `cp`, `ln`
    /// or `mv`, the second argument of `unknown_copy` and `padded`, and what `write_exec` writes.
    fn made(script: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let name = |word: &str| -> Option<String> {
            let path = word.trim_start_matches('>').strip_prefix("$T/")?;
            let name: String =
                path.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')).collect();
            (!name.is_empty()).then_some(name)
        };
        for line in expand_loops(script) {
            for command in line.split([';', '|', '&', '(', ')']) {
                let words: Vec<&str> = command.split_whitespace().collect();
                let words = &words[words.iter().take_while(|w| matches!(**w, "if" | "then" | "else" | "do")).count()..];
                let written = match words {
                    ["cp" | "ln" | "mv", .., last] => name(last),
                    ["unknown_copy" | "padded", _, dest, ..] => name(dest),
                    _ => None,
                };
                out.extend(written);
                for (i, word) in words.iter().enumerate() {
                    if word.starts_with('>') {
                        out.extend(name(word).or_else(|| words.get(i + 1).and_then(|w| name(w))));
                    }
                    if *word == "$T/write_exec" {
                        out.extend(words.get(i + 2).and_then(|w| name(w)));
                    }
                }
            }
        }
        out
    }

    /// PROGRAMS is kept by hand: every C program of tests/vm/progs is built, everything built is
    /// used by a script, and every program a script runs from the test folder is built or written
    /// by the scripts. (A missing program would make an attack look blocked.)
    #[test]
    fn programs_match_the_sources_and_the_scripts() {
        let root = workspace_root();
        let progs = root.join("tests/vm/progs");
        let sources: BTreeSet<String> = std::fs::read_dir(&progs)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".c"))
            .collect();
        let built: BTreeSet<String> = PROGRAMS.iter().map(|(source, _, _)| (*source).to_owned()).collect();
        let outputs: BTreeSet<String> = PROGRAMS.iter().map(|(_, name, _)| (*name).to_owned()).collect();
        let mut scripts = String::new();
        for entry in std::fs::read_dir(root.join("tests/vm")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sh") {
                scripts.push_str(&std::fs::read_to_string(&path).unwrap());
                scripts.push('\n');
            }
        }
        let (used, written) = (referenced(&scripts), made(&scripts));
        let mut problems = Vec::new();
        for source in sources.difference(&built) {
            let name = source.trim_end_matches(".c");
            problems.push(format!(
                "tests/vm/progs/{source} is built by no entry of PROGRAMS in tests/vm-harness/src/lib.rs: add \
                 (\"{source}\", \"{name}\", &[]) there, or remove the file"
            ));
        }
        for source in built.difference(&sources) {
            problems.push(format!("PROGRAMS in tests/vm-harness/src/lib.rs builds {source}, not in tests/vm/progs"));
        }
        for name in outputs.difference(&used) {
            problems.push(format!(
                "PROGRAMS in tests/vm-harness/src/lib.rs builds {name}, which no script of tests/vm runs ($T/{name}): \
                 remove it or use it"
            ));
        }
        for name in used.difference(&outputs).filter(|n| !written.contains(*n)) {
            problems.push(format!(
                "a script of tests/vm uses $T/{name}, which PROGRAMS in tests/vm-harness/src/lib.rs does not build and \
                 no script writes: add its source to tests/vm/progs and PROGRAMS"
            ));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(outputs.len() >= 20 && used.len() >= 20, "nothing was read: {outputs:?} {used:?}");
    }

    #[test]
    fn the_script_readers_see_loops_writes_and_runs() {
        let script = "for f in a b; do cp $T/hello $T/$f; done\nprintf x > $T/s.sh && chmod 755 $T/s.sh\n\
                      out=$(inscope $T/write_exec $T/hello $T/fresh 2>&1)\nunknown_copy $T/hello $T/u ln\n\
                      inscope $T/try_exec $T/pwned";
        let expected = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(made(script), expected(&["a", "b", "fresh", "s.sh", "u"]));
        assert_eq!(
            referenced(script),
            expected(&["a", "b", "fresh", "hello", "pwned", "s.sh", "try_exec", "u", "write_exec"])
        );
    }
}
