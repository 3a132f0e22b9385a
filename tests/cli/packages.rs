//! Package contents: a signed package vouches for its files. Through the real binary and a real
//! store: real public packages (npm tarballs and PyPI distributions of the shared corpora with
//! their real attestations; Debian packages fetched by `apt-get download` and rpms built by
//! `rpmbuild`, signed here by a private Sigstore), every file of which must then be allowed and
//! explained as a file of its package, checked against what `tar`, Python's `zipfile` and
//! `dpkg-deb` extract and what `rpm --dump` lists; and hostile
//! archives built here, each refused whole with one clear error, adding nothing.
mod common;

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

use provgate_attestations_testkit::Identity;
use provgate_oci_testkit::{Member, tarball};
use provgate_test_support::{Provgate, Run, corpus, missing};
use tar::EntryType;

const ISSUER: &str = "https://accounts.google.com";
const RELEASE: &str = "release@acme.example";

/// A store, and a private Sigstore whose `release` identity the policy lets sign artifacts.
use common::Signing as Fixture;

impl Fixture {
    fn new() -> Self {
        Self::with_policy(&format!(
            "version = 1\n\n[[signer]]\nname = \"release\"\nissuer = \"{ISSUER}\"\nidentity = \"{RELEASE}\"\n\
             artifact_signatures = true\n"
        ))
    }

    /// `register --artifact FILE --bundle B` with a bundle the release identity signs now.
    fn register_signed(&mut self, file: &Path, flags: &[&str]) -> Run {
        let signer = self.sigstore.keyless(&Identity::email(RELEASE, ISSUER));
        let name = format!("{}.sigstore.json", file.file_name().unwrap().to_string_lossy());
        let bundle = self.sign_file_by(&signer, file, &name);
        let mut args = vec!["--artifact".as_ref(), file.as_os_str(), "--bundle".as_ref(), bundle.as_os_str()];
        args.extend(flags.iter().map(std::ffi::OsStr::new));
        self.register(&args)
    }

    fn explain(&self, file: &Path) -> Run {
        self.pg.run(&["explain", file.to_str().unwrap()])
    }
}

/// Every regular file under `dir`, as (path relative to `dir`, absolute path).
fn files_under(dir: &Path) -> Vec<(String, PathBuf)> {
    common::expected_digests(dir).into_keys().map(|relative| (relative.clone(), dir.join(relative))).collect()
}

fn run_ok(command: &mut Command) {
    let out = Run::of(command);
    assert!(out.success(), "{command:?}: {out}");
}

/// Every file extracted is allowed and explained as `as PREFIX+PATH in PACKAGE`; the count of
/// digests registered is the archive's plus one per file.
#[track_caller]
fn every_file_is_vouched_for(fx: &Fixture, out: &Run, extracted: &[(String, PathBuf)], prefix: &str, package: &str) {
    assert!(out.success(), "{out}");
    assert!(!extracted.is_empty());
    assert!(
        out.stdout.contains(&format!("registered {} SHA-256 digests", extracted.len() + 1)),
        "{} files extracted: {out}",
        extracted.len()
    );
    assert!(out.stdout.contains(&format!("{package}: {} files", extracted.len())), "{out}");
    for (relative, file) in extracted {
        let explained = fx.explain(file);
        assert!(explained.success(), "{relative} is allowed: {explained}");
        let expected = format!("as {prefix}{relative} in {package}");
        assert!(explained.stdout.contains(&expected), "expected {expected:?}: {explained}");
    }
}

fn npm_case() -> Option<(PathBuf, PathBuf)> {
    let dir = corpus("real-world/npm")?;
    let stem = "provenance-npm-test-cli-v1-prega";
    Some((dir.join(format!("{stem}.tgz")), dir.join(format!("{stem}.tgz.json"))))
}

/// npm's registry key and the release workflow, as tests/cli/ecosystems.rs trusts them.
fn npm_policy(pg: &Provgate) -> PathBuf {
    pg.write(
        "npm.pub",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i\n\
         6UPp+IhuteBJbuHcA5UogKo0EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==\n-----END PUBLIC KEY-----\n",
    );
    pg.write(
        "npm-policy.toml",
        "version = 1\n\n[[signer]]\nname = \"npm registry\"\npublic_key = \"npm.pub\"\n\
         predicate_types = [\"https://github.com/npm/attestation/tree/main/specs/publish/v0.1\"]\n",
    )
}

#[test]
fn an_npm_tarball_vouches_for_every_file_it_holds() {
    let Some((tgz, response)) = npm_case() else { return };
    let fx = Fixture::new();
    let register = |fx: &Fixture, extra: &[&str]| {
        let policy = npm_policy(&fx.pg);
        let mut command = fx.pg.command();
        command.arg("register").arg("--attestation").arg(&response).arg("--artifact").arg(&tgz).args(extra);
        Run::of(command.arg("--policy").arg(&policy))
    };
    // What tar itself extracts is the oracle.
    let unpacked = fx.pg.path("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run_ok(Command::new("tar").arg("-xzf").arg(&tgz).arg("-C").arg(&unpacked));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("package/package.json")).unwrap()).unwrap();
    let package = format!("{}@{}", manifest["name"].as_str().unwrap(), manifest["version"].as_str().unwrap());

    // --no-contents: the tarball's digest only.
    let out = register(&fx, &["--no-contents"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("registered 1 SHA-256 digests"), "{out}");
    assert!(fx.explain(&tgz).success());
    let index = unpacked.join("package/package.json");
    assert!(!fx.explain(&index).success(), "a file of the package is not vouched for with --no-contents");

    let fx = Fixture::new();
    let out = register(&fx, &[]);
    every_file_is_vouched_for(&fx, &out, &files_under(&unpacked), "", &package);
    let explained = fx.explain(&index);
    assert!(explained.stdout.contains(&format!("\"{}\"", tgz.display())), "the source is the tarball: {explained}");
    assert!(explained.stdout.contains("signed by key"), "by the registry's signature: {explained}");
}

#[test]
fn a_wheel_and_an_sdist_vouch_for_their_files() {
    let Some(dir) = corpus("real-world/pypi") else { return };
    let fx = Fixture::new();
    // rfc8785's publish attestation was signed against Sigstore's staging instance.
    let Some(staging) = corpus("trusted-roots/pypi-sigstore-4.5.1-staging/trusted_root.json") else { return };
    let policy = fx.pg.write(
        "pypi-policy.toml",
        "version = 1\n\n[[signer]]\nname = \"me\"\nissuer = \"https://github.com/login/oauth\"\n\
         identity = \"william@yossarian.net\"\npredicate_types = [\"https://docs.pypi.org/attestations/publish/v1\"]\n\n\
         [[signer]]\nname = \"gitlab\"\nissuer = \"https://gitlab.com\"\n\
         identity = \"https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main\"\n\
         predicate_types = [\"https://docs.pypi.org/attestations/publish/v1\"]\n",
    );
    let wheel = dir.join("rfc8785-0.1.2-py3-none-any.whl");
    let unpacked = fx.pg.path("wheel");
    run_ok(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked));
    let mut command = fx.pg.command();
    command.arg("register").arg("--attestation").arg(dir.join("rfc8785-0.1.2-py3-none-any.whl.publish.attestation"));
    command.arg("--artifact").arg(&wheel).arg("--policy").arg(&policy).arg("--trusted-root").arg(&staging);
    let out = Run::of(&mut command);
    every_file_is_vouched_for(&fx, &out, &files_under(&unpacked), "", "rfc8785@0.1.2");

    let sdist = dir.join("gitlab_oidc_project-0.0.3.tar.gz");
    let unpacked = fx.pg.path("sdist");
    std::fs::create_dir_all(&unpacked).unwrap();
    run_ok(Command::new("tar").arg("-xzf").arg(&sdist).arg("-C").arg(&unpacked));
    let mut command = fx.pg.command();
    command.arg("register").arg("--attestation").arg(dir.join("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"));
    command.arg("--artifact").arg(&sdist).arg("--policy").arg(&policy);
    let out = Run::of(&mut command);
    every_file_is_vouched_for(&fx, &out, &files_under(&unpacked), "", "gitlab-oidc-project@0.0.3");
}

/// `apt-get download NAME` into `dir`: the real package from the machine's Debian mirror.
fn apt_download(name: &str, dir: &Path) -> Option<PathBuf> {
    let out = Run::of(Command::new("apt-get").arg("download").arg(name).current_dir(dir));
    if !out.success() {
        return missing(format!("apt-get download {name} failed (a Debian mirror is needed): {out}"));
    }
    let found = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}_")));
    found.or_else(|| missing(format!("apt-get download {name} wrote no .deb")))
}

#[test]
fn a_deb_vouches_for_its_installed_files_and_maintainer_scripts() {
    let mut fx = Fixture::new();
    let downloads = fx.pg.path("debs");
    std::fs::create_dir_all(&downloads).unwrap();
    // debianutils has maintainer scripts (postinst, prerm, postrm) and a triggers file.
    let Some(deb) = apt_download("debianutils", &downloads) else { return };
    let root = fx.pg.path("root");
    let control = fx.pg.path("control");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    run_ok(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    let field = |name: &str| {
        let out = Run::of(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(name));
        out.stdout.trim().to_owned()
    };
    let package = format!("{}@{}", field("Package"), field("Version"));
    let mut extracted = files_under(&root);
    let scripts: Vec<(String, PathBuf)> =
        files_under(&control).into_iter().filter(|(name, _)| name != "control").collect();
    assert!(scripts.iter().any(|(name, _)| name == "postinst"), "{scripts:?}");

    let out = fx.register_signed(&deb, &[]);
    assert!(out.success(), "{out}");
    let files = extracted.len() + scripts.len();
    assert!(out.stdout.contains(&format!("registered {} SHA-256 digests", files + 1)), "{out}");
    assert!(out.stdout.contains(&format!("Debian package {package}: {files} files")), "{out}");
    // Installed paths are rooted at /; the control members are where dpkg keeps them.
    for (relative, _) in &mut extracted {
        relative.insert(0, '/');
    }
    for (relative, file) in &extracted {
        let explained = fx.explain(file);
        assert!(explained.stdout.contains(&format!("as {relative} in {package}")), "{relative}: {explained}");
    }
    let name = field("Package");
    for (script, file) in &scripts {
        let explained = fx.explain(file);
        let expected = format!("as /var/lib/dpkg/info/{name}.{script} in {package}");
        assert!(explained.stdout.contains(&expected), "{script}: {explained}");
    }
}

/// A hostile archive, named `file`: refused whole, naming the archive and the problem; nothing
/// is added.
#[track_caller]
fn refused(fx: &mut Fixture, file: &Path, flags: &[&str], expected: &str) {
    let out = fx.register_signed(file, flags);
    assert_eq!(out.code, 1, "{}: {out}", file.display());
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.contains(&file.display().to_string()), "the archive is named: {out}");
    assert!(first.contains(expected), "expected {expected:?} in: {out}");
    assert!(out.stderr.contains("nothing was added"), "{out}");
    assert_eq!(fx.pg.source_count(), 0, "{}: nothing added", file.display());
}

fn raw(kind: EntryType, name: &str, link: &str) -> Member {
    Member::Raw { kind, name: name.into(), link: link.into(), content: b"x".to_vec(), mode: 0o644 }
}

fn npm_like(extra: Member) -> Vec<u8> {
    let members = [Member::file("package/package.json", br#"{"name":"evil","version":"1.0.0"}"#, 0o644), extra];
    tarball::gzip(&tarball::tar(&members))
}

#[test]
fn members_and_links_that_leave_the_package_are_refused() {
    let mut fx = Fixture::new();
    let cases = [
        (raw(EntryType::Regular, "package/../../etc/cron.d/x", ""), "climbs out of the archive's tree"),
        (raw(EntryType::Regular, "/etc/cron.d/x", ""), "absolute path"),
        (raw(EntryType::Symlink, "package/lib/link", "../../../etc/passwd"), "climbs out of the package"),
        (raw(EntryType::Symlink, "package/link", "/etc/passwd"), "outside the package"),
        (raw(EntryType::Link, "package/shadow", "../etc/shadow"), "hard link target \"../etc/shadow\""),
        (raw(EntryType::Link, "package/h", "package/not-there"), "which is no file of the package"),
    ];
    for (i, (member, expected)) in cases.into_iter().enumerate() {
        let file = fx.pg.write(format!("evil-{i}.tgz"), npm_like(member));
        refused(&mut fx, &file, &[], expected);
    }
    // A symbolic link that stays inside is no problem, and is not a file of the package.
    let file = fx.pg.write("fine.tgz", npm_like(raw(EntryType::Symlink, "package/bin/run", "../index.js")));
    let out = fx.register_signed(&file, &[]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("npm package evil@1.0.0: 1 files"), "{out}");
}

/// A zip named `name` holding `entries` (name, content), deflated.
fn zip(fx: &Fixture, name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
    let path = fx.pg.path(name);
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (entry, content) in entries {
        writer.start_file(*entry, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap();
    path
}

#[test]
fn bombs_too_many_members_and_truncated_archives_are_refused() {
    let mut fx = Fixture::new();
    // 100 MiB of zeros deflate to about 100 KiB: more than 100 times, beyond the 64 MiB allowed
    // whatever the ratio.
    let zeros = vec![0u8; 100 << 20];
    let bomb = zip(&fx, "bomb.zip", &[("zeros", &zeros)]);
    refused(&mut fx, &bomb, &[], "refusing a decompression bomb");
    let bomb = fx.pg.write("bomb.tar.gz", tarball::gzip(&tarball::tar(&[Member::file("zeros", &zeros, 0o644)])));
    refused(&mut fx, &bomb, &[], "refusing a decompression bomb");
    drop(zeros);

    let escaping = zip(&fx, "escape.whl", &[("../../etc/x", b"x")]);
    refused(&mut fx, &escaping, &[], "climbs out of the archive's tree");

    let many: Vec<Member> = (0..20).map(|i| Member::file(&format!("package/f{i}.js"), b"1;", 0o644)).collect();
    let many = fx.pg.write("many.tgz", tarball::gzip(&tarball::tar(&many)));
    refused(&mut fx, &many, &["--max-members", "10"], "more than 10 members");
    let names: Vec<String> = (0..20).map(|i| format!("f{i}.py")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"1".as_slice())).collect();
    let many = zip(&fx, "many.zip", &entries);
    refused(&mut fx, &many, &["--max-members", "10"], "more than 10 members");

    let whole = npm_like(Member::file("package/index.js", &[b'a'; 100_000], 0o644));
    let truncated = fx.pg.write("truncated.tgz", &whole[..whole.len() / 2]);
    refused(&mut fx, &truncated, &[], "gzip data is corrupt");
    let zip_whole = std::fs::read(&escaping).unwrap();
    let truncated = fx.pg.write("truncated.zip", &zip_whole[..zip_whole.len() - 30]);
    refused(&mut fx, &truncated, &[], "not a valid zip archive");

    // Under the bounds, the same kinds are read: the bound is what refused them.
    let file = fx.pg.write("ok.tgz", npm_like(Member::file("package/index.js", b"module.exports = 1;\n", 0o644)));
    let out = fx.register_signed(&file, &["--max-members", "10"]);
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("npm package evil@1.0.0: 2 files"), "{out}");
}

const RPM_SPEC: &str = "Name: demo\nVersion: 1.2\nRelease: 3\nSummary: provgate test package\nLicense: MIT\n\
BuildArch: noarch\n\n%description\nA package for provgate's tests.\n\n%install\n\
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/demo\n\
printf '#!/bin/sh\\necho demo\\n' > %{buildroot}/usr/bin/demo\nchmod 755 %{buildroot}/usr/bin/demo\n\
printf 'data\\n' > %{buildroot}/usr/share/demo/data.txt\n\
ln %{buildroot}/usr/share/demo/data.txt %{buildroot}/usr/share/demo/same.txt\n\
ln -s ../bin/demo %{buildroot}/usr/share/demo/link\n\n%files\n/usr/bin/demo\n/usr/share/demo\n";

/// An rpm built by rpmbuild with its payload compressed by `payload` (rpm's `_binary_payload`).
fn rpmbuild(fx: &Fixture, payload: &str) -> Option<PathBuf> {
    let top = fx.pg.path(format!("rpm-{payload}"));
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let spec = top.join("SPECS/demo.spec");
    std::fs::write(&spec, RPM_SPEC).unwrap();
    let mut command = Command::new("rpmbuild");
    command.arg("--define").arg(format!("_topdir {}", top.display()));
    command.arg("--define").arg(format!("_binary_payload {payload}")).arg("-bb").arg(&spec);
    match command.output() {
        Err(e) => return missing(format!("rpmbuild (Debian's rpm package) is needed to build an rpm: {e}")),
        Ok(out) => assert!(out.status.success(), "rpmbuild: {}", String::from_utf8_lossy(&out.stderr)),
    }
    Some(top.join("RPMS/noarch/demo-1.2-3.noarch.rpm"))
}

#[test]
fn an_rpm_vouches_for_the_files_its_header_lists() {
    let mut fx = Fixture::new();
    for payload in ["w9.gzdio", "w6.xzdio", "w19.zstdio"] {
        let Some(rpm) = rpmbuild(&fx, payload) else { return };
        // rpm's own list of its files and their SHA-256 digests is the oracle.
        let dump = Run::of(Command::new("rpm").args(["-qp", "--dump"]).arg(&rpm));
        assert!(dump.success(), "{dump}");
        let files: Vec<(String, String)> = dump
            .stdout
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                fields[4].starts_with("0100").then(|| (fields[0].to_owned(), fields[3].to_owned()))
            })
            .collect();
        assert_eq!(files.len(), 3, "{dump}");
        let out = fx.register_signed(&rpm, &[]);
        assert!(out.success(), "{payload}: {out}");
        assert!(out.stdout.contains("RPM package demo@1.2-3: 3 files"), "{payload}: {out}");
        for (path, sha256) in &files {
            let explained = fx.pg.run(&["explain", &format!("sha256:{sha256}")]);
            assert!(explained.stdout.contains(&format!("as {path} in demo@1.2-3")), "{payload} {path}: {explained}");
        }
        let truncated = std::fs::read(&rpm).unwrap();
        let cut = fx.pg.write(format!("cut-{payload}.rpm"), &truncated[..truncated.len() - 100]);
        let before = fx.pg.source_count();
        let out = fx.register_signed(&cut, &[]);
        assert_eq!(out.code, 1, "{out}");
        assert!(out.stderr.contains("reading the RPM package"), "{out}");
        assert_eq!(fx.pg.source_count(), before, "nothing added");
    }
}
