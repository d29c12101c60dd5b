//! Turning the paths given to `btdb record` into documents: files, directories and standard
//! input; one object, a JSON array, or JSON Lines. JSON Lines are read a line at a time and an
//! array an element at a time, so memory is bounded by the largest document, never the file.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::value::RawValue;

/// One input: a file, standard input (`-`), documents generated on the fly (`btdb gen
/// --record`), or JSON Lines made in memory from another tool's file (`btdb import`, named
/// after that file); all go through the same reader as a file would.
#[derive(Debug, Clone)]
pub enum Input {
    File(PathBuf),
    Stdin,
    Generated(Generator),
    Converted {
        name: Arc<str>,
        lines: Arc<[u8]>,
        /// What each line's document is in the other tool's terms (`study.db (optuna:s:63)`),
        /// which its errors name instead of a line of JSON the user never saw.
        labels: Arc<[Arc<str>]>,
    },
}

/// Writes JSON Lines into the pipe it is given, on a thread of its own; it should end when a
/// write fails (the reader stopped early and closed the pipe).
#[derive(Clone)]
pub struct Generator(pub Arc<GenerateFn>);

/// What a [`Generator`] runs.
pub type GenerateFn = dyn Fn(&mut dyn Write) -> io::Result<()> + Send + Sync;

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Generator")
    }
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "<stdin>".to_owned(),
            Input::Generated(_) => "<gen>".to_owned(),
            Input::Converted { name, .. } => name.to_string(),
        }
    }

    /// The size in bytes, when known in advance (for progress).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Converted { lines, .. } => Some(lines.len() as u64),
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

/// Refuses a store that is not a regular file (the caller names the path): a store is read
/// more than once and at will (a zip's directory at its end, SQLite's pages anywhere), and
/// opening a FIFO would wait for a writer that may never come. `record` reads documents from
/// FIFOs as streams; importers don't.
pub fn regular_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(path)?.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    };
    bail!("{what}, where a store is read from a regular file (save the stream to one first)")
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

impl Item {
    /// The bytes it holds, for bounding a group of documents.
    pub fn size(&self) -> usize {
        match self {
            Item::Document { text, .. } => text.len(),
            Item::Broken { message, .. } => message.len(),
        }
    }
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
    // A converted document's errors name it as the other tool does, not by its line.
    let mut relabelled;
    let sink: &mut dyn FnMut(Item) -> Flow = match input {
        Input::Converted { labels, .. } if !labels.is_empty() => {
            let labels = labels.clone();
            relabelled = move |item: Item| {
                sink(match item {
                    Item::Document { origin, text } => Item::Document {
                        origin: relabel(origin, &labels),
                        text,
                    },
                    Item::Broken { origin, message } => Item::Broken {
                        origin: relabel(origin, &labels),
                        message,
                    },
                })
            };
            &mut relabelled
        }
        _ => sink,
    };
    let name: Arc<str> = input.name().into();
    let raw: Box<dyn Read> = match input {
        Input::File(path) => {
            Box::new(File::open(path).with_context(|| format!("opening `{name}`"))?)
        }
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::Generated(generator) => {
            // A reader that stops early closes the pipe and the generator ends on the broken
            // pipe.
            let (reader, writer) = io::pipe().context("creating a pipe for generated runs")?;
            let generate = generator.0.clone();
            std::thread::spawn(move || {
                let mut out = io::BufWriter::with_capacity(1 << 20, writer);
                let _ = generate(&mut out).and_then(|()| out.flush());
            });
            Box::new(reader)
        }
        Input::Converted { lines, .. } => Box::new(io::Cursor::new(lines.clone())),
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
        Some(b'[') => read_array(reader, &name, max_document, sink),
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

/// `origin` named by the label of its line, where there is one.
fn relabel(origin: Origin, labels: &[Arc<str>]) -> Origin {
    let label = origin
        .line
        .and_then(|line| labels.get(usize::try_from(line).ok()?.checked_sub(1)?));
    match label {
        Some(label) => Origin {
            file: label.clone(),
            line: None,
            index: None,
        },
        None => origin,
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
    let mut number = 0u64;
    loop {
        number += 1;
        let (line, complete) = read_bounded_line(&mut reader, max_document)
            .with_context(|| format!("reading `{name}` line {number}"))?;
        if !complete && line.as_ref().is_some_and(Vec::is_empty) {
            return Ok(());
        }
        let origin = Origin {
            file: name.clone(),
            line: Some(number),
            index: None,
        };
        let item = match line {
            None => Item::Broken {
                origin,
                message: format!(
                    "line is longer than {} (--max-document-size); skipped",
                    human_bytes(max_document)
                ),
            },
            Some(line) => {
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
            }
        };
        if sink(item) == Flow::Stop || !complete {
            return Ok(());
        }
    }
}

/// Reads up to and including the next newline, keeping at most `max` bytes. Returns the line
/// (`None` when it was longer than `max`) and whether a newline ended it.
fn read_bounded_line(reader: &mut impl BufRead, max: usize) -> io::Result<(Option<Vec<u8>>, bool)> {
    let mut line = Bounded::new(max);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((line.into_inner(), false));
        }
        let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
            Some(end) => (&buf[..end], true),
            None => (buf, false),
        };
        line.extend(chunk);
        let used = chunk.len() + usize::from(found);
        reader.consume(used);
        if found {
            return Ok((line.into_inner(), true));
        }
    }
}

/// A JSON array, streamed: each element's text is cut out of the input by a scanner that only
/// follows strings and brackets, and handed on before the next is read. An element over the
/// bound is skipped as it is read, never held, and reported by its index; one whose text is no
/// JSON value fails alone when it is parsed. Only an array that breaks off (the input ends, or
/// something other than `,` or `]` follows an element) stops the file.
fn read_array(
    mut reader: impl BufRead,
    name: &Arc<str>,
    max_document: usize,
    sink: &mut dyn FnMut(Item) -> Flow,
) -> Result<()> {
    let mut scanner = ArrayScanner::default();
    let broken = |line: u64, message: String| Item::Broken {
        origin: Origin {
            file: name.clone(),
            line: Some(line),
            index: None,
        },
        message: format!("the array breaks off: {message}"),
    };
    // The opening bracket, which `first_byte` left unread.
    reader.consume(1);
    let mut index = 0u64;
    loop {
        let context = || format!("reading `{name}` element {index}");
        match scanner
            .next_element(&mut reader, max_document)
            .with_context(context)?
        {
            Scanned::End => return Ok(()),
            Scanned::Broken(message) => {
                sink(broken(scanner.line, message));
                return Ok(());
            }
            Scanned::Element(element) => {
                let origin = Origin {
                    file: name.clone(),
                    line: None,
                    index: Some(index),
                };
                let item = match element {
                    None => Item::Broken {
                        origin,
                        message: format!(
                            "element is larger than {} (--max-document-size); skipped",
                            human_bytes(max_document)
                        ),
                    },
                    Some(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => Item::Document {
                            origin,
                            text: text.into_boxed_str(),
                        },
                        Err(e) => Item::Broken {
                            origin,
                            message: format!("not UTF-8 text: {}", e.utf8_error()),
                        },
                    },
                };
                if sink(item) == Flow::Stop {
                    return Ok(());
                }
                index += 1;
            }
        }
    }
}

/// What the array scanner found next.
enum Scanned {
    /// An element's bytes; `None` when it was longer than the bound and skipped.
    Element(Option<Vec<u8>>),
    /// The closing bracket, followed by nothing but white space.
    End,
    Broken(String),
}

/// Where the scanner is in the array between elements.
#[derive(Debug)]
struct ArrayScanner {
    /// The line of the input being read, for messages about the array's structure.
    line: u64,
    /// Elements read so far.
    elements: u64,
}

impl Default for ArrayScanner {
    fn default() -> Self {
        Self {
            line: 1,
            elements: 0,
        }
    }
}

impl ArrayScanner {
    /// The separator before the next element, then the element: each is handed on as soon as
    /// it is complete, which keeps standard input streaming.
    fn next_element(&mut self, reader: &mut impl BufRead, max: usize) -> io::Result<Scanned> {
        let ends = "the input ends before the closing `]`";
        match self.skip_space(reader)? {
            None => return Ok(Scanned::Broken(ends.into())),
            Some(b']') => {
                reader.consume(1);
                return self.after_end(reader);
            }
            Some(b',') if self.elements > 0 => reader.consume(1),
            Some(_) if self.elements == 0 => {}
            Some(other) => {
                return Ok(Scanned::Broken(format!(
                    "expected `,` or `]` after element {}, found `{}` on line {}",
                    self.elements - 1,
                    char::from(other).escape_default(),
                    self.line
                )));
            }
        }
        match self.skip_space(reader)? {
            None => return Ok(Scanned::Broken(ends.into())),
            Some(b @ (b',' | b']')) => {
                return Ok(Scanned::Broken(format!(
                    "expected element {}, found `{}` on line {}",
                    self.elements,
                    char::from(b),
                    self.line
                )));
            }
            Some(_) => {}
        }
        let mut element = Bounded::new(max);
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(Scanned::Broken(format!(
                    "the input ends inside element {}",
                    self.elements
                )));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        // The bracket that closes the element belongs to it.
                        b'}' | b']' if depth == 1 => {
                            end = Some(i + 1);
                            break;
                        }
                        b'}' | b']' if depth > 1 => depth -= 1,
                        // A scalar ends where a separator, a bracket or white space begins.
                        b',' | b']' | b'}' if depth == 0 => {
                            end = Some(i);
                            break;
                        }
                        b if depth == 0 && b.is_ascii_whitespace() => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                if b == b'\n' {
                    self.line += 1;
                }
            }
            let used = end.unwrap_or(buf.len());
            element.extend(&buf[..used]);
            reader.consume(used);
            if end.is_some() {
                self.elements += 1;
                return Ok(Scanned::Element(element.into_inner()));
            }
        }
    }

    /// After the closing bracket: white space only.
    fn after_end(&mut self, reader: &mut impl BufRead) -> io::Result<Scanned> {
        Ok(match self.skip_space(reader)? {
            None => Scanned::End,
            Some(b) => Scanned::Broken(format!(
                "`{}` after the closing `]` on line {}",
                char::from(b).escape_default(),
                self.line
            )),
        })
    }

    /// Skips white space; the next byte, left unread, or `None` at the end of the input.
    fn skip_space(&mut self, reader: &mut impl BufRead) -> io::Result<Option<u8>> {
        loop {
            let buf = reader.fill_buf()?;
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            let space = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            self.line += buf[..space].iter().filter(|b| **b == b'\n').count() as u64;
            reader.consume(space);
            if space == 0 {
                return Ok(Some(first));
            }
        }
    }
}

/// Bytes kept up to a bound: past it they are dropped, and so is what was kept, so that
/// memory never exceeds the bound whatever the input.
#[derive(Debug)]
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
    over: bool,
}

impl Bounded {
    fn new(max: usize) -> Self {
        Self {
            bytes: Vec::new(),
            max,
            over: false,
        }
    }

    fn extend(&mut self, chunk: &[u8]) {
        if self.over {
            return;
        }
        let needed = self.bytes.len() + chunk.len();
        if needed > self.max {
            self.over = true;
            self.bytes = Vec::new();
            return;
        }
        // Grow by doubling up to a MiB, then to the bound at once: a large block's pages are
        // only resident once written, and growing it again would hold the old copy beside
        // the new (the allocator moves large blocks rather than remapping them).
        if self.bytes.capacity() < needed {
            let doubled = (self.bytes.capacity() * 2).max(needed);
            let want = match doubled > 1 << 20 {
                true => self.max,
                false => doubled.min(self.max),
            };
            self.bytes.reserve_exact(want - self.bytes.len());
        }
        self.bytes.extend_from_slice(chunk);
    }

    /// What was kept; `None` when the input went past the bound.
    fn into_inner(self) -> Option<Vec<u8>> {
        (!self.over).then_some(self.bytes)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The items `read` makes of `text` as an array file, as (origin, document or message).
    fn items(text: &str, max: usize) -> Vec<(String, String)> {
        let mut reader = BufReader::with_capacity(7, text.as_bytes());
        let mut out = Vec::new();
        assert_eq!(first_byte(&mut reader).expect("read"), Some(b'['));
        read_array(reader, &Arc::from("f.json"), max, &mut |item| {
            out.push(match item {
                Item::Document { origin, text } => (origin.to_string(), text.into()),
                Item::Broken { origin, message } => (origin.to_string(), format!("! {message}")),
            });
            Flow::Continue
        })
        .expect("read");
        out
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn array_elements_are_cut_out_whole_through_strings_and_nesting() {
        // A buffer of 7 bytes makes every element span several reads.
        let text =
            "[ {\"a\": \"x],}\\\"{\", \"b\": [1, {\"c\": 2}]} ,\n 7,\"s, t\" ,[[]], {}\n]\n ";
        assert_eq!(
            items(text, 1 << 20),
            pairs(&[
                ("f.json[0]", r#"{"a": "x],}\"{", "b": [1, {"c": 2}]}"#),
                ("f.json[1]", "7"),
                ("f.json[2]", r#""s, t""#),
                ("f.json[3]", "[[]]"),
                ("f.json[4]", "{}"),
            ])
        );
        assert!(items("[]", 10).is_empty());
        assert!(items("[ \n ]", 10).is_empty());
    }

    #[test]
    fn an_element_over_the_bound_is_skipped_and_the_rest_read() {
        let big = format!("{{\"tags\": [\"{}\"]}}", "x".repeat(100));
        let text = format!("[{{\"a\": 1}}, {big}, {{\"b\": 2}}]");
        assert_eq!(
            items(&text, 50),
            pairs(&[
                ("f.json[0]", r#"{"a": 1}"#),
                (
                    "f.json[1]",
                    "! element is larger than 50 bytes (--max-document-size); skipped"
                ),
                ("f.json[2]", r#"{"b": 2}"#),
            ])
        );
    }

    #[test]
    fn a_broken_array_stops_with_the_line_where_it_broke() {
        let cases = [
            (
                "[{\"a\": 1}\n{\"b\": 2}]",
                "f.json:2",
                "expected `,` or `]` after element 0, found `{` on line 2",
            ),
            (
                "[{\"a\": 1},\n]",
                "f.json:2",
                "expected element 1, found `]` on line 2",
            ),
            (
                "[,{\"a\": 1}]",
                "f.json:1",
                "expected element 0, found `,` on line 1",
            ),
            (
                "[{\"a\": \n1",
                "f.json:2",
                "the input ends inside element 0",
            ),
            (
                "[{\"a\": 1},",
                "f.json:1",
                "the input ends before the closing `]`",
            ),
            (
                "[{}]\n\nx",
                "f.json:3",
                "`x` after the closing `]` on line 3",
            ),
        ];
        for (text, origin, message) in cases {
            let got = items(text, 1 << 20);
            let last = got.last().expect("an item");
            assert_eq!(last.0, origin, "{text:?}: {got:?}");
            assert_eq!(
                last.1,
                format!("! the array breaks off: {message}"),
                "{text:?}"
            );
        }
    }
}
