//! provgate: only code whose provenance is proven may run.
mod api;
mod cli;
mod config;
mod daemon;
mod file_stamp;
mod filecache;
mod hashing;
mod kernel;
mod scan;
mod store;
mod trust;

use clap::Parser as _;

fn main() {
    // Die quietly on a closed pipe (`provgate denials | head`), like other command-line tools.
    // SAFETY: setting a signal disposition before any threads exist.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match cli::main(cli) {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            // One line: the error and its causes, outermost first.
            let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
            eprintln!("provgate: {}", chain.join(": "));
            std::process::exit(1);
        }
    }
}
