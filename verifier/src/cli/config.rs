use std::path::{Path, PathBuf};

use crate::config::{Config, DEFAULT_PATH, DEFAULT_TOML};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check this file instead of printing the defaults. At the default location a missing file
    /// is fine (the defaults apply), as for `run`.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    match args.check {
        None => {
            print!("{DEFAULT_TOML}");
            Ok(0)
        }
        Some(path) => {
            println!("{}", check(&path, Path::new(DEFAULT_PATH))?);
            Ok(0)
        }
    }
}

/// Loads the file as `run` would: a missing file is an error unless it is at the default
/// location.
fn check(path: &Path, default: &Path) -> anyhow::Result<String> {
    let at_default = path == default;
    if at_default && !path.exists() {
        return Ok(format!("{}: no configuration file; the defaults apply", path.display()));
    }
    Config::load(path, !at_default)?;
    Ok(format!("{}: ok", path.display()))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_missing_file_is_fine_only_at_the_default_location() {
        let dir = tempfile::tempdir().unwrap();
        let default = dir.path().join("provgate.toml");
        assert!(check(&default, &default).unwrap().contains("the defaults apply"));
        let elsewhere = dir.path().join("other.toml");
        assert!(check(&elsewhere, &default).is_err());
        std::fs::write(&default, "mode = \"audit\"\n").unwrap();
        assert!(check(&default, &default).unwrap().ends_with(": ok"));
        std::fs::write(&default, "mode = \"sideways\"\n").unwrap();
        assert!(check(&default, &default).is_err(), "a broken file at the default location is an error");
    }
}
