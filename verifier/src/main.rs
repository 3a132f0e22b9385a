//! provgate: only code whose provenance is proven may run.
mod api;
mod cli;
mod config;
mod daemon;
mod events_out;
mod feeds;
mod file_stamp;
mod filecache;
mod hashing;
mod kernel;
mod os;
mod scan;
mod store;
mod trust;
mod workload;

use clap::Parser as _;

fn main() {
    // Die quietly on a closed pipe (`provgate denials | head`), like other command-line tools.
    // SAFETY: setting a signal disposition before any threads exist.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs())
        .init();
    let cli = cli::Cli::parse();
    match cli::main(cli) {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("provgate: {}", one_line(&error));
            std::process::exit(1);
        }
    }
}

/// Colour in logs only for a person at a terminal: not in a journal, a file or a pipe, and not
/// when `NO_COLOR` is set to anything non-empty (no-color.org).
fn colour_logs() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The error and its causes on one line, outermost first, each said once: a cause that a message
/// already includes (`{path}: {source}`) is not repeated.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain().map(ToString::to_string) {
        if line.contains(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let inner = crate::hashing::HashError::Io { path: "/x".into(), source: io };
        let error = anyhow::Error::new(inner).context("hashing /x");
        assert_eq!(super::one_line(&error), "hashing /x: /x: entity not found");
    }
}
