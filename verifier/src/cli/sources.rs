use super::{Paths, table};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let store = Store::open(&paths.db)?;
    let sources = store.sources()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&sources)?);
        return Ok(0);
    }
    if sources.is_empty() {
        println!("no sources: nothing is allowed");
        return Ok(0);
    }
    let mut t = table::new(&["ID", "KIND", "NAME", "SIGNER", "DIGESTS", "ADDED", "BY", "REASON"]);
    for s in &sources {
        t.add_row(vec![
            s.id.to_string(),
            s.kind.clone(),
            s.name.clone(),
            s.signer.clone().unwrap_or_else(|| "-".into()),
            s.digests.to_string(),
            table::time_ms(s.created_at * 1000),
            s.created_by.clone(),
            s.reason.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    println!("{} sources, {} distinct digests allowed", sources.len(), store.allowed_digests()?.len());
    Ok(0)
}
