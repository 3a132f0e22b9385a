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
    ["containerd", "ctr", "docker-registry"].iter().all(|t| found(t))
}

#[test]
fn pulled_images_matching_a_pattern_are_trusted_and_unsigned_or_wrongly_signed_ones_refused() {
    if !tools_here() {
        return provgate_test_support::skip_or_fail(
            "containerd, ctr or docker-registry missing (apt-get install containerd docker-registry)",
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
        let image = oci::Image::unpackable(&[vec![Member::file("usr/bin/app", program, 0o755)]]);
        let digest = pusher.image(repository, tag, &image);
        if let Some(signer) = signed_by {
            let full = registry.repository(repository);
            let signature = cosign::signature_layer(&mut sigstore, signer, &full, &digest, &options);
            cosign::push_cosign(&pusher, repository, &digest, "sig", vec![signature]);
        }
        format!("{}:{tag}", registry.repository(repository))
    };
    let before_start = b"\x7fELF\x02\x01\x01\0 pulled before the daemon started".as_slice();
    let release = b"\x7fELF\x02\x01\x01\0 the release, pulled while it runs".as_slice();
    let unsigned = b"\x7fELF\x02\x01\x01\0 never signed".as_slice();
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
    host.pg.write_config(&format!(
        "trust_policy = \"{}\"\ntrusted_root = \"{}\"\n[images]\nauto = [\"{}/acme/*\"]\ncontainerd_socket = \"{}\"\n",
        host.dir().join("policy.toml").display(),
        host.dir().join("trusted_root.json").display(),
        registry.addr,
        containerd.socket.display()
    ));
    host.start(&[]);

    let allowed = |content: &[u8]| host.pg.run(&["explain", &format!("sha256:{}", sha(content))]).success();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "{what} did not happen: {}", host.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // Pulled before the daemon started: found when it lists containerd's images.
    wait_for("the image pulled before the start trusted", &|| allowed(before_start));

    containerd.pull(&elsewhere_ref);
    containerd.pull(&unsigned_ref);
    containerd.pull(&foreign_ref);
    containerd.pull(&v2);
    wait_for("the release pulled trusted", &|| allowed(release));
    let refused = || -> Vec<Value> {
        serde_json::from_str(&host.pg.run(&["image", "ls", "--refused", "--json"]).stdout).unwrap_or_default()
    };
    wait_for("the unsigned and the wrongly signed image refused", &|| refused().len() >= 2);

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
}
