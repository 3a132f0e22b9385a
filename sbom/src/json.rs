//! Streaming JSON plumbing shared by the three JSON formats: the JSON path of the element being
//! read, errors raised inside serde visitors, and bounded reading of whole documents.
use std::{
    fmt,
    io::{BufReader, Read},
    marker::PhantomData,
};

use serde::de::{self, Deserialize, DeserializeSeed, SeqAccess, Visitor};
use serde_json::error::Category;

use crate::{
    collector::Entry,
    error::{Location, SbomError},
    limits::{BoundedReader, LimitExceeded, Limits, Syntax},
    summary::Format,
};

const BUFFER: usize = 256 * 1024;
/// The text of the serde error that stands for an error kept in `Trail::failure`.
const STASHED: &str = "see the error kept by the visitor";

#[derive(Debug)]
enum Segment {
    Key(&'static str),
    Index(u64),
}

/// Where the visitors are: a JSON path, and the error a visitor raised, which serde would
/// otherwise flatten into a string.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    path: Vec<Segment>,
    failure: Option<SbomError>,
}

impl Trail {
    pub fn enter_key(&mut self, key: &'static str) {
        self.path.push(Segment::Key(key));
    }

    pub fn enter_index(&mut self, index: u64) {
        self.path.push(Segment::Index(index));
    }

    pub fn leave(&mut self) {
        self.path.pop();
    }

    /// The path with extra segments appended (for errors inside an element read whole).
    pub fn path_with(&self, tail: &str) -> String {
        format!("{self}{tail}")
    }

    pub fn location(&self, tail: &str) -> Location {
        Location::path(self.path_with(tail))
    }

    /// Keeps `error` and returns the serde error that aborts deserialization.
    pub fn fail<E: de::Error>(&mut self, error: SbomError) -> E {
        self.failure = Some(error);
        E::custom(STASHED)
    }
}

impl fmt::Display for Trail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in &self.path {
            match segment {
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// Reads one whole JSON document from `input` through `seed`, with the limits enforced on the
/// bytes. `input` is borrowed so a second pass can rewind it.
pub(crate) fn read_document<'de, R: Read, S: DeserializeSeed<'de>>(
    input: &mut R,
    limits: &Limits,
    seed: S,
) -> Result<S::Value, serde_json::Error> {
    let reader = BufReader::with_capacity(BUFFER, BoundedReader::new(input, Syntax::Json, limits));
    let mut de = serde_json::Deserializer::from_reader(reader);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Turns a serde_json error into one naming the place: the visitor's own error if it raised
/// one, else serde's message with the JSON path of the element being read.
pub(crate) fn convert_error(error: serde_json::Error, format: Format, trail: &mut Trail) -> SbomError {
    let (line, column) = if error.line() > 0 {
        (Some(error.line() as u64), Some(error.column().try_into().unwrap_or(u32::MAX)))
    } else {
        (None, None)
    };
    if let Some(mut kept) = trail.failure.take() {
        if let Some(location) = kept.location_mut().filter(|l| l.line.is_none()) {
            location.line = line;
            location.column = column;
        }
        return kept;
    }
    let mut location = Location { path: Some(trail.to_string()), line, column, byte: None };
    let message = {
        let text = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        text.strip_suffix(&suffix).map(str::to_owned).unwrap_or(text)
    };
    match error.classify() {
        Category::Io => {
            let io = std::io::Error::from(error);
            match LimitExceeded::from_io(&io) {
                Some(limit) => {
                    location.byte = Some(limit.byte);
                    SbomError::Limit { location, what: limit.what, limit: limit.limit }
                }
                None => SbomError::Read(io),
            }
        }
        Category::Eof => SbomError::Truncated { location, message },
        Category::Syntax | Category::Data => SbomError::Syntax { format, location, message },
    }
}

/// A list that refuses more than `N` entries, so one element cannot hold unbounded memory.
#[derive(Debug)]
pub(crate) struct BoundedVec<T, const N: usize>(pub Vec<T>);

impl<T, const N: usize> Default for BoundedVec<T, N> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for BoundedVec<T, N> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bounded<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Bounded<T, N> {
            type Value = BoundedVec<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {N} entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == N {
                        return Err(de::Error::custom(format_args!("more than {N} entries")));
                    }
                    items.push(item);
                }
                Ok(BoundedVec(items))
            }
        }
        deserializer.deserialize_seq(Bounded::<T, N>(PhantomData))
    }
}

/// Rejects a second occurrence of a key: parsers disagree on which copy wins, and a verifier
/// must not read a different document than the tool that produced or reviewed it.
#[derive(Default)]
pub(crate) struct SeenKeys(u64);

impl SeenKeys {
    /// Returns false if `slot` was seen before.
    pub fn first_time(&mut self, slot: u32) -> bool {
        let bit = 1u64 << slot;
        let first = self.0 & bit == 0;
        self.0 |= bit;
        first
    }

    /// For keys inside an element: serde's error carries the element's path.
    pub fn once<E: de::Error>(&mut self, slot: u32) -> Result<(), E> {
        if self.first_time(slot) { Ok(()) } else { Err(E::custom("a key appears twice in one object")) }
    }

    /// For top-level keys: enters `name` in the trail and refuses it if seen before.
    pub fn enter<E: de::Error>(&mut self, trail: &mut Trail, name: &'static str, slot: u32) -> Result<(), E> {
        trail.enter_key(name);
        if self.first_time(slot) {
            return Ok(());
        }
        let error = SbomError::invalid(trail.location(""), "the key appears twice");
        Err(trail.fail(error))
    }
}

/// Refuses a version this reader does not know, at the current place.
pub(crate) fn unsupported<E: de::Error>(
    trail: &mut Trail,
    format: Format,
    version: String,
    supported: &'static str,
) -> E {
    let location = trail.location("");
    trail.fail(SbomError::UnsupportedVersion { format, version, supported, location })
}

/// Implements `DeserializeSeed` for a seed that is its own visitor of a map, a sequence or any
/// value.
macro_rules! seed {
    ($kind:ident, $seed:ident<$($l:lifetime),*>, $value:ty) => {
        impl<'de> serde::de::DeserializeSeed<'de> for $seed<$($l),*> {
            type Value = $value;
            fn deserialize<D: serde::de::Deserializer<'de>>(self, d: D) -> Result<$value, D::Error> {
                seed!(@call $kind, d, self)
            }
        }
    };
    (@call map, $d:ident, $s:ident) => { $d.deserialize_map($s) };
    (@call seq, $d:ident, $s:ident) => { $d.deserialize_seq($s) };
    (@call any, $d:ident, $s:ident) => { $d.deserialize_any($s) };
}
pub(crate) use seed;

/// A visitor over a parser's `State`: the struct holding it, its seed and the `Visitor` impl,
/// given the visit methods. `'de` is named by the caller, for the methods to use.
macro_rules! state_visitor {
    ($kind:ident $name:ident<$de:lifetime> -> $value:ty, $expecting:literal; $($methods:tt)*) => {
        struct $name<'x, 'a, 's>(&'x mut State<'a, 's>);
        seed!($kind, $name<'_, '_, '_>, $value);

        impl<$de> Visitor<$de> for $name<'_, '_, '_> {
            type Value = $value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($expecting)
            }

            $($methods)*
        }
    };
}
pub(crate) use state_visitor;

/// Visitor state that knows where it is.
pub(crate) trait HasTrail {
    fn trail(&mut self) -> &mut Trail;
}

/// Visits a JSON array element by element, keeping the index in the trail. `each` returns
/// whether there was an element.
pub(crate) fn for_each_element<'de, A, S, F>(seq: &mut A, state: &mut S, mut each: F) -> Result<(), A::Error>
where
    A: SeqAccess<'de>,
    S: HasTrail,
    F: FnMut(&mut A, &mut S) -> Result<bool, A::Error>,
{
    let mut index = 0u64;
    loop {
        state.trail().enter_index(index);
        let more = each(seq, state)?;
        state.trail().leave();
        if !more {
            return Ok(());
        }
        index += 1;
    }
}

/// The value of a key the reader does not need: skipped without being kept.
pub(crate) fn skip_value<'de, A: de::MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<de::IgnoredAny>().map(drop)
}

/// Checks an element's digests, naming `.{key}[j]` under the element on error.
pub(crate) fn add_digests<'v>(
    entry: &mut Entry,
    digests: impl Iterator<Item = (usize, &'v str, &'v str)>,
    trail: &Trail,
    key: &str,
) -> Result<(), SbomError> {
    for (j, label, value) in digests {
        entry.add_digest(label, value).map_err(|digest| SbomError::Digest {
            location: trail.location(&format!(".{key}[{j}]")),
            digest: Box::new(digest),
        })?;
    }
    Ok(())
}
