use serde_json::json;

use super::{Paths, table, trust_args::TrustArgs};
use crate::{config::Config, store::Store, trust::StoredEvidence};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[arg(long, global = true)]
    json: bool,
    /// Every column (who added each source, and why), however wide.
    #[arg(long, global = true)]
    wide: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List the sources (the default).
    List,
    /// Check every signed source again against the trusted root and trust policy in force (after
    /// either changed) and report the ones that no longer pass. Exit 1 if any fails.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    #[command(flatten)]
    trust: TrustArgs,
}

pub fn run(paths: &Paths, config: &Config, args: Args) -> anyhow::Result<i32> {
    match args.action {
        None | Some(Action::List) => list(paths, args.json, args.wide),
        Some(Action::Verify(verify_args)) => verify(paths, config, verify_args, args.json),
    }
}

fn list(paths: &Paths, json: bool, wide: bool) -> anyhow::Result<i32> {
    let store = Store::open(&paths.db)?;
    let sources = store.sources()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&sources)?);
        return Ok(0);
    }
    if sources.is_empty() {
        println!("no sources: nothing is allowed");
        return Ok(0);
    }
    let mut header = vec!["ID", "KIND", "NAME", "SIGNER", "DIGESTS", "ADDED"];
    if wide {
        header.extend(["BY", "REASON"]);
    }
    let mut t = if wide { table::wide(&header) } else { table::new(&header) };
    for s in &sources {
        let mut row = vec![
            s.id.to_string(),
            s.kind.to_string(),
            s.name.clone(),
            s.signer.clone().unwrap_or_else(|| "-".into()),
            s.digests.to_string(),
            table::time_ms(s.created_at * 1000),
        ];
        if wide {
            row.extend([s.created_by.clone(), s.reason.clone().unwrap_or_default()]);
        }
        t.add_row(row);
    }
    println!("{t}");
    println!("{} sources, {} distinct digests allowed", sources.len(), store.allowed_digests()?.len());
    Ok(0)
}

fn verify(paths: &Paths, config: &Config, args: VerifyArgs, json: bool) -> anyhow::Result<i32> {
    let trust = args.trust.load(config)?;
    let store = Store::open(&paths.db)?;
    let signed = store.signed_sources()?;
    let unsigned = store.sources()?.len() - signed.len();
    let mut failed = 0;
    let mut results = Vec::new();
    for (source, evidence) in &signed {
        let outcome = serde_json::from_value::<StoredEvidence>(evidence.clone())
            .map_err(|e| format!("stored evidence is unreadable: {e}"))
            .and_then(|evidence| evidence.verify(&trust));
        let line = match &outcome {
            Ok(passed) => format!("#{} {} {:?}: ok, {passed}", source.id, source.kind, source.name),
            Err(why) => {
                failed += 1;
                format!("#{} {} {:?}: FAILED: {why}", source.id, source.kind, source.name)
            }
        };
        results.push(json!({ "source": source.id, "kind": source.kind, "name": source.name, "ok": outcome.is_ok(),
                             "error": outcome.as_ref().err() }));
        if !json {
            println!("{line}");
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "results": results, "failed": failed, "unsigned": unsigned }))?
        );
    } else {
        println!(
            "{} signed sources checked, {failed} failed; {unsigned} sources are not signed (manual, baseline, approval, unsigned SBOM): nothing to check",
            signed.len()
        );
        if failed > 0 {
            println!("revoke what no longer passes with: provgate revoke SOURCE");
        }
    }
    Ok(i32::from(failed > 0))
}
