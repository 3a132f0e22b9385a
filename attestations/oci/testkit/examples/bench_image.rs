//! Builds the benchmark image of `bench/image-ingest.sh`: files of this machine's /usr, taken in
//! sorted order (so the same machine gives the same image), as gzip layers of about 100 MB
//! uncompressed each, until the compressed layers reach the size asked for. Writes it as an OCI
//! layout (for `skopeo copy`), signs its digest with a private Sigstore (the `.sig` tag is
//! pushed to the registry), and writes the trusted root and a trust policy for `provgate`.
//!
//!   bench_image LAYOUT_DIR WORK_DIR REGISTRY_ADDR REPOSITORY MIN_COMPRESSED_MB
use std::{
    fs::File,
    io::{self, Read as _, Write},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use provgate_attestations_testkit::{Identity, PrivateSigstore};
use provgate_oci_testkit::{Pusher, cosign};
use serde_json::json;
use sha2::{Digest as _, Sha256};

const LAYER_BYTES: u64 = 100 << 20;

/// Hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn files(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            files(&path, out);
        } else if meta.is_file() || meta.file_type().is_symlink() {
            out.push(path);
        }
    }
}

struct Layer {
    digest: String,
    diff_id: String,
    size: u64,
}

fn write_layer(blobs: &Path, paths: &[PathBuf]) -> io::Result<Layer> {
    let temporary = blobs.join("layer.partial");
    let compressed = Hashing { inner: File::create(&temporary)?, hasher: Sha256::new(), bytes: 0 };
    let gzip = flate2::write::GzEncoder::new(compressed, flate2::Compression::default());
    let uncompressed = Hashing { inner: gzip, hasher: Sha256::new(), bytes: 0 };
    let mut builder = tar::Builder::new(uncompressed);
    let mut content = Vec::new();
    for path in paths {
        let meta = std::fs::symlink_metadata(path)?;
        let name = path.strip_prefix("/").expect("absolute");
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(meta.permissions().mode() & 0o7777);
        if meta.file_type().is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder.append_link(&mut header, name, std::fs::read_link(path)?)?;
            continue;
        }
        content.clear();
        if File::open(path).and_then(|mut f| f.read_to_end(&mut content)).is_err() {
            continue;
        }
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(content.len() as u64);
        builder.append_data(&mut header, name, &content[..])?;
    }
    let uncompressed = builder.into_inner()?;
    let diff_id = format!("sha256:{}", hex::encode(uncompressed.hasher.finalize()));
    let compressed = uncompressed.inner.finish()?;
    let digest = hex::encode(compressed.hasher.finalize());
    std::fs::rename(&temporary, blobs.join(&digest))?;
    Ok(Layer { digest: format!("sha256:{digest}"), diff_id, size: compressed.bytes })
}

fn write_blob(blobs: &Path, bytes: &[u8]) -> io::Result<serde_json::Value> {
    let hex = hex::encode(Sha256::digest(bytes));
    std::fs::write(blobs.join(&hex), bytes)?;
    Ok(json!({ "digest": format!("sha256:{hex}"), "size": bytes.len() }))
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, layout, work, registry, repository, megabytes] = args.as_slice() else {
        eprintln!("usage: bench_image LAYOUT_DIR WORK_DIR REGISTRY_ADDR REPOSITORY MIN_COMPRESSED_MB");
        std::process::exit(2);
    };
    let (layout, work) = (Path::new(layout), Path::new(work));
    let target: u64 = megabytes.parse::<u64>().expect("a number of megabytes") * 1_000_000;
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    std::fs::create_dir_all(work)?;

    let mut all = Vec::new();
    files(Path::new("/usr"), &mut all);
    let mut layers = Vec::new();
    let (mut compressed, mut start) = (0u64, 0usize);
    while compressed < target && start < all.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < all.len() && bytes < LAYER_BYTES {
            bytes += std::fs::symlink_metadata(&all[end]).map(|m| if m.is_file() { m.len() } else { 0 }).unwrap_or(0);
            end += 1;
        }
        let layer = write_layer(&blobs, &all[start..end])?;
        compressed += layer.size;
        eprintln!("layer {}: {} files, {:.1} MB compressed", layers.len() + 1, end - start, layer.size as f64 / 1e6);
        layers.push(layer);
        start = end;
    }
    let config = json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>() },
    });
    let mut config_descriptor = write_blob(&blobs, config.to_string().as_bytes())?;
    config_descriptor["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_descriptor,
        "layers": layers.iter().map(|l| json!({ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": l.digest, "size": l.size })).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest)?;
    let mut descriptor = write_blob(&blobs, &manifest)?;
    let digest = descriptor["digest"].as_str().expect("digest").to_owned();
    descriptor["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    descriptor["annotations"] = json!({ "org.opencontainers.image.ref.name": "v1" });
    std::fs::write(layout.join("index.json"), json!({ "schemaVersion": 2, "manifests": [descriptor] }).to_string())?;
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;

    let mut sigstore = PrivateSigstore::new();
    let signer = sigstore.keyless(&Identity::email("release@bench.example", "https://accounts.example"));
    let options = sigstore.default_options();
    let layer = cosign::signature_layer(&mut sigstore, &signer, &format!("{registry}/{repository}"), &digest, &options);
    let pusher = Pusher::new(registry, oci_client::secrets::RegistryAuth::Anonymous);
    cosign::push_cosign(&pusher, repository, &digest, "sig", vec![layer]);
    std::fs::write(work.join("trusted_root.json"), sigstore.trusted_root().to_string())?;
    std::fs::write(
        work.join("policy.toml"),
        "version = 1\n[[signer]]\nname = \"bench\"\nissuer = \"https://accounts.example\"\nidentity = \"release@bench.example\"\nartifact_signatures = true\n",
    )?;
    println!("{digest} {} {compressed}", layers.len());
    Ok(())
}
