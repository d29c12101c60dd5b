//! Turning the paths given to `btdb record` into documents: files, directories and standard
//! input; one object, a JSON array, or JSON Lines. JSON Lines are read a line at a time and an
//! array an element at a time, so memory is bounded by the largest document, never the file.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::synth::GenSpec;

/// One input: a file, standard input (`-`), or documents generated on the fly (`btdb gen
/// --record`), which go through the same reader as a file would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Stdin,
    Generated(GenSpec),
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "<stdin>".to_owned(),
            Input::Generated(_) => "<gen>".to_owned(),
        }
    }

    /// The size in bytes, when known in advance (for progress).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Stdin | Input::Generated(_) => None,
        }
    }
}

/// The files behind the given paths: files as given, directories searched for `*.json` and
/// `*.jsonl` (sorted, so a batch is recorded in a repeatable order), `-` for standard input.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading `{}`", path.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            if found.is_empty() {
                bail!("`{}` holds no *.json or *.jsonl file", path.display());
            }
            found.sort();
            inputs.extend(found.into_iter().map(Input::File));
        } else {
            inputs.push(Input::File(path.clone()));
        }
    }
    Ok(inputs)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading `{}`", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading `{}`", dir.display()))?
            .path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if is_json_lines(&path) || path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
    Ok(())
}

fn is_json_lines(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "jsonl" || e == "ndjson")
}

/// Where a document came from, for every message about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    /// The line the document starts on, when known (JSON Lines, single objects).
    pub line: Option<u64>,
    /// The element's index, for a JSON array.
    pub index: Option<u64>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(index) = self.index {
            write!(f, "[{index}]")?;
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        Ok(())
    }
}

/// What reading yields: a document's text, or a part of the input that is no document.
#[derive(Debug)]
pub enum Item {
    Document { origin: Origin, text: Box<str> },
    Broken { origin: Origin, message: String },
}

/// Whether reading should go on after an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Reads one input and hands each item to `sink`; `progress` hears of every byte read.
pub fn read(
    input: &Input,
    max_document: usize,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(Item) -> Flow,
) -> Result<()> {
    let name: Arc<str> = input.name().into();
    let raw: Box<dyn Read> = match input {
        Input::File(path) => {
            Box::new(File::open(path).with_context(|| format!("opening `{name}`"))?)
        }
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::Generated(spec) => {
            // The generator writes JSON Lines into a pipe on a thread of its own; a reader that
            // stops early closes the pipe and the generator ends on the broken pipe.
            let (reader, writer) = io::pipe().context("creating a pipe for generated runs")?;
            let spec = spec.clone();
            std::thread::spawn(move || {
                let mut out = io::BufWriter::with_capacity(1 << 20, writer);
                let _ = crate::synth::write_jsonl(&spec, &mut out).and_then(|()| out.flush());
            });
            Box::new(reader)
        }
    };
    let mut reader = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: raw,
            progress,
        },
    );
    let first = first_byte(&mut reader).with_context(|| format!("reading `{name}`"))?;
    let origin = |line| Origin {
        file: name.clone(),
        line,
        index: None,
    };
    match first {
        None => Ok(()),
        Some(b'[') => read_array(reader, &name, sink),
        Some(b'{') => {
            let lines = match input {
                Input::File(path) if is_json_lines(path) => true,
                // A first line that is a whole object means JSON Lines; a pretty-printed object
                // starts with a line that is not.
                _ => first_line_is_a_value(&mut reader),
            };
            if lines {
                read_lines(reader, &name, max_document, sink)
            } else {
                read_whole(reader, &name, max_document, sink)
            }
        }
        Some(other) => {
            sink(Item::Broken {
                origin: origin(Some(1)),
                message: format!(
                    "expected a JSON object, an array of objects or JSON Lines, found `{}`",
                    char::from(other).escape_default()
                ),
            });
            Ok(())
        }
    }
}

/// Reports bytes as they are read.
struct Counting<'p, R> {
    inner: R,
    progress: &'p (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// The first byte that is not white space or a byte order mark; leaves it unread.
fn first_byte(reader: &mut impl BufRead) -> io::Result<Option<u8>> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let skip = if buf.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            buf.iter().take_while(|b| b.is_ascii_whitespace()).count()
        };
        if skip == 0 {
            return Ok(Some(buf[0]));
        }
        reader.consume(skip);
    }
}

fn first_line_is_a_value(reader: &mut impl BufRead) -> bool {
    let Ok(buf) = reader.fill_buf() else {
        return false;
    };
    match buf.iter().position(|b| *b == b'\n') {
        Some(end) => serde_json::from_slice::<serde::de::IgnoredAny>(&buf[..end]).is_ok(),
        // No line break in the first MiB: pretty-printed objects break lines early, so these
        // are long lines, which line mode reads within its bound.
        None => true,
    }
}

/// JSON Lines: one document per non-blank line. A line over the bound is skipped without being
/// held in memory, and reported.
fn read_lines(
    mut reader: impl BufRead,
    name: &Arc<str>,
    max_document: usize,
    sink: &mut dyn FnMut(Item) -> Flow,
) -> Result<()> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        number += 1;
        let (complete, too_long) = read_bounded_line(&mut reader, &mut line, max_document)
            .with_context(|| format!("reading `{name}` line {number}"))?;
        if !complete && line.is_empty() && !too_long {
            return Ok(());
        }
        let origin = Origin {
            file: name.clone(),
            line: Some(number),
            index: None,
        };
        let item = if too_long {
            Item::Broken {
                origin,
                message: format!(
                    "line is longer than {} (--max-document-size); skipped",
                    human_bytes(max_document)
                ),
            }
        } else {
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match std::str::from_utf8(text) {
                Ok(text) => Item::Document {
                    origin,
                    text: text.into(),
                },
                Err(e) => Item::Broken {
                    origin,
                    message: format!("not UTF-8 text: {e}"),
                },
            }
        };
        if sink(item) == Flow::Stop {
            return Ok(());
        }
        if !complete {
            return Ok(());
        }
    }
}

/// Reads up to and including the next newline into `line`, keeping at most `max` bytes.
/// Returns (a newline ended it, it was longer than `max`).
fn read_bounded_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<(bool, bool)> {
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((false, too_long));
        }
        let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
            Some(end) => (&buf[..end], true),
            None => (buf, false),
        };
        if !too_long && line.len() + chunk.len() <= max {
            // Grow by doubling, but never past the bound: memory stays within `max`.
            let needed = line.len() + chunk.len();
            if line.capacity() < needed {
                let want = (line.capacity() * 2).max(needed).min(max);
                line.reserve_exact(want - line.len());
            }
            line.extend_from_slice(chunk);
        } else if !too_long {
            too_long = true;
            *line = Vec::new();
        }
        let used = chunk.len() + usize::from(found);
        reader.consume(used);
        if found {
            return Ok((true, too_long));
        }
    }
}

/// A JSON array, streamed: each element is handed on as its own text before the next is read.
fn read_array(
    reader: impl Read,
    name: &Arc<str>,
    sink: &mut dyn FnMut(Item) -> Flow,
) -> Result<()> {
    struct Elements<'s> {
        name: Arc<str>,
        sink: &'s mut dyn FnMut(Item) -> Flow,
        stopped: &'s mut bool,
    }
    impl<'de> DeserializeSeed<'de> for Elements<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of run documents")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut index = 0;
            while let Some(element) = seq.next_element::<Box<RawValue>>()? {
                let origin = Origin {
                    file: self.name.clone(),
                    line: None,
                    index: Some(index),
                };
                let text: Box<str> = element.get().into();
                if (self.sink)(Item::Document { origin, text }) == Flow::Stop {
                    *self.stopped = true;
                    return Ok(());
                }
                index += 1;
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut stopped = false;
    let elements = Elements {
        name: name.clone(),
        sink: &mut *sink,
        stopped: &mut stopped,
    };
    let result = elements.deserialize(&mut de).and_then(|()| de.end());
    match result {
        // Stopping early leaves the rest of the array unread, which the parser calls an error.
        Err(_) if stopped => {}
        Err(e) => {
            sink(Item::Broken {
                origin: Origin {
                    file: name.clone(),
                    line: Some(e.line() as u64),
                    index: None,
                },
                message: format!("the array breaks off: {}", position_free(&e)),
            });
        }
        Ok(()) => {}
    }
    Ok(())
}

/// One or more whole JSON values in a file that is not JSON Lines (a pretty-printed object).
fn read_whole(
    mut reader: impl Read,
    name: &Arc<str>,
    max_document: usize,
    sink: &mut dyn FnMut(Item) -> Flow,
) -> Result<()> {
    let mut text = String::new();
    let limit = u64::try_from(max_document)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .by_ref()
        .take(limit)
        .read_to_string(&mut text)
        .with_context(|| format!("reading `{name}`"))?;
    if text.len() > max_document {
        sink(Item::Broken {
            origin: Origin {
                file: name.clone(),
                line: Some(1),
                index: None,
            },
            message: format!(
                "a document is larger than {} (--max-document-size); write one run per line (JSON Lines)",
                human_bytes(max_document)
            ),
        });
        return Ok(());
    }
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Box<RawValue>>();
    loop {
        let start = stream.byte_offset();
        let Some(next) = stream.next() else {
            return Ok(());
        };
        // The value starts after any white space at `start`.
        let skipped = text[start..].len() - text[start..].trim_start().len();
        let line = text[..start + skipped].matches('\n').count() as u64 + 1;
        let origin = Origin {
            file: name.clone(),
            line: Some(line),
            index: None,
        };
        match next {
            Ok(value) => {
                if sink(Item::Document {
                    origin,
                    text: value.get().into(),
                }) == Flow::Stop
                {
                    return Ok(());
                }
            }
            Err(e) => {
                sink(Item::Broken {
                    origin: Origin {
                        line: Some(e.line() as u64),
                        ..origin
                    },
                    message: position_free(&e),
                });
                return Ok(());
            }
        }
    }
}

/// serde_json's message without its " at line L column C", adding the column back.
fn position_free(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at]);
    format!("column {}: {message}", e.column())
}

pub fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}
