//! `audit`: the trust-change log. Every source added or revoked, every approval and dismissal,
//! with who did it, when and why.
use super::{Paths, table};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only changes since this long ago ("90s", "10m", "2h 30m", "7d") or since this time
    /// (RFC 3339).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let since = args.since.as_deref().map(table::since_ms).transpose()?;
    let entries = Store::open(&paths.db)?.audit_entries(since)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(0);
    }
    if entries.is_empty() {
        println!("no trust changes recorded");
        return Ok(0);
    }
    let mut t = table::new(&["AT", "ACTOR", "ACTION", "SOURCE", "WHAT", "REASON"]);
    for e in &entries {
        let field = |key: &str| e.detail.get(key).filter(|v| !v.is_null());
        let what = match (field("kind"), field("name")) {
            (Some(kind), Some(name)) => format!("{} {}", kind.as_str().unwrap_or("?"), name.as_str().unwrap_or("?")),
            _ => field("events").map(|n| format!("{n} events")).unwrap_or_default(),
        };
        t.add_row(vec![
            table::time_ms(e.at_ms),
            e.actor.clone(),
            e.action.clone(),
            field("source").map(|id| format!("#{id}")).unwrap_or_else(|| "-".into()),
            what,
            field("reason").and_then(|r| r.as_str()).unwrap_or("").to_owned(),
        ]);
    }
    println!("{t}");
    Ok(0)
}
