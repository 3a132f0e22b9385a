//! `provgate sbom`: look inside an SBOM, or write one for a build output directory.
use std::{
    fs::File,
    io::{self, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use clap::Subcommand;
use provgate_sbom::{
    Summary,
    generate::{DocumentInfo, OutputFormat, SbomWriter, rfc3339},
};
use sha1::{Digest as _, Sha1};

use crate::{
    hashing::sha256_reader,
    trust::{problem_lines, read_sbom},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show an SBOM's format, document, counts (files, packages, SHA-256 digests, other
    /// algorithms) and problems. The format is read from the content.
    Inspect(InspectArgs),
    /// Write a file-level SBOM of a directory: every regular file with its SHA-256.
    Generate(GenerateArgs),
}

#[derive(Debug, clap::Args)]
struct InspectArgs {
    file: PathBuf,
    /// One JSON object, with a `records` array (sha256, kind, path, package, other digests).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    dir: PathBuf,
    #[arg(long, value_enum)]
    format: OutputFormat,
    /// Write here (atomically) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Document name; the directory's name by default.
    #[arg(long)]
    name: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    match args.command {
        Command::Inspect(args) => inspect(args),
        Command::Generate(args) => generate(args),
    }
}

fn inspect(args: InspectArgs) -> anyhow::Result<i32> {
    if !args.json {
        let read = read_sbom(&args.file, &mut |_| {})?;
        print_summary(&args.file, &read.summary);
        return Ok(0);
    }
    // Records stream out as they are read; an error closes the object with an `error` field, so
    // the output is valid JSON either way.
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    write!(out, "{{\"file\":{},\"records\":[", serde_json::to_string(&args.file.display().to_string())?)?;
    let mut first = true;
    let mut write_error = None;
    let result = read_sbom(&args.file, &mut |record| {
        let separator = if first { "\n" } else { ",\n" };
        first = false;
        if let Err(e) =
            write!(out, "{separator}").and_then(|()| serde_json::to_writer(&mut out, &record).map_err(io::Error::from))
        {
            write_error.get_or_insert(e);
        }
    });
    if let Some(e) = write_error {
        return Err(e).context("writing to standard output");
    }
    match result {
        Ok(read) => {
            let summary = serde_json::to_value(&read.summary)?;
            let fields = summary.as_object().expect("a summary is an object");
            write!(out, "\n]")?;
            for (key, value) in fields {
                write!(out, ",{}:{}", serde_json::to_string(key)?, value)?;
            }
            writeln!(
                out,
                ",\"skipped_total\":{},\"sbom_sha256\":\"{}\"}}",
                read.summary.skipped_total(),
                read.file_sha256.to_hex()
            )?;
            out.flush()?;
            Ok(0)
        }
        Err(e) => {
            let message: Vec<String> = e.chain().map(ToString::to_string).collect();
            writeln!(out, "\n],\"error\":{}}}", serde_json::to_string(&message.join(": "))?)?;
            out.flush()?;
            Err(e)
        }
    }
}

fn print_summary(path: &Path, s: &Summary) {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    println!("{}: {} {}", path.display(), s.format, s.spec_version.as_deref().unwrap_or(""));
    println!("  name:       {}", or_none(&s.name));
    println!("  namespace:  {}", or_none(&s.namespace));
    println!("  files:      {}", s.files);
    println!("  packages:   {}", s.packages);
    println!("  sha256:     {} (what registration would allow)", s.sha256_digests);
    if s.packages_not_files > 0 {
        println!(
            "  not files:  {} package entries with a SHA-256 that are not files (an image, a package known by name or purl); never allowed",
            s.packages_not_files
        );
    }
    let skipped: Vec<String> = s.skipped_algorithms.iter().map(|(alg, n)| format!("{alg} {n}")).collect();
    if skipped.is_empty() {
        println!("  skipped:    0");
    } else {
        println!("  skipped:    {} ({}; kept as metadata, never allowed)", s.skipped_total(), skipped.join(", "));
    }
    for line in problem_lines(path, s) {
        println!("  problem:    {line}");
    }
}

fn generate(args: GenerateArgs) -> anyhow::Result<i32> {
    let dir = &args.dir;
    anyhow::ensure!(dir.is_dir(), "{}: not a directory", dir.display());
    let name = args.name.clone().unwrap_or_else(|| {
        std::path::absolute(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "build".into())
    });
    let created = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => epoch.parse().context("SOURCE_DATE_EPOCH is not a number of seconds")?,
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
    };
    let info = DocumentInfo {
        name,
        uuid: random_uuid()?,
        created: rfc3339(created),
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    let format = args.format;
    match &args.output {
        None => {
            let writer = SbomWriter::start(BufWriter::new(io::stdout().lock()), format, &info)?;
            let count = write_tree(dir, format, writer, None)?;
            eprintln!("provgate: {count} files described");
        }
        Some(output) => {
            // Written beside the target and renamed, so a failed run leaves no partial SBOM.
            let temp = output.with_file_name(format!(
                ".{}.{}.tmp",
                output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                std::process::id()
            ));
            let file = File::create(&temp).with_context(|| format!("{}", temp.display()))?;
            let skip = [std::path::absolute(output)?, std::path::absolute(&temp)?];
            let result = SbomWriter::start(BufWriter::new(file), format, &info)
                .map_err(anyhow::Error::from)
                .and_then(|writer| write_tree(dir, format, writer, Some(&skip)));
            match result.and_then(|count| Ok((count, std::fs::rename(&temp, output)?))) {
                Ok((count, ())) => {
                    eprintln!("provgate: {count} files described in {}", output.display())
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&temp);
                    return Err(e);
                }
            }
        }
    }
    Ok(0)
}

/// Walks `dir` in a stable order (entries sorted by name), writing each regular file as it is
/// hashed. Memory holds one directory listing per level, never the whole tree.
fn write_tree<W: Write>(
    dir: &Path,
    format: OutputFormat,
    mut writer: SbomWriter<W>,
    skip: Option<&[PathBuf]>,
) -> anyhow::Result<u64> {
    let mut count = 0;
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let here = dir.join(&relative);
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .with_context(|| format!("{}", here.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}", here.display()))?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type().with_context(|| format!("{}", path.display()))?;
            let rel = relative.join(entry.file_name());
            if kind.is_dir() {
                subdirs.push(rel);
            } else if kind.is_file() {
                if skip.is_some_and(|s| std::path::absolute(&path).is_ok_and(|a| s.contains(&a))) {
                    continue;
                }
                let (sha256, sha1) = hash_both(&path)?;
                let text = rel.to_str().map(str::to_owned).unwrap_or_else(|| {
                    tracing::warn!(path = %path.display(), "file name is not UTF-8; recorded with replacement characters");
                    rel.to_string_lossy().into_owned()
                });
                let text = match format {
                    OutputFormat::SpdxJson => format!("./{text}"),
                    OutputFormat::CyclonedxJson => text,
                };
                let sha1 = (format == OutputFormat::SpdxJson).then_some(sha1);
                writer.add_file(&text, &provgate_sbom::Sha256(sha256.0), sha1.as_ref())?;
                count += 1;
            } else {
                tracing::warn!(path = %path.display(), "not a regular file or directory (symlink, device, socket); left out");
            }
        }
        // Reversed so the stack pops them in name order.
        pending.extend(subdirs.into_iter().rev());
    }
    writer.finish()?;
    Ok(count)
}

/// SHA-256 and SHA-1 of a file in one read (SPDX 2 wants SHA-1 for every file).
fn hash_both(path: &Path) -> anyhow::Result<(crate::hashing::Sha256, [u8; 20])> {
    struct Tee<R> {
        inner: R,
        sha1: Sha1,
    }
    impl<R: Read> Read for Tee<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.sha1.update(&buf[..n]);
            Ok(n)
        }
    }
    let file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut tee = Tee { inner: file, sha1: Sha1::new() };
    let sha256 = sha256_reader(&mut tee).with_context(|| format!("{}", path.display()))?;
    Ok((sha256, tee.sha1.finalize().into()))
}

/// A version 4 UUID from the kernel's random pool.
fn random_uuid() -> anyhow::Result<String> {
    let mut b = [0u8; 16];
    File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).context("/dev/urandom")?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
}
