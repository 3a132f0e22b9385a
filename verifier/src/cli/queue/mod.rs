//! `provgate review`: the node admin's queue. Walks the denial groups that wait for a decision,
//! newest first, shows what `explain` knows and who tried, and applies each decision at once:
//! approve (with a reason) trusts the file, dismiss (with a reason) keeps it blocked on purpose,
//! skip leaves it for later. Every decision is audited; a running daemon applies approvals
//! before the next group shows.
mod view;

use std::io::IsTerminal as _;

use anyhow::bail;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};

use super::Paths;
use crate::{
    api::client,
    store::{DenialFilter, ReviewState, Store},
    trust::{self, Circumstances, Evidence, current_user},
};
use view::{Context, Prompt, Screen};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Walk every group, whatever its state, not only those waiting for a decision.
    #[arg(long)]
    all: bool,
}

/// What the admin decided, for the closing line.
#[derive(Default)]
struct Tally {
    approved: usize,
    dismissed: usize,
    skipped: usize,
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("provgate review is interactive and needs a terminal; scripts use denials, approve and dismiss");
    }
    let mut store = Store::open(&paths.db)?;
    // Waiting for a decision: never reviewed, or approved once and revoked since.
    let waiting = |state: ReviewState| matches!(state, ReviewState::New | ReviewState::NoLongerAllowed);
    let groups: Vec<_> =
        store.denial_groups(&DenialFilter::default())?.into_iter().filter(|g| args.all || waiting(g.state)).collect();
    if groups.is_empty() {
        println!("nothing to review");
        return Ok(0);
    }
    let mut terminal = ratatui::init();
    let mut screen = Screen::new(groups.len());
    let mut tally = Tally::default();
    let result = (|| -> anyhow::Result<()> {
        for (index, group) in groups.iter().enumerate() {
            let context = Context::gather(&store, group)?;
            screen.start(index);
            loop {
                terminal.draw(|frame| screen.render(frame, group, &context))?;
                let Event::Key(key) = event::read()? else { continue };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                match screen.prompt.as_mut() {
                    Some(prompt) => match key.code {
                        KeyCode::Enter if !prompt.reason.trim().is_empty() => {
                            let prompt = screen.prompt.take().expect("a prompt is open");
                            let outcome = decide(paths, &mut store, group, &prompt);
                            match outcome {
                                Ok(message) => {
                                    screen.status = message;
                                    match prompt.kind {
                                        view::Decision::Approve => tally.approved += 1,
                                        view::Decision::Dismiss => tally.dismissed += 1,
                                    }
                                    break;
                                }
                                Err(e) => screen.status = format!("not done: {e:#}"),
                            }
                        }
                        KeyCode::Enter => screen.status = "a reason is required".into(),
                        KeyCode::Esc => screen.prompt = None,
                        KeyCode::Backspace => {
                            prompt.reason.pop();
                        }
                        KeyCode::Char(c) => prompt.reason.push(c),
                        _ => {}
                    },
                    None => match key.code {
                        KeyCode::Char('a') if group.sha256.is_some() => screen.ask(view::Decision::Approve),
                        KeyCode::Char('a') => {
                            screen.status = "no digest for this file: it cannot be approved by content".into()
                        }
                        KeyCode::Char('d') => screen.ask(view::Decision::Dismiss),
                        KeyCode::Char('s') | KeyCode::Right | KeyCode::Char(' ') => {
                            tally.skipped += 1;
                            break;
                        }
                        KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                        _ => {}
                    },
                }
            }
        }
        Ok(())
    })();
    ratatui::restore();
    result?;
    println!("{} approved, {} dismissed, {} skipped", tally.approved, tally.dismissed, tally.skipped);
    Ok(0)
}

/// Applies a decision: an approval is admitted like any other evidence and sent to a running
/// daemon; a dismissal marks the group's new events.
fn decide(
    paths: &Paths,
    store: &mut Store,
    group: &crate::store::DenialGroup,
    prompt: &Prompt,
) -> anyhow::Result<String> {
    let reason = prompt.reason.trim().to_owned();
    match prompt.kind {
        view::Decision::Approve => {
            let sha256 = group.digest();
            let Some(sha256) = sha256 else { bail!("no digest for this file") };
            let evidence = Evidence::Approval { sha256, path: group.path.clone(), force: false };
            let circumstances = Circumstances { trust: None, forbid_unsigned: false, reason: Some(reason) };
            let committed = match trust::accept(store, evidence, circumstances)? {
                Ok(committed) => committed,
                Err(refusal) => bail!("{refusal}"),
            };
            let applied = match client::reload(&paths.run_dir) {
                Ok((_, micros)) => format!("; the daemon applied it in {micros} µs"),
                Err(client::ClientError::NotRunning(_)) => "; no daemon is running".into(),
                Err(e) => format!("; {e}"),
            };
            Ok(format!("approved {sha256} as source #{}{applied}", committed.id))
        }
        view::Decision::Dismiss => {
            let digest = group.digest();
            let marked = store.dismiss(digest.as_ref(), Some(group.last_event), &current_user(), &reason)?;
            Ok(format!("dismissed {marked} events"))
        }
    }
}
