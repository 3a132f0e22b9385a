use std::path::PathBuf;

use crate::config::{Config, DEFAULT_TOML};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check this file instead of printing the defaults.
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
            Config::load(&path, true)?;
            println!("{}: ok", path.display());
            Ok(0)
        }
    }
}
