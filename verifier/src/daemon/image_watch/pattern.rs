//! Repository patterns of `[images] auto`: `registry.example/acme/*` (`*` within one path
//! segment, `**` across segments), matched against an image's `registry/repository`.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryPattern(String);

impl RepositoryPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty()
            || text.contains(['@', ' '])
            || text.rsplit('/').next().is_some_and(|last| last.contains(':'))
        {
            return Err(format!(
                "{text:?} is not a repository pattern (registry/repository, * and ** allowed, no tag)"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn matches(&self, repository: &str) -> bool {
        glob(self.0.as_bytes(), repository.as_bytes())
    }
}

fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern {
        [] => name.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=name.len()).any(|i| glob(rest, &name[i..])),
        [b'*', rest @ ..] => {
            let segment = name.iter().position(|&c| c == b'/').unwrap_or(name.len());
            (0..=segment).any(|i| glob(rest, &name[i..]))
        }
        [c, rest @ ..] => name.first() == Some(c) && glob(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::RepositoryPattern;

    #[test]
    fn star_stays_in_its_segment_and_double_star_does_not() {
        let acme = RepositoryPattern::parse("registry.example/acme/*").unwrap();
        assert!(acme.matches("registry.example/acme/app"));
        assert!(!acme.matches("registry.example/acme/team/app"));
        assert!(!acme.matches("registry.example/acmeevil/app"));
        assert!(!acme.matches("evil.example/registry.example/acme/app"));
        let deep = RepositoryPattern::parse("registry.example/acme/**").unwrap();
        assert!(deep.matches("registry.example/acme/team/app"));
        assert!(!deep.matches("registry.example/other/app"));
        let exact = RepositoryPattern::parse("127.0.0.1:5000/acme/app").unwrap();
        assert!(exact.matches("127.0.0.1:5000/acme/app") && !exact.matches("127.0.0.1:5000/acme/app2"));
        for bad in ["", "registry.example/acme/app:v1", "registry.example/acme/app@sha256:00", "a b"] {
            assert!(RepositoryPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
