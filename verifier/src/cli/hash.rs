use std::path::PathBuf;

use crate::hashing::hash_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let mut failed = false;
    for path in &args.paths {
        match hash_file(path) {
            Ok(h) => println!("{}  {}", h.digest, path.display()),
            Err(e) => {
                eprintln!("provgate: {e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}
