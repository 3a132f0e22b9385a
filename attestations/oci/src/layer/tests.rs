//! The layer reader against layers built here member by member, well-formed and evil.
use std::sync::atomic::AtomicU64;

use provgate_oci_testkit::{
    Member,
    oci::{self, LAYER_GZIP, LAYER_TAR, LAYER_ZSTD},
    tarball,
};
use tar::EntryType;

use super::*;
use crate::{Digest, limits::Limits, manifest::Descriptor};

const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0 a program";
const SCRIPT: &[u8] = b"#!/bin/sh\necho hello\n";

fn sha(bytes: &[u8]) -> Digest {
    Digest::of(bytes)
}

fn descriptor(blob: &provgate_oci_testkit::Blob) -> Descriptor {
    Descriptor {
        media_type: blob.media_type.clone(),
        digest: blob.digest().parse().unwrap(),
        size: blob.bytes.len() as i64,
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    }
}

fn read(blob: &provgate_oci_testkit::Blob, limits: &Limits) -> Result<(LayerChanges, LayerStats), LayerError> {
    read_layer(&blob.bytes[..], &descriptor(blob), limits, &AtomicU64::new(0))
}

/// The candidate files after applying `layers` in order, as (path, digest).
fn image(layers: &[Vec<Member>]) -> Result<Vec<(String, Digest)>, LayerError> {
    let mut files = ImageFiles::default();
    for members in layers {
        let (changes, _) = read(&oci::layer(members, LAYER_GZIP), &Limits::default())?;
        files.apply(changes)?;
    }
    Ok(files.candidates().map(|f| (f.path, f.sha256)).collect())
}

#[test]
fn candidates_are_hashed_in_every_compression() {
    let members = [
        Member::Dir { path: "usr/bin".into() },
        Member::file("usr/bin/tool", ELF, 0o755),
        Member::file("usr/lib/libx.so", ELF, 0o644),
        Member::file("usr/local/bin/run.sh", SCRIPT, 0o644),
        Member::file("usr/bin/opaque-binary", b"no magic, but executable", 0o700),
        Member::file("etc/motd", b"#not a script, not executable", 0o644),
        Member::file("etc/empty", b"", 0o644),
        Member::Symlink { path: "bin".into(), target: "/usr/bin".into() },
        Member::Symlink { path: "usr/bin/awk".into(), target: "/etc/alternatives/awk".into() },
    ];
    for media_type in [LAYER_TAR, LAYER_GZIP, LAYER_ZSTD] {
        let blob = oci::layer(&members, media_type);
        let (changes, stats) = read(&blob, &Limits::default()).unwrap_or_else(|e| panic!("{media_type}: {e}"));
        assert_eq!((stats.regular_files, stats.candidates), (6, 4), "{media_type}");
        assert_eq!(stats.compressed_bytes, blob.bytes.len() as u64);
        assert_eq!(
            stats.uncompressed_bytes,
            tarball::tar(&members).len() as u64,
            "every byte of the tar stream counted"
        );
        let mut files = ImageFiles::default();
        files.apply(changes).unwrap();
        let found: Vec<(String, Digest)> = files.candidates().map(|f| (f.path, f.sha256)).collect();
        assert_eq!(
            found,
            vec![
                ("/usr/bin/opaque-binary".to_owned(), sha(b"no magic, but executable")),
                ("/usr/bin/tool".to_owned(), sha(ELF)),
                ("/usr/lib/libx.so".to_owned(), sha(ELF)),
                ("/usr/local/bin/run.sh".to_owned(), sha(SCRIPT)),
            ],
            "{media_type}"
        );
    }
}

#[test]
fn whiteouts_and_replacements_remove_lower_files() {
    let base = vec![
        Member::file("usr/bin/a", ELF, 0o755),
        Member::file("usr/bin/b", b"#!/bin/b\n", 0o755),
        Member::file("opt/app/bin/x", b"#!x\n", 0o755),
        Member::file("opt/app/bin/y", b"#!y\n", 0o755),
        Member::file("srv/tool", b"#!tool\n", 0o755),
        Member::file("var/lib/replaced-by-dir", b"#!f\n", 0o755),
        Member::file("home/keep", b"#!keep\n", 0o755),
    ];
    let upper = vec![
        // Whiteouts apply to lower layers only: a file this layer adds at a whited-out path stays.
        Member::Whiteout { path: "usr/bin/a".into() },
        Member::file("usr/bin/a2", b"#!a2\n", 0o755),
        Member::Opaque { dir: "opt/app".into() },
        Member::file("opt/app/bin/z", b"#!z\n", 0o755),
        Member::Symlink { path: "srv".into(), target: "/elsewhere".into() },
        Member::Dir { path: "var/lib/replaced-by-dir".into() },
        Member::file("usr/bin/b", b"#!new b\n", 0o755),
    ];
    let found = image(&[base, upper]).unwrap();
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/home/keep", "/opt/app/bin/z", "/usr/bin/a2", "/usr/bin/b"]);
    assert_eq!(found[3].1, sha(b"#!new b\n"), "the upper layer's content wins");
    // A whiteout of a directory removes everything below it.
    let gone = image(&[
        vec![Member::file("a/b/c", ELF, 0o755), Member::file("ab", ELF, 0o755)],
        vec![Member::Whiteout { path: "a".into() }],
    ])
    .unwrap();
    assert_eq!(gone.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["/ab"]);
}

#[test]
fn hard_links_share_their_targets_content() {
    let found = image(&[
        vec![Member::file("usr/bin/python3.11", ELF, 0o755), Member::file("etc/data", b"data", 0o644)],
        vec![
            Member::HardLink { path: "usr/bin/python3".into(), target: "usr/bin/python3.11".into() },
            Member::file("usr/bin/gzip", b"#!gzip\n", 0o755),
            Member::HardLink { path: "usr/bin/gunzip".into(), target: "./usr/bin/gzip".into() },
            Member::HardLink { path: "etc/data-link".into(), target: "etc/data".into() },
        ],
    ])
    .unwrap();
    assert_eq!(
        found,
        vec![
            ("/usr/bin/gunzip".to_owned(), sha(b"#!gzip\n")),
            ("/usr/bin/gzip".to_owned(), sha(b"#!gzip\n")),
            ("/usr/bin/python3".to_owned(), sha(ELF)),
            ("/usr/bin/python3.11".to_owned(), sha(ELF)),
        ]
    );
    let err = image(&[vec![Member::HardLink { path: "x".into(), target: "missing".into() }]]).unwrap_err();
    assert_eq!(err.to_string(), r#"member "x": hard link to "missing", which is not a file of the image"#);
}

#[test]
fn members_that_would_escape_the_root_are_refused() {
    let raw = |kind, name: &str, link: &str| Member::Raw {
        kind,
        name: name.into(),
        link: link.into(),
        content: Vec::new(),
        mode: 0o755,
    };
    let cases = [
        (
            raw(EntryType::Regular, "../../etc/cron.d/evil", ""),
            r#"member "../../etc/cron.d/evil": path climbs out of the archive's tree with '..'"#,
        ),
        (raw(EntryType::Regular, "usr/../../x", ""), "climbs out"),
        (raw(EntryType::Regular, "/etc/passwd", ""), r#"member "/etc/passwd": absolute path"#),
        (
            raw(EntryType::Link, "usr/bin/sh", "/etc/shadow"),
            r#"member "usr/bin/sh": hard link target "/etc/shadow": absolute path"#,
        ),
        (
            raw(EntryType::Link, "usr/bin/sh", "../../etc/shadow"),
            "hard link target \"../../etc/shadow\": path climbs out",
        ),
        (raw(EntryType::Regular, "a/.wh...", ""), r#"member "a/.wh...": whiteout of no file"#),
        (raw(EntryType::GNUSparse, "sparse", ""), "GNU sparse files are not supported"),
        (raw(EntryType::new(b'V'), "volume", ""), "member type 'V' is not one provgate reads"),
    ];
    for (member, expected) in cases {
        let err = read(&oci::layer(&[Member::file("ok", ELF, 0o755), member.clone()], LAYER_GZIP), &Limits::default())
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{member:?}: {err}");
    }
}

#[test]
fn long_names_are_bounded() {
    let ok =
        read(&oci::layer(&[Member::LongName { size: 300, content: ELF.to_vec() }], LAYER_GZIP), &Limits::default())
            .unwrap();
    assert_eq!(ok.0.members[0].0, "a".repeat(300));
    let err =
        read(&oci::layer(&[Member::LongName { size: 1 << 20, content: ELF.to_vec() }], LAYER_GZIP), &Limits::default())
            .unwrap_err();
    assert_eq!(err.to_string(), "not a valid tar stream: GNU long name of 1048576 bytes, more than the 4096 allowed");
}

#[test]
fn altered_blobs_are_refused() {
    let blob = oci::layer(&[Member::file("usr/bin/tool", ELF, 0o755)], LAYER_GZIP);
    let expected = descriptor(&blob);
    // The same size, other bytes (in the gzip trailer's CRC, so it still decompresses).
    let mut altered = blob.clone();
    let n = altered.bytes.len();
    altered.bytes[n - 6] ^= 0x40;
    let err = read_layer(&altered.bytes[..], &expected, &Limits::default(), &AtomicU64::new(0)).unwrap_err();
    assert!(matches!(err, LayerError::Digest { actual_size, .. } if actual_size == n as u64), "{err}");
    assert!(err.to_string().contains("the layer was altered or corrupted"), "{err}");
    // Altered inside the compressed data: the digest, not the corrupt gzip, is the reason given.
    let mut altered = blob.clone();
    altered.bytes[20] ^= 0xff;
    let err = read_layer(&altered.bytes[..], &expected, &Limits::default(), &AtomicU64::new(0)).unwrap_err();
    assert!(matches!(err, LayerError::Digest { .. }), "{err}");
    // More bytes than declared: stopped at the first byte too many.
    let mut longer = blob.bytes.clone();
    longer.extend_from_slice(&[0; 1000]);
    let err = read_layer(&longer[..], &expected, &Limits::default(), &AtomicU64::new(0)).unwrap_err();
    assert!(
        matches!(err, LayerError::Digest { actual_size, expected_size, .. } if actual_size > expected_size),
        "{err}"
    );
    // Fewer.
    let err = read_layer(&blob.bytes[..n - 10], &expected, &Limits::default(), &AtomicU64::new(0)).unwrap_err();
    assert!(matches!(err, LayerError::Digest { .. }), "{err}");
}

#[test]
fn decompression_bombs_are_stopped() {
    // 16 MiB of zeros in one file: gzip makes about 16 KiB of it, zstd a few hundred bytes.
    let members = [Member::file("zeros", &vec![0u8; 16 << 20], 0o644)];
    let limits = Limits { ratio_allowance: 1 << 20, ..Limits::default() };
    for media_type in [LAYER_GZIP, LAYER_ZSTD] {
        let blob = oci::layer(&members, media_type);
        let err = read(&blob, &limits).unwrap_err();
        let LayerError::Archive(ArchiveError::Bomb { max, compressed, .. }) = err else {
            panic!("{media_type}: {err}")
        };
        assert_eq!((max, compressed), ((blob.bytes.len() as u64 * 100).max(1 << 20), blob.bytes.len() as u64));
        assert!(err.to_string().contains("refusing a decompression bomb"), "{err}");
    }
    // The image's total is shared by its layers.
    let small = oci::layer(&[Member::file("f", &vec![7u8; 600_000], 0o644)], LAYER_GZIP);
    let limits = Limits { max_total_bytes: 1_000_000, ..Limits::default() };
    let total = AtomicU64::new(0);
    read_layer(&small.bytes[..], &descriptor(&small), &limits, &total).unwrap();
    let err = read_layer(&small.bytes[..], &descriptor(&small), &limits, &total).unwrap_err();
    assert_eq!(err, LayerError::TotalTooLarge { max: 1_000_000 });
}

#[test]
fn other_bounds_and_bad_input() {
    let blob = oci::layer(&[Member::file("a", ELF, 0o755), Member::file("b", ELF, 0o755)], LAYER_TAR);
    let err = read(&blob, &Limits { max_entries: 1, ..Limits::default() }).unwrap_err();
    assert_eq!(err, LayerError::Archive(ArchiveError::TooManyMembers { max: 1 }));
    let err = read(&blob, &Limits { max_layer_bytes: 100, ..Limits::default() }).unwrap_err();
    assert!(matches!(err, LayerError::TooLarge { max: 100, .. }), "{err}");
    let mut unknown = blob.clone();
    unknown.media_type = "application/vnd.oci.image.layer.v1.tar+bzip2".into();
    assert!(read(&unknown, &Limits::default()).unwrap_err().to_string().contains("unknown layer media type"));
    // Not gzip at all, with the right digest: the data, not the digest, is the problem.
    let garbage = provgate_oci_testkit::Blob::new(LAYER_GZIP, b"this is not gzip".to_vec());
    let err = read(&garbage, &Limits::default()).unwrap_err();
    assert!(err.to_string().starts_with("gzip data is corrupt"), "{err}");
    let garbage = provgate_oci_testkit::Blob::new(LAYER_TAR, vec![b'x'; 1024]);
    assert!(matches!(read(&garbage, &Limits::default()).unwrap_err(), LayerError::Archive(ArchiveError::Tar(_))));
    let digest: Digest = blob.digest().parse().unwrap();
    assert_eq!(descriptor(&blob).digest, digest);
}
