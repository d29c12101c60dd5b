//! A table of text cells, printed aligned for people or as CSV for programs.

use std::fmt::Write as _;

/// Rows of cells under a header; numeric columns are right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    footer: Vec<String>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// A line printed under the table (not in CSV), e.g. the cursor of the next page.
    pub fn note(&mut self, line: impl Into<String>) {
        self.footer.push(line.into());
    }

    /// Columns padded to their widest cell; control characters shown escaped so that a stored
    /// name cannot move the cursor or change the terminal.
    pub fn to_text(&self) -> String {
        let header: Vec<String> = self.header.iter().map(|c| printable(c)).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(|c| printable(c)).collect())
            .collect();
        let columns = header.len();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        let mut numeric = vec![true; columns];
        for row in &rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
                numeric[i] &= cell == "-" || cell.parse::<f64>().is_ok();
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String], align_numbers: bool| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate().take(columns) {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = widths[i] - cell.chars().count();
                if align_numbers && numeric[i] {
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&mut out, &header, false);
        for row in &rows {
            line(&mut out, row, true);
        }
        if rows.is_empty() {
            let _ = writeln!(out, "(none)");
        }
        for note in &self.footer {
            let _ = writeln!(out, "{}", printable(note));
        }
        out
    }

    /// RFC 4180 CSV: a header line, then one line per row; cells quoted when they must be.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            let _ = write!(out, "{}\r\n", cells.join(","));
        }
        out
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// Control characters, and the format characters that reorder text on a terminal.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with control and text-direction characters written as escapes.
pub fn printable(text: &str) -> String {
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["name", "value"]);
        t.push(vec!["a,b".into(), "1.5".into()]);
        t.push(vec!["say \"hi\"\x1b[2J".into(), "-".into()]);
        t.push(vec!["c".into(), "10".into()]);
        t
    }

    #[test]
    fn text_aligns_numbers_right_and_escapes_control_characters() {
        let text = sample().to_text();
        let lines: Vec<&str> = text.lines().collect();
        // The widest first cell is the escaped one, 17 characters.
        let pad = |n: usize| " ".repeat(n);
        assert_eq!(lines[0], format!("name{}value", pad(13 + 2)));
        assert_eq!(lines[1], format!("a,b{}1.5", pad(14 + 2 + 2)));
        assert_eq!(lines[2], format!("say \"hi\"\\u{{1b}}[2J{}-", pad(2 + 4)));
        assert_eq!(lines[3], format!("c{}10", pad(16 + 2 + 3)));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            sample().to_csv(),
            "name,value\r\n\"a,b\",1.5\r\n\"say \"\"hi\"\"\x1b[2J\",-\r\nc,10\r\n"
        );
    }
}
