//! A table of text cells, printed aligned for people or as CSV for programs.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr as _;

/// Rows of cells under a header; numeric columns are right-aligned. A cell of `-` is a value
/// that is not there: printed as `-`, and empty in CSV.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
    footer: Vec<String>,
}

/// One cell: text as it is, or a number that people read rounded and programs read exact.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// Six significant digits in the aligned text ([`super::number`]), every digit in CSV
    /// ([`super::exact`]): a machine format is never rounded.
    Number(f64),
    /// A whole number: a rank, a count, a run id (int64 in Arrow).
    Int(i64),
}

impl Cell {
    /// A number, or `-` for one that is not there.
    pub fn maybe(value: Option<f64>) -> Self {
        value.map_or_else(|| Cell::Text("-".to_owned()), Cell::Number)
    }

    /// Whether the cell is a value that is not there (`-`).
    pub fn is_missing(&self) -> bool {
        matches!(self, Cell::Text(text) if text == "-")
    }

    fn text(&self) -> String {
        match self {
            Cell::Text(text) => printable(text),
            Cell::Number(value) => super::number(*value),
            Cell::Int(n) => n.to_string(),
        }
    }

    pub(crate) fn csv(&self) -> String {
        match self {
            Cell::Text(text) => csv_cell(text).into_owned(),
            Cell::Number(value) => super::exact(*value),
            Cell::Int(n) => n.to_string(),
        }
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<f64> for Cell {
    fn from(value: f64) -> Self {
        Cell::Number(value)
    }
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn push<C: Into<Cell>>(&mut self, row: Vec<C>) {
        self.rows.push(row.into_iter().map(Into::into).collect());
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    pub fn rows(&self) -> &[Vec<Cell>] {
        &self.rows
    }

    /// A line printed under the table (not in CSV), e.g. the cursor of the next page.
    pub fn note(&mut self, line: impl Into<String>) {
        self.footer.push(line.into());
    }

    /// Columns padded to their widest cell, in terminal columns (a CJK character takes two);
    /// control characters shown escaped so that a stored name cannot move the cursor or change
    /// the terminal.
    pub fn to_text(&self) -> String {
        let header: Vec<String> = self.header.iter().map(|c| printable(c)).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(Cell::text).collect())
            .collect();
        let columns = header.len();
        let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
        let mut numeric = vec![true; columns];
        for row in &rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.width());
                numeric[i] &= cell == "-" || cell.parse::<f64>().is_ok();
            }
        }
        let mut out = String::new();
        // Numeric columns, their headers too, are right-aligned: a pivot's value headers sit
        // over their values.
        let line = |out: &mut String, cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate().take(columns) {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = widths[i] - cell.width();
                if numeric[i] {
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&mut out, &header);
        for row in &rows {
            line(&mut out, row);
        }
        if rows.is_empty() {
            let _ = writeln!(out, "(none)");
        }
        for note in &self.footer {
            let _ = writeln!(out, "{}", printable(note));
        }
        out
    }

    /// RFC 4180 CSV: a header line, then one line per row. A cell that a spreadsheet would
    /// take for a formula (text starting with `=`, `+`, `-`, `@`, a tab or a carriage return:
    /// a strategy name is anyone's text) is written after a `'`, which shows it as text; numbers
    /// stay as they are.
    pub fn to_csv(&self) -> String {
        let header: Vec<String> = self
            .header
            .iter()
            .map(|c| csv_cell(c).into_owned())
            .collect();
        let rows = self
            .rows
            .iter()
            .map(|row| row.iter().map(Cell::csv).collect::<Vec<_>>());
        String::from_utf8(write_csv(std::iter::once(header).chain(rows))).unwrap_or_default()
    }
}

/// RFC 4180 lines of cells already written as CSV cells.
pub(crate) fn write_csv(rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        // Writing to memory fails only on rows of unequal length, which callers never give.
        let _ = writer.write_record(row);
    }
    writer.into_inner().unwrap_or_default()
}

/// A table's text cell in CSV: `-` (no value) is empty.
fn csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell == "-" {
        return "".into();
    }
    csv_text(cell)
}

/// Text in CSV, kept from being read as a spreadsheet formula.
pub(crate) fn csv_text(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && cell.parse::<f64>().is_err() {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Control characters, and the format characters that reorder text on a terminal.
pub(crate) fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with control and text-direction characters written as escapes.
pub fn printable(text: &str) -> String {
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_printable(&mut out, c);
    }
    out
}

/// `c` onto `out`, written as its escape (`\u{202e}`) where it is a control or
/// text-direction character.
pub(crate) fn push_printable(out: &mut String, c: char) {
    use std::fmt::Write as _;
    if unsafe_char(c) {
        let _ = write!(out, "{}", c.escape_default());
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["name", "value"]);
        t.push(vec!["a,b", "1.5"]);
        t.push(vec!["say \"hi\"\x1b[2J", "-"]);
        t.push(vec!["c", "10"]);
        t
    }

    #[test]
    fn text_aligns_numbers_right_and_escapes_control_characters() {
        let text = sample().to_text();
        let lines: Vec<&str> = text.lines().collect();
        // The widest first cell is the escaped one, 17 characters.
        let pad = |n: usize| " ".repeat(n);
        assert_eq!(lines[0], format!("name{}value", pad(13 + 2)));
        // A numeric column's header is right-aligned over it.
        let mut pivot = Table::new(["y \\ x", "5", "10"]);
        pivot.push(vec!["50", "-0.038", "0.0879"]);
        assert_eq!(
            pivot.to_text().lines().next(),
            Some("y \\ x       5      10")
        );
        assert_eq!(lines[1], format!("a,b{}1.5", pad(14 + 2 + 2)));
        assert_eq!(lines[2], format!("say \"hi\"\\u{{1b}}[2J{}-", pad(2 + 4)));
        assert_eq!(lines[3], format!("c{}10", pad(16 + 2 + 3)));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            sample().to_csv(),
            "name,value\r\n\"a,b\",1.5\r\n\"say \"\"hi\"\"\x1b[2J\",\r\nc,10\r\n"
        );
    }

    #[test]
    fn csv_shows_formulas_as_text_and_keeps_negative_numbers() {
        let mut t = Table::new(["strategy", "sharpe"]);
        for name in [
            "=HYPERLINK(\"x\")",
            "+1+2",
            "-cmd",
            "@SUM(A1)",
            "\tx",
            "plain",
        ] {
            t.push(vec![name, "-0.5"]);
        }
        let csv = t.to_csv();
        let cells: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.rsplit_once(',').expect("2 cells").0)
            .collect();
        assert_eq!(
            cells,
            [
                "\"'=HYPERLINK(\"\"x\"\")\"",
                "'+1+2",
                "'-cmd",
                "'@SUM(A1)",
                "'\tx",
                "plain"
            ]
        );
        assert!(csv.lines().skip(1).all(|l| l.ends_with(",-0.5")), "{csv}");
    }

    #[test]
    fn numbers_are_rounded_for_people_and_exact_in_csv() {
        let mut t = Table::new(["metric"]);
        for value in [Some(1.161399), Some(11099.605836499999), Some(-0.0), None] {
            t.push(vec![Cell::maybe(value)]);
        }
        let text = t.to_text();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [" metric", " 1.1614", "11099.6", "     -0", "      -"]
        );
        assert_eq!(
            t.to_csv(),
            "metric\r\n1.161399\r\n11099.605836499999\r\n-0\r\n\"\"\r\n"
        );
    }

    #[test]
    fn wide_characters_take_two_columns() {
        let mut t = Table::new(["name", "n"]);
        t.push(vec!["日本", "1"]);
        t.push(vec!["abcd", "2"]);
        let text = t.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "日本  1");
        assert_eq!(lines[2], "abcd  2");
    }
}
