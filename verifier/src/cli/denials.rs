use std::path::Path;

use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(db: &Path, args: Args) -> anyhow::Result<i32> {
    let store = Store::open(db)?;
    let groups = store.denial_groups()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&groups)?);
        return Ok(0);
    }
    if groups.is_empty() {
        println!("no denials recorded");
        return Ok(0);
    }
    println!("{:<6} {:<12} {:<18} {:<14} {:<20} FILE", "COUNT", "ACTION", "HOOK", "SHA256", "PROCESSES");
    for g in &groups {
        let digest = g.sha256.as_deref().map_or("-".to_owned(), |d| d[..12].to_owned());
        let file = g.path.clone().unwrap_or_else(|| format!("dev {} ino {}", g.dev, g.ino));
        println!(
            "{:<6} {:<12} {:<18} {:<14} {:<20} {file}",
            g.count,
            g.actions.join(","),
            g.hooks.join(","),
            digest,
            truncate(&g.comms.join(","), 20)
        );
    }
    Ok(0)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}
