//! The package reader against archives built here: every file hashed in every compression, names
//! and versions from each ecosystem's metadata, links resolved or refused, bounds.
use std::io::Write as _;

use provgate_oci_testkit::{Member, tarball};
use provgate_sbom::Sha256 as Digest;
use tar::EntryType;

use super::*;
use crate::tar_walk::stays_inside;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn read(dir: &tempfile::TempDir, name: &str, bytes: &[u8], limits: &Limits) -> Result<Package, ArchiveError> {
    let path = write(dir, name, bytes);
    read_package(&path, PackageFormat::of_name(name).expect("a package name"), limits)
}

fn listing(package: &Package) -> Vec<(&str, Digest)> {
    package.files.iter().map(|f| (f.path.as_str(), f.sha256)).collect()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const INDEX: &[u8] = b"module.exports = 42;\n";
const MANIFEST: &[u8] = br#"{"name": "@acme/answer", "version": "4.2.0"}"#;

fn npm_members() -> Vec<Member> {
    vec![
        Member::Dir { path: "package".into() },
        Member::file("package/package.json", MANIFEST, 0o644),
        Member::file("package/index.js", INDEX, 0o644),
        Member::Raw {
            kind: EntryType::Link,
            name: b"package/same.js".to_vec(),
            link: b"package/index.js".to_vec(),
            content: vec![],
            mode: 0o644,
        },
        Member::Symlink { path: "package/bin/answer".into(), target: "../index.js".into() },
    ]
}

#[test]
fn every_file_of_a_tarball_is_hashed_in_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tarball::tar(&npm_members());
    for (name, bytes) in [
        ("answer-4.2.0.tgz", tarball::gzip(&tar)),
        ("answer-4.2.0.tar", tar.clone()),
        ("answer-4.2.0.tar.xz", xz(&tar)),
        ("answer-4.2.0.tar.zst", tarball::zstd(&tar)),
    ] {
        let package = read(&dir, name, &bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(package.format, PackageFormat::Npm, "{name}");
        assert_eq!(package.label().as_deref(), Some("@acme/answer@4.2.0"));
        assert_eq!(
            listing(&package),
            vec![
                ("package/package.json", Digest::of(MANIFEST)),
                ("package/index.js", Digest::of(INDEX)),
                ("package/same.js", Digest::of(INDEX)),
            ],
            "{name}: a hard link is the file it names; a symbolic link is no file"
        );
        assert_eq!(package.sha256, Digest::of(&bytes), "{name}: the digest of the bytes read");
        assert_eq!(package.uncompressed_bytes, tar.len() as u64, "{name}");
    }
}

#[test]
fn sdists_and_plain_tarballs_are_told_apart_by_their_contents() {
    let dir = tempfile::tempdir().unwrap();
    let sdist = tarball::gzip(&tarball::tar(&[
        Member::file("rfc-0.1/PKG-INFO", b"Metadata-Version: 2.1\nName: rfc\nVersion: 0.1\n\nName: not this\n", 0o644),
        Member::file("rfc-0.1/rfc/__init__.py", b"", 0o644),
    ]));
    let package = read(&dir, "whatever-9.tar.gz", &sdist, &Limits::default()).unwrap();
    assert_eq!((package.format, package.label().as_deref()), (PackageFormat::Sdist, Some("rfc@0.1")));
    assert_eq!(package.files.len(), 2);
    let plain = tarball::gzip(&tarball::tar(&[Member::file("tool/run", b"#!/bin/sh\n", 0o755)]));
    let package = read(&dir, "tool-1.2.3.tar.gz", &plain, &Limits::default()).unwrap();
    assert_eq!((package.format, package.label().as_deref()), (PackageFormat::Tar, Some("tool@1.2.3")), "from its name");
}

#[test]
fn links_out_of_a_package_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (target, expected) in [("/etc/passwd", "absolute path"), ("../../etc/passwd", "climbs out of the package")] {
        let bytes = tarball::tar(&[Member::Symlink { path: "package/link".into(), target: target.into() }]);
        let err = read(&dir, "x.tar", &bytes, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains(expected), "{target}: {err}");
    }
    assert!(stays_inside("a/b/link", b"../../c").is_ok());
    assert!(stays_inside("a/b/link", b"../../../c").is_err());
    assert!(stays_inside("a/link", b"./x/../../y").is_ok());
    assert!(stays_inside("link", b"x/../../y").is_err());
}

#[test]
fn bounds_refuse_the_whole_package() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = tarball::gzip(&tarball::tar(&[Member::file("zeros", &vec![0; 8 << 20], 0o644)]));
    let small = Limits { ratio_allowance: 1 << 20, ..Limits::default() };
    let err = read(&dir, "zeros.tgz", &zeros, &small).unwrap_err();
    assert!(matches!(err, ArchiveError::Bomb { .. }), "{err}");
    let err = read(&dir, "zeros.tgz", &zeros, &Limits { max_layer_bytes: 100, ..Limits::default() }).unwrap_err();
    assert!(matches!(err, ArchiveError::TooLarge { max: 100, .. }), "{err}");
    let tar = tarball::tar(&npm_members());
    let err = read(&dir, "a.tar", &tar, &Limits { max_entries: 3, ..Limits::default() }).unwrap_err();
    assert_eq!(err, ArchiveError::TooManyMembers { max: 3 });
}

fn zip(entries: &[(&str, &[u8])], method: ::zip::CompressionMethod) -> Vec<u8> {
    let mut writer = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = ::zip::write::SimpleFileOptions::default().compression_method(method).unix_permissions(0o644);
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_wheel_is_read_from_its_central_directory() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = b"Metadata-Version: 2.1\nName: rfc8785\nVersion: 0.1.2\n";
    let entries: [(&str, &[u8]); 2] =
        [("rfc8785/__init__.py", b"print(1)\n"), ("rfc8785-0.1.2.dist-info/METADATA", metadata)];
    for method in [::zip::CompressionMethod::Stored, ::zip::CompressionMethod::Deflated] {
        let bytes = zip(&entries, method);
        let package = read(&dir, "other-9-py3-none-any.whl", &bytes, &Limits::default()).unwrap();
        assert_eq!(package.label().as_deref(), Some("rfc8785@0.1.2"), "from METADATA, not the file name");
        assert_eq!(listing(&package), entries.iter().map(|(n, c)| (*n, Digest::of(c))).collect::<Vec<_>>());
        assert_eq!(package.sha256, Digest::of(&bytes));
    }
    let bomb = zip(&[("zeros", &vec![0; 8 << 20])], ::zip::CompressionMethod::Deflated);
    let err = read(&dir, "bomb.zip", &bomb, &Limits { ratio_allowance: 1 << 20, ..Limits::default() }).unwrap_err();
    assert!(matches!(err, ArchiveError::Bomb { .. }), "{err}");
    let escaping = zip(&[("../x", b"x")], ::zip::CompressionMethod::Stored);
    assert!(read(&dir, "e.zip", &escaping, &Limits::default()).unwrap_err().to_string().contains("climbs out"));
}

/// A deb as dpkg-deb builds one: debian-binary, control.tar.gz, data.tar.xz.
fn deb(control: &[u8], multi_arch_scripts: &[(&str, &[u8])], data: &[Member]) -> Vec<u8> {
    let mut control_members = vec![Member::Dir { path: ".".into() }, Member::file("./control", control, 0o644)];
    control_members
        .extend(multi_arch_scripts.iter().map(|(name, content)| Member::file(&format!("./{name}"), content, 0o755)));
    let mut builder = ar::Builder::new(Vec::new());
    for (name, content) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", tarball::gzip(&tarball::tar(&control_members))),
        ("data.tar.xz", xz(&tarball::tar(data))),
    ] {
        let header = ar::Header::new(name.as_bytes().to_vec(), content.len() as u64);
        builder.append(&header, &content[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

#[test]
fn a_deb_records_installed_paths_and_maintainer_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let data = [
        Member::Dir { path: "./usr/bin".into() },
        Member::file("./usr/bin/foo", b"\x7fELF foo", 0o755),
        Member::Symlink { path: "./usr/bin/bar".into(), target: "/etc/alternatives/bar".into() },
    ];
    const POSTINST: &[u8] = b"#!/bin/sh\nset -e\n";
    let control = b"Package: foo\nVersion: 1.0-1\nArchitecture: amd64\n";
    let package =
        read(&dir, "foo_1.0-1_amd64.deb", &deb(control, &[("postinst", POSTINST)], &data), &Limits::default()).unwrap();
    assert_eq!(package.label().as_deref(), Some("foo@1.0-1"));
    assert_eq!(
        listing(&package),
        vec![("/usr/bin/foo", Digest::of(b"\x7fELF foo")), ("/var/lib/dpkg/info/foo.postinst", Digest::of(POSTINST))],
        "an absolute link is fine where the package is installed at /"
    );
    let control = b"Package: libfoo\nVersion: 2\nArchitecture: arm64\nMulti-Arch: same\n";
    let package =
        read(&dir, "libfoo.deb", &deb(control, &[("postinst", POSTINST)], &data), &Limits::default()).unwrap();
    assert!(package.files.iter().any(|f| f.path == "/var/lib/dpkg/info/libfoo:arm64.postinst"), "{package:?}");

    let escaping = [Member::Raw {
        kind: EntryType::Regular,
        name: b"./../../etc/x".to_vec(),
        link: vec![],
        content: vec![],
        mode: 0o644,
    }];
    let err = read(&dir, "evil.deb", &deb(control, &[], &escaping), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("climbs out"), "{err}");
    let mut truncated = deb(control, &[], &data);
    truncated.truncate(truncated.len() - 20);
    assert!(read(&dir, "cut.deb", &truncated, &Limits::default()).is_err());
}

#[test]
fn names_and_versions_from_file_names() {
    use metadata::from_file_name;
    let some = |name: &str, version: &str| (Some(name.to_owned()), Some(version.to_owned()));
    assert_eq!(from_file_name("left-pad-1.3.0.tgz", PackageFormat::Npm), some("left-pad", "1.3.0"));
    assert_eq!(from_file_name("rfc8785-0.1.2-py3-none-any.whl", PackageFormat::Wheel), some("rfc8785", "0.1.2"));
    assert_eq!(from_file_name("hello_2.10-3_amd64.deb", PackageFormat::Deb), some("hello", "2.10-3"));
    assert_eq!(from_file_name("bash-5.2.26-3.fc40.x86_64.rpm", PackageFormat::Rpm), some("bash", "5.2.26-3.fc40"));
    assert_eq!(from_file_name("tool.tar.gz", PackageFormat::Tar), (Some("tool".to_owned()), None));
}
