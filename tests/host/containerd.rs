//! Images trusted as the node pulls them: the daemon (observe-only on this host, scoped to a
//! test cgroup) follows Debian's containerd, started here on its own socket, root and state
//! directories, while `ctr` pulls from Debian's docker-registry on loopback images signed (or
//! not) with the tests' private Sigstore.
mod support;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use provgate_attestations_testkit::{Identity, PrivateSigstore};
use provgate_oci_testkit::{Member, Registry, cosign, oci};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// containerd on a socket of its own; killed when dropped.
struct Containerd {
    child: Child,
    socket: PathBuf,
}

impl Containerd {
    fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("containerd.sock");
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{socket}\"\n[ttrpc]\n  address = \"{socket}.ttrpc\"\n",
            root = dir.join("root").display(),
            state = dir.join("state").display(),
            socket = socket.display(),
        );
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "containerd did not start: {}", log_of(dir));
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, socket }
    }

    /// `ctr images pull --plain-http REFERENCE` in namespace `provgate-test`.
    fn pull(&self, reference: &str) {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "provgate-test", "images", "pull", "--plain-http", reference])
            .output()
            .unwrap();
        assert!(out.status.success(), "ctr pull {reference}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `ctr run --rm` of `reference` as container `id`, in `cgroup` (a path below the cgroup
    /// root, as runc takes it), running `args`; waits for it to exit.
    fn run(&self, reference: &str, id: &str, cgroup: &str, args: &[&str]) {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "provgate-test", "run", "--rm", "--cgroup", cgroup, reference, id])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ctr run {reference}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.socket.with_file_name("containerd.log")).unwrap_or_default()
        );
    }
}

/// runc makes a container's cgroup in every hierarchy, so on a host that also mounts cgroup v1
/// controllers the test cgroup's name appears under each of them: removed when dropped.
struct V1Cgroups(PathBuf);

impl Drop for V1Cgroups {
    fn drop(&mut self) {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        for line in mounts.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(2) == Some(&"cgroup") {
                support::remove_cgroup_tree(&Path::new(f[1]).join(&self.0));
            }
        }
    }
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("containerd.log")).unwrap_or_default()
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn tools_here() -> bool {
    let found = |tool: &str| {
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()))
    };
    ["containerd", "ctr", "runc", "docker-registry"].iter().all(|t| found(t)) && Path::new(BUSYBOX).is_file()
}

/// A static program that runs in an image with nothing else in it.
const BUSYBOX: &str = "/bin/busybox";

/// Busybox with `marker` appended: it still runs, and its digest is its own.
fn runnable(marker: &str) -> Vec<u8> {
    let mut program = std::fs::read(BUSYBOX).unwrap();
    program.extend_from_slice(marker.as_bytes());
    program
}

/// The events of the JSON-lines output about the file with `digest`.
fn events_about(events: &Path, digest: &str) -> Vec<Value> {
    std::fs::read_to_string(events)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["sha256"] == digest)
        .collect()
}

#[test]
fn pulled_images_matching_a_pattern_are_trusted_and_unsigned_or_wrongly_signed_ones_refused() {
    if !tools_here() {
        return provgate_test_support::skip_or_fail(
            "containerd, ctr, runc, busybox or docker-registry missing (apt-get install containerd runc busybox-static docker-registry)",
        );
    }
    let Some(mut host) = support::setup("containerd") else { return };
    let registry = Registry::start().expect("registry");
    let pusher = registry.pusher();
    let mut sigstore = PrivateSigstore::new();
    let identity = Identity::github_actions("acme/app", ".github/workflows/release.yml", "refs/heads/main", "push");
    let signer = sigstore.keyless(&identity);
    // Signed, but by someone the node's policy does not name.
    let stranger = sigstore.keyless(&Identity::email("someone@elsewhere.example", "https://accounts.google.com"));
    let options = sigstore.default_options();
    let mut push = |repository: &str, tag: &str, program: &[u8], signed_by: Option<&_>| {
        let image = oci::Image::unpackable(&[vec![Member::file("bin/busybox", program, 0o755)]]);
        let digest = pusher.image(repository, tag, &image);
        if let Some(signer) = signed_by {
            let full = registry.repository(repository);
            let signature = cosign::signature_layer(&mut sigstore, signer, &full, &digest, &options);
            cosign::push_cosign(&pusher, repository, &digest, "sig", vec![signature]);
        }
        format!("{}:{tag}", registry.repository(repository))
    };
    let before_start = b"\x7fELF\x02\x01\x01\0 pulled before the daemon started".as_slice();
    // The two that run in containers at the end.
    let release = &runnable("the release, pulled while it runs")[..];
    let unsigned = &runnable("never signed")[..];
    let elsewhere = b"\x7fELF\x02\x01\x01\0 a repository no pattern names".as_slice();
    let foreign = b"\x7fELF\x02\x01\x01\0 signed by a stranger".as_slice();
    let v1 = push("acme/app", "v1", before_start, Some(&signer));
    let v2 = push("acme/app", "v2", release, Some(&signer));
    let unsigned_ref = push("acme/unsigned", "v1", unsigned, None);
    let foreign_ref = push("acme/foreign", "v1", foreign, Some(&stranger));
    let elsewhere_ref = push("other/app", "v1", elsewhere, Some(&signer));

    let containerd = Containerd::start(&host.dir().join("containerd"));
    containerd.pull(&v1);
    host.pg.write("trusted_root.json", sigstore.trusted_root().to_string());
    host.pg.write(
        "policy.toml",
        "version = 1\n[[signer]]\nname = \"release\"\nissuer = \"https://token.actions.githubusercontent.com\"\n\
         identity = \"https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main\"\n\
         artifact_signatures = true\n",
    );
    let events = host.dir().join("events.jsonl");
    host.pg.write_config(&format!(
        "trust_policy = \"{}\"\ntrusted_root = \"{}\"\n[images]\nauto = [\"{}/acme/*\"]\ncontainerd_socket = \"{}\"\n\
         [events]\noutput = \"file\"\nfile = \"{}\"\n",
        host.dir().join("policy.toml").display(),
        host.dir().join("trusted_root.json").display(),
        registry.addr,
        containerd.socket.display(),
        events.display()
    ));
    // Observe-only even on a kernel that accepts LSM programs: the reports below are the
    // observe program's.
    host.start(&["--observe-only"]);

    let allowed = |content: &[u8]| host.pg.run(&["explain", &format!("sha256:{}", sha(content))]).success();
    // Pulled before the daemon started: found when it lists containerd's images.
    host.wait_until("the image pulled before the start trusted", Duration::from_secs(60), || allowed(before_start));

    containerd.pull(&elsewhere_ref);
    containerd.pull(&unsigned_ref);
    containerd.pull(&foreign_ref);
    containerd.pull(&v2);
    host.wait_until("the release pulled trusted", Duration::from_secs(60), || allowed(release));
    let refused = || -> Vec<Value> {
        serde_json::from_str(&host.pg.run(&["image", "ls", "--refused", "--json"]).stdout).unwrap_or_default()
    };
    host.wait_until("the unsigned and the wrongly signed image refused", Duration::from_secs(60), || {
        refused().len() >= 2
    });

    let refusals = refused();
    assert_eq!(refusals.len(), 2, "only the unsigned and the wrongly signed image are refused: {refusals:#?}");
    let refusal = |repository: &str| -> String {
        let found = refusals.iter().find(|r| r["reference"].as_str().unwrap().contains(repository));
        found.unwrap_or_else(|| panic!("{repository} not refused: {refusals:#?}"))["problem"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(refusal("acme/unsigned").contains("signature"), "says why: {refusals:#?}");
    assert!(refusal("acme/foreign").contains("someone@elsewhere.example"), "names the signer: {refusals:#?}");
    assert!(!allowed(unsigned), "nothing of the unsigned image is allowed");
    assert!(!allowed(foreign), "nothing of the wrongly signed image is allowed");
    assert!(!allowed(elsewhere), "an image no pattern names is left alone, signed or not");
    let images: Vec<Value> = serde_json::from_str(&host.pg.run(&["image", "ls", "--json"]).stdout).unwrap();
    assert_eq!(images.len(), 2, "the two signed acme images, one source each: {images:#?}");
    assert!(
        images.iter().all(|i| i["reason"].as_str().is_some_and(|r| r.contains("pulled by containerd"))),
        "each says it came from a pull: {images:#?}"
    );

    // The containers run (observe-only here: nothing is denied) in cgroups below the test's,
    // long enough for the daemon to hash the file a report names through the process's root.
    // What the kernel reports of each exec shows what ran: the release's program is the file
    // trusted at its pull, before the container started; the unsigned image's is not trusted.
    let cgroup = host.cgroup.strip_prefix(support::cgroup2_root().unwrap()).unwrap().to_owned();
    let _v1 = V1Cgroups(cgroup.clone());
    let container = |name: &str| sha(name.as_bytes());
    let in_cgroup = |id: &str| format!("/{}/{id}", cgroup.display());
    let (release_id, unsigned_id) = (container("release container"), container("unsigned container"));
    containerd.run(&v2, &release_id, &in_cgroup(&release_id), &["/bin/busybox", "sleep", "3"]);
    containerd.run(&unsigned_ref, &unsigned_id, &in_cgroup(&unsigned_id), &["/bin/busybox", "sleep", "3"]);
    let unsigned_digest = sha(unsigned);
    host.wait_until("the unsigned program's exec reported", Duration::from_secs(60), || {
        !events_about(&events, &unsigned_digest).is_empty()
    });
    let reported = events_about(&events, &unsigned_digest);
    let event = &reported[0];
    assert_eq!(event["container_id"], unsigned_id.as_str(), "the exec is the container's: {event:#}");
    assert_eq!(event["path"], "/bin/busybox", "named as the container sees it: {event:#}");
    assert!(!allowed(unsigned), "and its program is not trusted");
    // The release's exec came first, and events are recorded in order. Observe-only, the
    // kernel has no verdict for a file it has not seen, so the exec is reported; the daemon
    // names it by the digest trusted at the pull, before `ctr run`.
    let release_digest = sha(release);
    let release_events = events_about(&events, &release_digest);
    let release_events: Vec<&Value> =
        release_events.iter().filter(|e| e["container_id"] == release_id.as_str()).collect();
    assert!(!release_events.is_empty(), "the release's exec was seen, with its digest: {}", host.log());
    assert!(
        events_about(&events, &unsigned_digest).iter().all(|e| e["container_id"] == unsigned_id.as_str()),
        "each program is reported from its own container"
    );
    assert!(allowed(release), "and its program is the file trusted");
}
