//! Matching one certificate field: exactly, or by a regular expression that must match the whole
//! value. A pattern that is not anchored at both ends would accept any value merely containing
//! a match (`acme/app` matches `evil/acme/app-fork`), so it is refused when the policy is read.
use regex::Regex;
use regex_syntax::hir::{Hir, HirKind, Look};

#[derive(Debug, Clone)]
pub enum ValueMatcher {
    Exact(String),
    Regex(Regex),
}

impl ValueMatcher {
    /// Compiles `pattern`, refusing one that could match part of a value.
    pub fn regex(pattern: &str) -> Result<Self, String> {
        let hir = regex_syntax::parse(pattern).map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))?;
        if !is_anchored(&hir) {
            return Err(format!(
                "regular expression {pattern:?} is not anchored: write ^...$ so that it must match the whole value \
                 (an unanchored pattern also matches values that merely contain a match)"
            ));
        }
        Regex::new(pattern).map(Self::Regex).map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            ValueMatcher::Exact(expected) => expected == value,
            ValueMatcher::Regex(regex) => regex.is_match(value),
        }
    }
}

impl std::fmt::Display for ValueMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueMatcher::Exact(value) => write!(f, "{value:?}"),
            ValueMatcher::Regex(regex) => write!(f, "a match of /{}/", regex.as_str()),
        }
    }
}

/// Whether every match must span the whole text: it must begin with `^` (or `\A`) and end with
/// `$` (or `\z`) on every path through the pattern. `(?m)^` and `(?m)$` match at line
/// boundaries, so they do not count.
fn is_anchored(hir: &Hir) -> bool {
    at_edge(hir, Edge::Start) && at_edge(hir, Edge::End)
}

#[derive(Clone, Copy)]
enum Edge {
    Start,
    End,
}

fn at_edge(hir: &Hir, edge: Edge) -> bool {
    match (hir.kind(), edge) {
        (HirKind::Look(Look::Start), Edge::Start) | (HirKind::Look(Look::End), Edge::End) => true,
        (HirKind::Concat(parts), Edge::Start) => parts.first().is_some_and(|first| at_edge(first, edge)),
        (HirKind::Concat(parts), Edge::End) => parts.last().is_some_and(|last| at_edge(last, edge)),
        (HirKind::Alternation(branches), _) => branches.iter().all(|branch| at_edge(branch, edge)),
        (HirKind::Capture(capture), _) => at_edge(&capture.sub, edge),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_patterns_are_accepted() {
        for pattern in [
            r"^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v[0-9.]+$",
            r"^(a|b)$",
            r"^a$|^b$",
            r"\Aexact\z",
            r"(?i)^Case$",
        ] {
            assert!(ValueMatcher::regex(pattern).is_ok(), "{pattern}");
        }
    }

    #[test]
    fn unanchored_patterns_are_refused() {
        for pattern in ["acme/app", "^acme/app", "acme/app$", r"^a|b$", r"^a$|b", r"(?m)^a$", r"^a\$", "", "^"] {
            let err = ValueMatcher::regex(pattern).unwrap_err();
            assert!(err.contains("is not anchored"), "{pattern}: {err}");
        }
    }

    #[test]
    fn a_regex_matches_the_whole_value_only() {
        let m = ValueMatcher::regex(r"^https://github\.com/acme/[a-z]+$").unwrap();
        assert!(m.matches("https://github.com/acme/app"));
        assert!(!m.matches("https://github.com/acme/app/../evil"));
        assert!(!m.matches("xhttps://github.com/acme/app"));
        assert!(!m.matches("https://github.com/acme/app\n"));
    }

    #[test]
    fn invalid_patterns_say_so() {
        assert!(ValueMatcher::regex("^(a$").unwrap_err().contains("invalid regular expression"));
    }
}
