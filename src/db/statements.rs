//! Splits a migration's SQL into its statements, so that the one a server refuses can be named:
//! at `;` outside quotes, quoted identifiers, dollar-quoted bodies and comments.

/// The statements of `sql`, trimmed, empty ones left out.
pub fn split(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => i = closing(bytes, i + 1, bytes[i]),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            b'$' => match dollar_tag(&sql[i..]) {
                Some(tag) => {
                    let body = i + tag.len();
                    i = sql[body..]
                        .find(tag)
                        .map_or(bytes.len(), |n| body + n + tag.len());
                }
                None => i += 1,
            },
            b';' => {
                statements.push(&sql[start..i]);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    statements.push(&sql[start..]);
    statements
        .into_iter()
        .map(str::trim)
        .filter(|s| {
            !s.lines()
                .all(|line| line.trim().is_empty() || line.trim().starts_with("--"))
        })
        .collect()
}

/// Past the quote that closes one opened by `quote` (doubled quotes stay inside).
fn closing(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// `$$` or `$tag$` at the start of `s`.
fn dollar_tag(s: &str) -> Option<&str> {
    let end = s[1..].find('$')? + 2;
    let tag = &s[..end];
    tag[1..end - 1]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(tag)
        .filter(|t| !t[1..t.len() - 1].starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_at_semicolons_outside_quotes_bodies_and_comments() {
        let sql = "CREATE TABLE a (x text DEFAULT ';'); -- a comment; still one\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n\
                   /* a; block */ DO $body$ BEGIN PERFORM 1; END $body$;\n\
                   SELECT \"odd;name\" FROM a WHERE x = 'it''s; here'";
        let statements = split(sql);
        assert_eq!(statements.len(), 4, "{statements:#?}");
        assert!(statements[1].ends_with("END $$"), "{}", statements[1]);
        assert!(
            statements[2].contains("PERFORM 1; END $body$"),
            "{}",
            statements[2]
        );
        assert!(
            statements[3].ends_with("'it''s; here'"),
            "{}",
            statements[3]
        );
    }

    #[test]
    fn every_migration_splits_into_statements_that_rejoin_to_its_text() {
        // Whole-line comments and separators aside, the statements are the file.
        let squash = |s: &str| -> String {
            s.lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<String>()
                .replace(';', "")
                .split_whitespace()
                .collect()
        };
        for (version, sql) in crate::db::migrate::SQL {
            let statements = split(sql);
            assert!(!statements.is_empty(), "{version}");
            assert_eq!(squash(&statements.join("\n")), squash(sql), "{version}");
        }
    }
}
