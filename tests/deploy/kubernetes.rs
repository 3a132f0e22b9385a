//! deploy/kubernetes, checked offline: every file validates against the Kubernetes 1.30 schemas
//! in strict mode (PyPI's kubernetes-validate, which scripts/setup.sh installs in a venv of its
//! own), and the manifests say what the daemon needs: the host's pid namespace, bpffs,
//! securityfs, the cgroup2 mount and the host's root read-only where `host_root` says, no
//! privileged container but exactly the capabilities the README lists, a readiness probe on
//! `provgate status`, metrics served off loopback only because the configuration asks for it,
//! and a configuration, trust policy and trusted root the real binary accepts. The Dockerfile is
//! linted (hadolint, from the same venv) and checked against the repository and the README.
//!
//! The YAML is read by the venv's PyYAML (kubernetes-validate's own dependency) and handed over
//! as JSON, so the tests need no YAML crate.
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use provgate_test_support::{Provgate, Run, missing, tool, workspace_root};
use serde_json::Value;

/// The Kubernetes version the manifests are validated against: the oldest release still in
/// wide use whose schemas have `securityContext.appArmorProfile` (GA in 1.30).
const KUBERNETES_VERSION: &str = "1.30";

/// The capabilities the daemon uses (see the README's "Container image").
const CAPABILITIES: [&str; 3] = ["DAC_READ_SEARCH", "SYS_ADMIN", "SYS_PTRACE"];

fn manifests_dir() -> PathBuf {
    workspace_root().join("deploy/kubernetes")
}

/// Every file of deploy/kubernetes, sorted. All must be manifests: anything else there would be
/// applied by `kubectl apply -f deploy/kubernetes/` and escape the validation.
fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(manifests_dir()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", manifests_dir().display());
    for file in &files {
        assert!(file.extension().is_some_and(|e| e == "yaml"), "{}: not a .yaml manifest", file.display());
    }
    files
}

/// The venv scripts/setup.sh makes, or `None` after skip-or-fail when it is not there.
fn venv() -> Option<PathBuf> {
    let validate = tool("kubernetes-validate")?;
    let venv = validate.parent()?.parent()?.to_owned();
    if venv.join("bin/python").is_file() {
        Some(venv)
    } else {
        missing(format!("no python in {}: run scripts/setup.sh", venv.display()))
    }
}

/// Every document of every manifest file, as JSON.
fn documents(venv: &Path) -> Vec<Value> {
    const TO_JSON: &str = "import json, sys, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))";
    let run = Run::of(Command::new(venv.join("bin/python")).arg("-c").arg(TO_JSON).args(manifest_files()));
    assert!(run.success(), "reading the manifests:\n{run}");
    serde_json::from_str(&run.stdout).unwrap()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/kubernetes"))
}

fn strings(value: &Value) -> BTreeSet<&str> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

#[test]
fn every_manifest_validates_strictly() {
    let Some(venv) = venv() else { return };
    let run = Run::of(
        Command::new(venv.join("bin/kubernetes-validate"))
            .args(["--strict", "--no-warn", "--kubernetes-version", KUBERNETES_VERSION])
            .args(manifest_files()),
    );
    assert!(run.success(), "kubernetes-validate refused the manifests:\n{run}");
    for file in manifest_files() {
        assert!(run.stdout.contains(&format!("{} passed", file.display())), "{} not validated:\n{run}", file.display());
    }
    // Strict mode is what catches a misspelt field (which Kubernetes would silently drop).
    let dir = tempfile::tempdir().unwrap();
    let misspelt = dir.path().join("daemonset.yaml");
    let text = std::fs::read_to_string(manifests_dir().join("daemonset.yaml")).unwrap();
    let field = "\n      hostPID: true\n";
    assert!(text.contains(field), "daemonset.yaml sets hostPID where the test expects it");
    std::fs::write(&misspelt, text.replacen(field, "\n      hostPid: true\n", 1)).unwrap();
    let run = Run::of(
        Command::new(venv.join("bin/kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
            .arg(&misspelt),
    );
    assert!(!run.success() && run.stdout.contains("hostPid"), "{run}");
}

#[test]
fn the_daemonset_has_what_the_daemon_needs_and_no_more() {
    let Some(venv) = venv() else { return };
    let docs = documents(&venv);
    for doc in &docs {
        if doc["kind"] != "Namespace" {
            assert_eq!(doc["metadata"]["namespace"], "provgate", "{}", doc["metadata"]["name"]);
        }
    }
    let pod = &find(&docs, "DaemonSet", "provgate")["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    assert_ne!(pod["hostNetwork"], true, "metrics are served on the pod's address");
    assert_eq!(pod["automountServiceAccountToken"], false);
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];

    let security = &c["securityContext"];
    assert_eq!(security["privileged"], false);
    assert_eq!(strings(&security["capabilities"]["drop"]), BTreeSet::from(["ALL"]));
    assert_eq!(strings(&security["capabilities"]["add"]), BTreeSet::from(CAPABILITIES));
    // The API server refuses allowPrivilegeEscalation: false beside SYS_ADMIN (a check the
    // schemas cannot make).
    assert_ne!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(security["appArmorProfile"]["type"], "Unconfined", "the default profile denies securityfs");

    // Host paths: where each is mounted, and whether read-only.
    let volumes = pod["volumes"].as_array().unwrap();
    let mounts = c["volumeMounts"].as_array().unwrap();
    let host_mount = |host: &str| -> (String, bool) {
        let volume = volumes
            .iter()
            .find(|v| v["hostPath"]["path"] == host)
            .unwrap_or_else(|| panic!("no hostPath volume of {host}"));
        let mount = mounts
            .iter()
            .find(|m| m["name"] == volume["name"])
            .unwrap_or_else(|| panic!("the {host} volume is not mounted"));
        (mount["mountPath"].as_str().unwrap().to_owned(), mount["readOnly"] == true)
    };
    assert_eq!(host_mount("/sys/fs/bpf"), ("/sys/fs/bpf".into(), false), "programs and maps are pinned");
    assert_eq!(host_mount("/sys/kernel/security"), ("/sys/kernel/security".into(), true));
    assert_eq!(host_mount("/sys/fs/cgroup"), ("/sys/fs/cgroup".into(), true), "over the pod's own cgroup view");
    assert_eq!(host_mount("/var/lib/provgate"), ("/var/lib/provgate".into(), false));
    assert_eq!(host_mount("/run/provgate"), ("/run/provgate".into(), false));
    let (host_root, read_only) = host_mount("/");
    assert!(read_only, "the host's root is mounted read-only");

    // Ready when `provgate status` says the daemon enforces.
    assert_eq!(
        strings(&c["readinessProbe"]["exec"]["command"]).into_iter().collect::<Vec<_>>(),
        ["provgate", "status"]
    );
    assert_eq!(c["args"][0], "run");

    // The configuration the daemon reads, where it reads it.
    let config = find(&docs, "ConfigMap", "provgate-config")["data"]["provgate.toml"].as_str().unwrap();
    let config: toml::Table = toml::from_str(config).unwrap();
    assert_eq!(config["host_root"].as_str(), Some(host_root.as_str()), "host_root names the host root's mount");
    let config_mount = mounts.iter().find(|m| m["mountPath"] == "/etc/provgate").expect("/etc/provgate is mounted");
    assert_eq!(config_mount["readOnly"], true);
    let projected = volumes.iter().find(|v| v["name"] == config_mount["name"]).unwrap();
    let mut files = BTreeSet::new();
    for source in projected["projected"]["sources"].as_array().unwrap() {
        for item in source["configMap"]["items"].as_array().unwrap() {
            files.insert(format!("/etc/provgate/{}", item["path"].as_str().unwrap()));
        }
    }
    assert!(files.contains("/etc/provgate/provgate.toml"), "{files:?}");
    for key in ["trust_policy", "trusted_root"] {
        let path = config[key].as_str().unwrap_or_else(|| panic!("{key} is not set"));
        assert!(files.contains(path), "{key} = {path:?} is not in the mounted ConfigMaps {files:?}");
    }
}

#[test]
fn metrics_are_served_off_loopback_only_because_the_configuration_asks() {
    let Some(venv) = venv() else { return };
    let docs = documents(&venv);
    let text = find(&docs, "ConfigMap", "provgate-config")["data"]["provgate.toml"].as_str().unwrap();
    let config: toml::Table = toml::from_str(text).unwrap();
    assert_eq!(config["metrics_public"].as_bool(), Some(true));
    let address: std::net::SocketAddr = config["metrics_address"].as_str().unwrap().parse().unwrap();
    assert!(!address.ip().is_loopback(), "{address}");

    // The port: the container's, the Service's, the scrape annotations'.
    let template = &find(&docs, "DaemonSet", "provgate")["spec"]["template"];
    let port = template["spec"]["containers"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "metrics")
        .expect("a container port named metrics")
        .clone();
    assert_eq!(port["containerPort"], address.port());
    let service = find(&docs, "Service", "provgate-metrics");
    let service_port = &service["spec"]["ports"][0];
    assert!(service_port["targetPort"] == "metrics" || service_port["targetPort"] == address.port());
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&template["metadata"]["labels"][key], value, "the Service selects the daemon's pods");
    }
    for annotations in [&template["metadata"]["annotations"], &service["metadata"]["annotations"]] {
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], address.port().to_string());
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
    }

    // The real binary accepts the file, and refuses the same address without the opt-in,
    // naming the key to set.
    let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate"));
    let file = pg.write("k8s.toml", text);
    let out = pg.ok(&["config".as_ref(), "--check".as_ref(), file.as_os_str()]);
    assert!(out.contains(": ok"), "{out}");
    let without: String = text.lines().filter(|l| !l.starts_with("metrics_public")).map(|l| format!("{l}\n")).collect();
    let file = pg.write("k8s-without-opt-in.toml", without);
    let run = pg.run(&["config".as_ref(), "--check".as_ref(), file.as_os_str()]);
    assert!(!run.success() && run.stderr.contains("metrics_public = true"), "{run}");
}

#[test]
fn the_trust_policy_and_root_are_usable() {
    let Some(venv) = venv() else { return };
    let docs = documents(&venv);
    let trust = &find(&docs, "ConfigMap", "provgate-trust")["data"];
    let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate"));
    let policy = pg.write("trust-policy.toml", trust["trust-policy.toml"].as_str().unwrap());
    let out = pg.ok(&["check-policy".as_ref(), policy.as_os_str()]);
    assert!(out.contains("may vouch with"), "{out}");
    let root: Value = serde_json::from_str(trust["trusted_root.json"].as_str().unwrap()).unwrap();
    assert!(root["mediaType"].as_str().unwrap().starts_with("application/vnd.dev.sigstore.trustedroot+json"));
    assert!(
        !root["tlogs"].as_array().unwrap().is_empty() && !root["certificateAuthorities"].as_array().unwrap().is_empty()
    );
}

/// The Dockerfile, checked without building it (a release build in Docker takes too long for
/// CI; the README says when it was last built): hadolint finds nothing (with the repository's
/// .hadolint.yaml), everything it copies from the context exists and is not left out by
/// .dockerignore, which keeps `target/` out of the context, and the `docker run` lines of the
/// Dockerfile and the README add exactly the capabilities the DaemonSet adds, to nothing else.
#[test]
fn the_dockerfile_lints_copies_what_exists_and_names_the_same_capabilities() {
    let root = workspace_root();
    let Some(hadolint) = tool("hadolint") else { return };
    let run = Run::of(Command::new(hadolint).arg("--no-color").arg("Dockerfile").current_dir(&root));
    assert!(run.success(), "hadolint:\n{run}");

    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let ignored: Vec<String> = std::fs::read_to_string(root.join(".dockerignore"))
        .expect("a .dockerignore, or target/ would be sent as the build context")
        .lines()
        .map(|l| l.trim().trim_matches('/').to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for kept_out in ["target", ".git"] {
        assert!(ignored.iter().any(|i| i == kept_out), ".dockerignore must leave out {kept_out}: {ignored:?}");
    }
    // Instructions, their continuation lines joined, comments left out.
    let instructions: Vec<String> = dockerfile
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let copies: Vec<Vec<&str>> = instructions
        .iter()
        .filter(|i| i.starts_with("COPY "))
        .map(|i| i.split_whitespace().skip(1).collect())
        .collect();
    assert!(copies.iter().any(|c| c == &[".", "."]), "the repository is copied: {copies:?}");
    let mut from_context = 0;
    for copy in &copies {
        if copy[0].starts_with("--from=") {
            continue;
        }
        let (destination, sources) = copy.split_last().unwrap();
        assert!(!destination.is_empty());
        for source in sources {
            assert!(root.join(source).exists(), "COPY {source}: not in the repository");
            let first = source.split('/').next().unwrap();
            assert!(!ignored.iter().any(|i| i == first), "COPY {source}: left out by .dockerignore");
            from_context += 1;
        }
    }
    assert!(from_context >= 3, "{copies:?}");
    // The binary the build stage makes is the one the image runs.
    let binary = copies.iter().find(|c| c[0] == "--from=build").expect("the binary copied from the build stage");
    assert_eq!(binary[1..], ["/src/target/release/provgate", "/usr/local/bin/provgate"]);
    assert!(instructions.iter().any(|i| i == r#"ENTRYPOINT ["/usr/local/bin/provgate"]"#), "{instructions:?}");

    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (what, text) in [("Dockerfile", &dockerfile), ("README.md", &readme)] {
        // The `docker run` command lines, joined across their continuation lines.
        let lines: Vec<&str> = text.lines().map(|l| l.trim_start_matches('#').trim()).collect();
        let mut commands = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("docker run ") {
                let mut command = String::new();
                for part in &lines[i..] {
                    command.push_str(part.trim_end_matches('\\'));
                    command.push(' ');
                    if !part.ends_with('\\') {
                        break;
                    }
                }
                commands.push(command);
            }
        }
        assert!(!commands.is_empty(), "{what} shows how to run the image");
        for command in &commands {
            let args: Vec<&str> = command.split_whitespace().collect();
            let added: BTreeSet<&str> = args.iter().filter_map(|a| a.strip_prefix("--cap-add=")).collect();
            assert_eq!(added, BTreeSet::from(CAPABILITIES), "{what}: {command}");
            assert!(args.contains(&"--cap-drop=ALL"), "{what}: every other capability dropped: {command}");
            assert!(!args.iter().any(|a| a.starts_with("--privileged")), "{what}: {command}");
        }
    }
}
