//! For benchmarks: signs FILE with a private Sigstore made now, and writes into DIR the bundle
//! (`FILE_NAME.sigstore.json`), the trusted root and a trust policy for `provgate register
//! --artifact FILE --bundle B`.
//!
//!   cargo run --release -p provgate-attestations-testkit --example sign_file -- FILE DIR
use std::path::PathBuf;

use provgate_attestations_testkit::{Identity, PrivateSigstore};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(file), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: sign_file FILE DIR");
        std::process::exit(2);
    };
    let mut sigstore = PrivateSigstore::new();
    let signer = sigstore.keyless(&Identity::email("release@bench.example", "https://accounts.example"));
    let options = sigstore.default_options();
    let bundle = sigstore.sign_artifact(&signer, &std::fs::read(&file)?, &options);
    let name = file.file_name().expect("a file name").to_string_lossy().into_owned();
    std::fs::write(dir.join(format!("{name}.sigstore.json")), bundle.to_string())?;
    std::fs::write(dir.join("trusted_root.json"), sigstore.trusted_root().to_string())?;
    std::fs::write(
        dir.join("policy.toml"),
        "version = 1\n[[signer]]\nname = \"bench\"\nissuer = \"https://accounts.example\"\nidentity = \"release@bench.example\"\nartifact_signatures = true\n",
    )?;
    Ok(())
}
