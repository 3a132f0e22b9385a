//! What the review queue shows: one denial group at a time, with what the store knows about the
//! file and who tried to run it, and the prompt for a decision's reason.
use ratatui::{
    Frame,
    layout::{Constraint, Layout},
    style::{Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Paragraph, Wrap},
};

use crate::{
    cli::table,
    store::{DenialGroup, SourceSummary, Store},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Dismiss,
}

pub struct Prompt {
    pub kind: Decision,
    pub reason: String,
}

/// What the store knows about a group's file beyond its events.
pub struct Context {
    vouchers: Vec<SourceSummary>,
    seen_at: Vec<String>,
}

impl Context {
    pub fn gather(store: &Store, group: &DenialGroup) -> anyhow::Result<Self> {
        let digest = group.digest();
        let Some(digest) = digest else {
            return Ok(Self { vouchers: Vec::new(), seen_at: Vec::new() });
        };
        Ok(Self {
            vouchers: store.vouchers(&digest)?,
            seen_at: store.cached_files_with_digest(&digest)?.into_iter().map(|c| c.path).collect(),
        })
    }
}

pub struct Screen {
    total: usize,
    index: usize,
    pub prompt: Option<Prompt>,
    /// The outcome of the last decision, or why it was not taken.
    pub status: String,
}

impl Screen {
    pub fn new(total: usize) -> Self {
        Self { total, index: 0, prompt: None, status: String::new() }
    }

    pub fn start(&mut self, index: usize) {
        self.index = index;
        self.prompt = None;
    }

    pub fn ask(&mut self, kind: Decision) {
        self.prompt = Some(Prompt { kind, reason: String::new() });
    }

    pub fn render(&self, frame: &mut Frame<'_>, group: &DenialGroup, context: &Context) {
        let [title, body, status, input] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1), Constraint::Length(3)])
                .areas(frame.area());
        let bold = Style::default().add_modifier(Modifier::BOLD);
        frame.render_widget(
            Line::from(vec![
                Span::styled(format!("provgate review: {} of {}", self.index + 1, self.total), bold),
                Span::raw("   [a]pprove  [d]ismiss  [s]kip  [q]uit"),
            ]),
            title,
        );
        let details = Paragraph::new(details(group, context))
            .block(Block::default().borders(Borders::ALL).title(format!(" event #{} ", group.last_event)))
            .wrap(Wrap { trim: false });
        frame.render_widget(details, body);
        frame.render_widget(Line::raw(self.status.as_str()), status);
        let (label, text) = match &self.prompt {
            Some(Prompt { kind: Decision::Approve, reason }) => (" approve: why may this run? (Enter, Esc) ", reason),
            Some(Prompt { kind: Decision::Dismiss, reason }) => (" dismiss: why is it blocked? (Enter, Esc) ", reason),
            None => (" ", &String::new()),
        };
        frame.render_widget(
            Paragraph::new(text.as_str()).block(Block::default().borders(Borders::ALL).title(label)),
            input,
        );
    }
}

fn field(name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<12}"), Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(value),
    ])
}

fn list<T: ToString>(items: &[T]) -> String {
    if items.is_empty() { "-".into() } else { items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ") }
}

fn details(group: &DenialGroup, context: &Context) -> Vec<Line<'static>> {
    let file = group.path.clone().unwrap_or_else(|| format!("dev {} ino {}", group.dev, group.ino));
    let vouchers = if context.vouchers.is_empty() {
        "nothing vouches for this content".to_owned()
    } else {
        list(&context.vouchers.iter().map(|s| format!("#{} {} {}", s.id, s.kind, s.name)).collect::<Vec<_>>())
    };
    let where_ = if group.containers.is_empty() { list(&group.cgroups) } else { list(&group.containers) };
    let mut lines = vec![
        field("FILE", file),
        field("SHA256", group.sha256.as_deref().map_or("not known".into(), |d| format!("sha256:{d}"))),
        field("STATE", group.state.as_str().to_owned()),
        field(
            "SEEN",
            format!(
                "{} times, first {}, last {}",
                group.count,
                table::time_ms(group.first_ms),
                table::time_ms(group.last_ms)
            ),
        ),
        field("ACTION", format!("{} on {} ({})", list(&group.actions), list(&group.hooks), list(&group.reasons))),
        field("PROCESSES", list(&group.comms)),
        field("PIDS", format!("{} (uids {})", list(&group.pids), list(&group.uids))),
        field(if group.containers.is_empty() { "CGROUPS" } else { "CONTAINERS" }, where_),
        field("VOUCHED BY", vouchers),
        field("ALSO AT", list(&context.seen_at)),
    ];
    if !group.executables.is_empty() {
        lines.push(field("EXECUTABLES", list(&group.executables)));
    }
    if !group.commands.is_empty() {
        lines.push(field("CLAIMED", format!("{} (command lines, as the processes set them)", list(&group.commands))));
    }
    if !group.parents.is_empty() {
        lines.push(field("PARENTS", list(&group.parents)));
    }
    lines
}
