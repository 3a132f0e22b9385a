//! `provgate os trust`: installed Debian packages trusted from their signed archive, through the
//! real binary and a real store.
//!
//! - This machine's own dpkg database, apt lists and Debian archive keyring: `debianutils`
//!   (fetched with `apt-get download` into the test's directory), whose recorded files must be
//!   what `dpkg-deb` extracts and `dpkg -L` lists, with the digests `sha256sum` gives.
//! - A small apt repository and installed system built here under a `--root` (packages built
//!   with `dpkg-deb --build`, Packages and Release written here, InRelease clear-signed by a key
//!   `gpg` makes here): what it vouches for, a second run that reads nothing again, and each
//!   refusal (unsigned, wrong key, a Packages index or a .deb that is not the one signed for),
//!   each adding nothing; a modified installed file reported and not allowed.
mod common;

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

use common::{Provgate, Run, provgate, sha256_hex};
use provgate_test_support::missing;

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.or_else(|| missing(format!("{name} is not installed (scripts/setup.sh installs it)")))
}

#[track_caller]
fn run_ok(command: &mut Command) -> String {
    let out = Run::of(command);
    assert!(out.success(), "{command:?}: {out}");
    out.stdout
}

fn os_trust(fx: &Provgate, args: &[&str]) -> Run {
    let mut all = vec!["os", "trust"];
    all.extend(args);
    fx.run(&all)
}

/// The records `explain` shows for a digest: (path, package).
fn records_of(fx: &Provgate, hex: &str) -> Vec<(String, String)> {
    let out = fx.run(&["explain", "--json", &format!("sha256:{hex}")]);
    let json = out.json();
    json["records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| (r["path"].as_str().unwrap_or("").to_owned(), r["package"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------------------
// This machine

/// Succeeded, or failed only because some of this machine's lists are past their Valid-Until
/// (security and updates suites last a week; apt-get update renews them), which debianutils,
/// from the main suite, does not depend on.
#[track_caller]
fn only_stale_lists_refused(out: &Run) {
    if out.success() {
        return;
    }
    let refusals: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("provgate: refused:")).collect();
    assert!(!refusals.is_empty() && refusals.iter().all(|l| l.contains("expired: Valid-Until")), "{out}");
}

#[test]
fn this_machines_debianutils_from_the_debian_archive() {
    let (Some(_), Some(_)) = (tool("apt-get"), tool("dpkg-deb")) else { return };
    let keyring = Path::new("/usr/share/keyrings/debian-archive-keyring.gpg");
    if !keyring.is_file() {
        return missing("the debian-archive-keyring package is not installed").unwrap_or(());
    }
    let fx = provgate();
    let version = run_ok(Command::new("dpkg-query").args(["-W", "-f", "${Version}", "debianutils"]));
    let debs = fx.path("debs");
    std::fs::create_dir_all(&debs).unwrap();
    let fetched =
        Run::of(Command::new("apt-get").args(["download", &format!("debianutils={version}")]).current_dir(&debs));
    if !fetched.success() {
        return missing(format!("apt-get download debianutils={version} failed (no network?): {fetched}"))
            .unwrap_or(());
    }
    let deb = std::fs::read_dir(&debs).unwrap().next().unwrap().unwrap().path();

    let out = os_trust(&fx, &["--package", "debianutils", "--cache-dir", debs.to_str().unwrap(), "--no-download"]);
    only_stale_lists_refused(&out);
    assert!(out.stdout.contains("1 installed packages; 1 added"), "{out}");
    assert!(out.stdout.contains("verified releases: bookworm"), "{out}");
    let label = format!("debianutils {version} {}", run_ok(Command::new("dpkg").arg("--print-architecture")).trim());

    // Every file dpkg-deb extracts, and every maintainer script, is recorded at its installed
    // path with the digest sha256sum-like hashing gives.
    let extracted = fx.path("extracted");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&extracted));
    let control = fx.path("control");
    run_ok(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    let mut expected: Vec<(String, String)> =
        common::expected_digests(&extracted).into_iter().map(|(relative, hex)| (format!("/{relative}"), hex)).collect();
    for (script, hex) in common::expected_digests(&control) {
        if script != "control" {
            expected.push((format!("/var/lib/dpkg/info/debianutils.{script}"), hex));
        }
    }
    assert!(expected.iter().any(|(p, _)| p.ends_with("debianutils.postinst")), "{expected:?}");
    for (path, hex) in &expected {
        let records = records_of(&fx, hex);
        assert!(records.contains(&(path.clone(), label.clone())), "{path} ({hex}) recorded: {records:?}");
    }

    // What dpkg -L lists is what was recorded; the installed files have the package's digests
    // (sha256sum), so they are allowed.
    let listed = run_ok(Command::new("dpkg").args(["-L", "debianutils"]));
    let mut checked = 0;
    for path in listed.lines().filter(|p| Path::new(p).is_file() && !Path::new(p).is_symlink()) {
        if !expected.iter().any(|(p, _)| p == path) {
            // dpkg -L names the path the package ships; a diverted or merged-/usr alias is not one.
            continue;
        }
        let sum = run_ok(Command::new("sha256sum").arg(path));
        let hex = sum.split_whitespace().next().unwrap();
        let shipped = &expected.iter().find(|(p, _)| p == path).unwrap().1;
        assert_eq!(hex, shipped, "{path} on disk is the package's file (debsums would say otherwise)");
        assert!(fx.run(&["explain", path]).success(), "{path} is allowed");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} files of dpkg -L debianutils checked");
    let dpkg_files: Vec<&str> =
        listed.lines().filter(|p| Path::new(p).is_file() && !Path::new(p).is_symlink()).collect();
    assert!(dpkg_files.len() >= checked);

    // A second run reads nothing again: not even the .deb, which is gone.
    std::fs::remove_file(&deb).unwrap();
    let again = os_trust(&fx, &["--package", "debianutils", "--cache-dir", debs.to_str().unwrap(), "--no-download"]);
    only_stale_lists_refused(&again);
    assert!(again.stdout.contains("1 installed packages; 0 added (0 files), 1 unchanged"), "{again}");
    assert_eq!(fx.source_count(), 1);
}

// ------------------------------------------------------------------------------------------------
// A repository and a system of our own

/// A system under `root` with two packages installed from a repository signed by a key made
/// here; `other.gpg` is a key that did not sign it.
struct System {
    fx: Provgate,
    root: PathBuf,
    keyring: PathBuf,
    other_keyring: PathBuf,
    gnupg: PathBuf,
    lists: PathBuf,
}

const PREFIX: &str = "repo.example_debian_dists_stable_";

impl System {
    fn new() -> Option<Self> {
        tool("gpg")?;
        tool("dpkg-deb")?;
        let fx = provgate();
        let root = fx.path("root");
        let gnupg = fx.path("gnupg");
        std::fs::create_dir_all(&gnupg).unwrap();
        std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let system = Self {
            keyring: fx.path("archive.gpg"),
            other_keyring: fx.path("other.gpg"),
            lists: root.join("var/lib/apt/lists"),
            root,
            gnupg,
            fx,
        };
        system.make_key("Other Archive <other@example.test>", &system.other_keyring);
        system.make_key("Test Archive <archive@example.test>", &system.keyring);
        let mut status = String::new();
        let mut packages = String::new();
        for (name, script) in [("hello-pg", "#!/bin/sh\necho hello\n"), ("other-pg", "#!/bin/sh\necho other\n")] {
            let deb = system.build_deb(name, "1.0", script);
            system.install(name, &deb);
            let bytes = std::fs::read(&deb).unwrap();
            writeln!(
                packages,
                "Package: {name}\nVersion: 1.0\nArchitecture: all\nFilename: pool/main/{name}_1.0_all.deb\nSize: {}\n\
                 SHA256: {}\nDescription: test\n",
                bytes.len(),
                sha256_hex(&bytes)
            )
            .unwrap();
            writeln!(
                status,
                "Package: {name}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n\
                 Conffiles:\n /etc/{name}.conf 00000000000000000000000000000000\nDescription: test\n"
            )
            .unwrap();
        }
        std::fs::create_dir_all(system.root.join("var/lib/dpkg")).unwrap();
        std::fs::write(system.root.join("var/lib/dpkg/status"), status).unwrap();
        std::fs::create_dir_all(&system.lists).unwrap();
        std::fs::write(system.lists.join(format!("{PREFIX}main_binary-amd64_Packages")), &packages).unwrap();
        system.sign_release(&packages, &system.keyring);
        Some(system)
    }

    fn gpg(&self) -> Command {
        let mut command = Command::new("gpg");
        command.env("GNUPGHOME", &self.gnupg).args(["--batch", "--quiet", "--passphrase", ""]);
        command
    }

    fn make_key(&self, uid: &str, keyring: &Path) {
        run_ok(self.gpg().args(["--quick-gen-key", uid, "ed25519", "sign", "never"]));
        let exported = Command::new("gpg").env("GNUPGHOME", &self.gnupg).args(["--export", uid]).output().unwrap();
        assert!(!exported.stdout.is_empty());
        std::fs::write(keyring, exported.stdout).unwrap();
    }

    /// A package with a script in /usr/bin, a conffile and a postinst.
    fn build_deb(&self, name: &str, version: &str, script: &str) -> PathBuf {
        let tree = self.fx.path(format!("build/{name}-{version}"));
        let _ = std::fs::remove_dir_all(&tree);
        self.fx.write(
            format!("build/{name}-{version}/DEBIAN/control"),
            format!("Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.test>\nDescription: test\n"),
        );
        self.fx.write(format!("build/{name}-{version}/DEBIAN/conffiles"), format!("/etc/{name}.conf\n"));
        let postinst = self.fx.write(format!("build/{name}-{version}/DEBIAN/postinst"), "#!/bin/sh\nexit 0\n");
        let bin = self.fx.write(format!("build/{name}-{version}/usr/bin/{name}"), script);
        self.fx.write(format!("build/{name}-{version}/etc/{name}.conf"), "setting = 1\n");
        for file in [&postinst, &bin] {
            std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        }
        let cache = self.root.join("var/cache/apt/archives");
        std::fs::create_dir_all(&cache).unwrap();
        let deb = cache.join(format!("{name}_{version}_all.deb"));
        run_ok(Command::new("dpkg-deb").args(["--root-owner-group", "-Zgzip", "--build"]).arg(&tree).arg(&deb));
        deb
    }

    /// Installs the package's files under the root as dpkg would (its scripts in dpkg's info).
    fn install(&self, name: &str, deb: &Path) {
        run_ok(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&self.root));
        let info = self.root.join("var/lib/dpkg/info");
        std::fs::create_dir_all(&info).unwrap();
        std::fs::copy(self.fx.path(format!("build/{name}-1.0/DEBIAN/postinst")), info.join(format!("{name}.postinst")))
            .unwrap();
    }

    /// Writes a Release naming `packages`' digest and clear-signs it with the key of `keyring`.
    fn sign_release(&self, packages: &str, keyring: &Path) {
        let release = self.release_text(packages);
        let unsigned = self.fx.write("Release", &release);
        let uid = if keyring == self.keyring { "archive@example.test" } else { "other@example.test" };
        let signed = self.lists.join(format!("{PREFIX}InRelease"));
        let _ = std::fs::remove_file(&signed);
        run_ok(
            self.gpg()
                .args(["--digest-algo", "SHA256", "--local-user", uid, "--clearsign", "-o"])
                .arg(&signed)
                .arg(&unsigned),
        );
    }

    fn release_text(&self, packages: &str) -> String {
        format!(
            "Origin: Example\nSuite: stable\nCodename: trixie-example\nDate: Mon, 07 Dec 2026 00:00:00 UTC\n\
             Valid-Until: Fri, 01 Jan 2100 00:00:00 UTC\nSHA256:\n {} {} main/binary-amd64/Packages\n",
            sha256_hex(packages.as_bytes()),
            packages.len()
        )
    }

    fn trust(&self, extra: &[&str]) -> Run {
        let mut args = vec!["--root", self.root.to_str().unwrap(), "--keyring", self.keyring.to_str().unwrap()];
        args.push("--no-download");
        args.extend(extra);
        os_trust(&self.fx, &args)
    }

    fn file(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// The names of the sources stored, in order.
    fn source_names(&self) -> Vec<String> {
        let sources = self.fx.run(&["sources", "--json"]).json();
        sources.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
    }

    fn packages_text(&self) -> String {
        std::fs::read_to_string(self.lists.join(format!("{PREFIX}main_binary-amd64_Packages"))).unwrap()
    }
}

#[test]
fn a_signed_repository_vouches_for_its_installed_packages_once() {
    let Some(system) = System::new() else { return };
    let out = system.trust(&[]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("2 installed packages; 2 added (8 files)"), "{out}");
    assert!(out.stdout.contains("verified releases: trixie-example (stable) (key "), "{out}");
    assert_eq!(system.fx.source_count(), 2);
    let sources = system.fx.run(&["sources", "--json"]).json();
    let first = &sources.as_array().unwrap()[0];
    assert_eq!(first["kind"], "os-package");
    assert_eq!(first["name"], "hello-pg 1.0 all");
    assert_eq!(first["detail"]["suite"], "trixie-example (stable)");
    assert!(first["signer"].as_str().unwrap().starts_with("openpgp:"), "{first}");
    // The script and the maintainer script are allowed, as files of their package.
    for path in ["/usr/bin/hello-pg", "/var/lib/dpkg/info/hello-pg.postinst"] {
        let explained = system.fx.run(&["explain", system.file(path).to_str().unwrap()]);
        assert!(explained.success(), "{explained}");
        assert!(explained.stdout.contains(&format!("as {path} in hello-pg 1.0 all")), "{explained}");
    }

    // A second run: nothing read again (the .debs are gone from the cache, and not missed).
    for name in ["hello-pg", "other-pg"] {
        std::fs::remove_file(system.root.join(format!("var/cache/apt/archives/{name}_1.0_all.deb"))).unwrap();
    }
    let again = system.trust(&[]);
    assert!(again.success(), "{again}");
    assert!(again.stdout.contains("2 installed packages; 0 added (0 files), 2 unchanged"), "{again}");
    assert_eq!(system.fx.source_count(), 2);

    // Coverage: both scripts under /usr are vouched for.
    let check = system.trust(&["--check"]);
    assert!(check.success(), "{check}");
    assert!(check.stdout.contains("2 of 2 candidate files"), "{check}");
}

#[test]
fn an_upgrade_replaces_the_old_versions_source() {
    let Some(system) = System::new() else { return };
    assert!(system.trust(&[]).success());
    // hello-pg 2.0 installed from the same (re-signed) repository.
    let deb = system.build_deb("hello-pg", "2.0", "#!/bin/sh\necho hello 2\n");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&system.root));
    let bytes = std::fs::read(&deb).unwrap();
    let packages = system.packages_text().replacen("Version: 1.0", "Version: 2.0", 1).replacen(
        &system.packages_text().lines().find(|l| l.starts_with("SHA256:")).unwrap().to_owned(),
        &format!("SHA256: {}", sha256_hex(&bytes)),
        1,
    );
    let packages = packages.replacen(
        system.packages_text().lines().find(|l| l.starts_with("Size:")).unwrap(),
        &format!("Size: {}", bytes.len()),
        1,
    );
    std::fs::write(system.lists.join(format!("{PREFIX}main_binary-amd64_Packages")), &packages).unwrap();
    system.sign_release(&packages, &system.keyring);
    let status = std::fs::read_to_string(system.root.join("var/lib/dpkg/status")).unwrap();
    std::fs::write(system.root.join("var/lib/dpkg/status"), status.replacen("Version: 1.0", "Version: 2.0", 1))
        .unwrap();
    let out = system.trust(&[]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("1 added (4 files), 1 unchanged"), "{out}");
    assert!(out.stdout.contains("1 old versions revoked"), "{out}");
    let names = system.source_names();
    assert_eq!(names, ["other-pg 1.0 all", "hello-pg 2.0 all"]);
}

/// Each refusal says why, and adds nothing for what it refuses.
#[test]
fn refusals_add_nothing() {
    let Some(system) = System::new() else { return };
    let packages = system.packages_text();
    let in_release = system.lists.join(format!("{PREFIX}InRelease"));

    // Unsigned: the Release text itself where InRelease should be.
    std::fs::write(&in_release, system.release_text(&packages)).unwrap();
    let out = system.trust(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("not a clear-signed OpenPGP message"), "{out}");
    assert!(out.stdout.contains("0 added (0 files)") && out.stdout.contains("2 in no verified index"), "{out}");
    assert_eq!(system.fx.source_count(), 0);

    // Signed by a key that is not the keyring's.
    system.sign_release(&packages, &system.other_keyring);
    let out = system.trust(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("no signature by a key of the archive keyring"), "{out}");
    assert_eq!(system.fx.source_count(), 0);

    // A Packages index that is not the one InRelease signs for.
    system.sign_release(&packages, &system.keyring);
    let index = system.lists.join(format!("{PREFIX}main_binary-amd64_Packages"));
    std::fs::write(&index, packages.replace("Description: test", "Description: changed")).unwrap();
    let out = system.trust(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("is not the main/binary-amd64/Packages that"), "{out}");
    assert_eq!(system.fx.source_count(), 0);
    std::fs::write(&index, &packages).unwrap();

    // A .deb that is not the one the index names: refused alone; the other package is added.
    let good = system.root.join("var/cache/apt/archives/hello-pg_1.0_all.deb");
    let kept = std::fs::read(&good).unwrap();
    let tampered = system.build_deb("hello-pg", "1.0", "#!/bin/sh\necho tampered\n");
    assert_eq!(tampered, good);
    let out = system.trust(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("but the index") && out.stderr.contains("hello-pg_1.0_all.deb"), "{out}");
    assert!(out.stdout.contains("1 added"), "{out}");
    let names = system.source_names();
    assert_eq!(names, ["other-pg 1.0 all"]);
    std::fs::write(&good, kept).unwrap();

    // An expired release (Valid-Until passed) is refused as apt refuses it.
    let expired = system.release_text(&packages).replace("01 Jan 2100", "01 Jan 2020");
    let unsigned = system.fx.write("Release", expired);
    std::fs::remove_file(&in_release).unwrap();
    run_ok(
        system
            .gpg()
            .args(["--digest-algo", "SHA256", "--local-user", "archive@example.test", "--clearsign", "-o"])
            .arg(&in_release)
            .arg(&unsigned),
    );
    let out = system.trust(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("expired: Valid-Until"), "{out}");
    assert_eq!(system.fx.source_count(), 1);
}

/// A file on disk that differs from its package is reported, and the package's digest, not the
/// file's, is what is allowed; so is a conffile the admin changed.
#[test]
fn a_modified_installed_file_is_reported_not_allowed() {
    let Some(system) = System::new() else { return };
    let script = system.file("/usr/bin/hello-pg");
    std::fs::write(&script, "#!/bin/sh\necho modified\n").unwrap();
    std::fs::write(system.file("/etc/other-pg.conf"), "setting = 2\n").unwrap();
    let out = system.trust(&[]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("2 added"), "{out}");
    assert!(out.stdout.contains("installed files that differ from their package (NOT allowed by it): 1"), "{out}");
    assert!(out.stdout.contains("/usr/bin/hello-pg: sha256:"), "{out}");
    assert!(out.stdout.contains("conffiles changed since installed (not allowed by their package): 1"), "{out}");
    assert!(out.stdout.contains("/etc/other-pg.conf"), "{out}");
    let explained = system.fx.run(&["explain", script.to_str().unwrap()]);
    assert_eq!(explained.code, 1, "the modified file is not allowed: {explained}");
    let check = system.trust(&["--check"]);
    assert!(check.stdout.contains("1 of 2 candidate files"), "{check}");
    assert!(check.stdout.contains("1 differ from their package"), "{check}");
    assert!(check.stdout.contains("/usr/bin/hello-pg: sha256:"), "{check}");
}

#[test]
fn the_apt_hook_is_written_under_the_root() {
    let fx = provgate();
    let root = fx.path("root");
    let out = os_trust(&fx, &["--root", root.to_str().unwrap(), "--install-hook"]);
    assert!(out.success(), "{out}");
    let hook = std::fs::read_to_string(root.join("etc/apt/apt.conf.d/80provgate")).unwrap();
    assert!(hook.contains("DPkg::Post-Invoke {"), "{hook}");
    assert!(hook.contains(&format!("{} --db ", env!("CARGO_BIN_EXE_provgate"))), "{hook}");
    assert!(hook.contains(" os trust ||"), "{hook}");
    // apt reads it: apt-config dumps the hook's command.
    let Some(apt_config) = tool("apt-config") else { return };
    let dumped =
        Run::of(Command::new(apt_config).arg("-c").arg(root.join("etc/apt/apt.conf.d/80provgate")).arg("dump"));
    assert!(dumped.success(), "{dumped}");
    assert!(dumped.stdout.contains("DPkg::Post-Invoke"), "{dumped}");
}
