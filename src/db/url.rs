//! Connection strings as a user may see them, and the same string for another database: both
//! read the text with the one parser `ConnConfig` uses (`config::parse_text`) and write it back
//! in the form it came in, a URL or `key=value` pairs.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::config::{Written, parse_text};

/// What a URL part keeps unescaped: RFC 3986's unreserved characters. `+` is escaped too, since
/// libpq reads it as itself, not as a space.
const PART: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The connection string with any password replaced by `***`, for messages and logs. Text that
/// cannot be read as one is not shown at all: a password may be anywhere in it.
pub fn redact(database_url: &str) -> String {
    match parse_text(database_url) {
        Ok(written) => render(&written, false),
        Err(_) => "(a connection string that cannot be read)".to_owned(),
    }
}

/// The same server and credentials, another database.
pub fn with_database(database_url: &str, database: &str) -> anyhow::Result<String> {
    with_param(database_url, "dbname", database)
}

/// The same connection string with parameter `key` (`dbname`, `user`, …) set to `value`.
pub fn with_param(database_url: &str, key: &str, value: &str) -> anyhow::Result<String> {
    let mut written = parse_text(database_url)?;
    written.params.retain(|(k, _)| k != key);
    written.params.push((key.to_owned(), value.to_owned()));
    Ok(render(&written, true))
}

fn render(written: &Written, reveal: bool) -> String {
    let hidden = |key: &str| key == "password" && !reveal;
    let shown = |key: &str, value: &str| {
        if hidden(key) {
            "***".to_owned()
        } else {
            value.to_owned()
        }
    };
    // In a URL the stand-in is written as it is, never escaped.
    let encoded = |key: &str, value: &str| {
        if hidden(key) {
            "***".to_owned()
        } else {
            utf8_percent_encode(value, PART).to_string()
        }
    };
    if !written.url {
        return written
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(&shown(k, v))))
            .collect::<Vec<_>>()
            .join(" ");
    }
    let get = |key: &str| {
        written
            .params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut userinfo = String::new();
    if let Some(user) = get("user") {
        userinfo.push_str(&encoded("user", user));
    }
    if let Some(password) = get("password") {
        userinfo.push(':');
        userinfo.push_str(&encoded("password", password));
    }
    if !userinfo.is_empty() {
        userinfo.push('@');
    }
    // Hosts go in the authority when they are network names, with their ports; socket
    // directories (which hold `/`) go in the query, as libpq reads them there.
    let hosts: Vec<&str> = get("host")
        .map(|h| h.split(',').collect())
        .unwrap_or_default();
    let ports: Vec<&str> = get("port")
        .map(|p| p.split(',').collect())
        .unwrap_or_default();
    let in_authority = !hosts.is_empty()
        && !hosts.iter().any(|h| h.starts_with('/'))
        && (ports.len() <= 1 || ports.len() == hosts.len());
    let authority = if in_authority {
        hosts
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    encoded("host", host)
                };
                match ports.get(i).or(ports.first()) {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    } else {
        String::new()
    };
    let query: Vec<String> = written
        .params
        .iter()
        .filter(|(k, _)| match k.as_str() {
            "user" | "password" | "dbname" => false,
            "host" | "port" => !in_authority,
            _ => true,
        })
        .map(|(k, v)| format!("{k}={}", encoded(k, v)))
        .collect();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    let dbname = get("dbname")
        .map(|d| encoded("dbname", d))
        .unwrap_or_default();
    format!("postgres://{userinfo}{authority}/{dbname}{query}")
}

/// A `key=value` value, quoted when it must be, as libpq reads it back.
fn quote(value: &str) -> String {
    if !value.is_empty() && !value.contains([' ', '\'', '\\', '\t', '\n']) {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::config::{ConnConfig, Environment};

    /// The same target, read back with ConnConfig.
    fn same_target(a: &str, b: &str) {
        let read = |text: &str| ConnConfig::parse(text, &Environment::with(&[], None)).expect(text);
        assert_eq!(read(a), read(b), "{a} and {b}");
    }

    #[test]
    fn password_in_userinfo_is_hidden() {
        let shown = redact("postgres://alice:s3cr%40t@db.example:5432/btdb");
        assert_eq!(shown, "postgres://alice:***@db.example:5432/btdb");
    }

    #[test]
    fn password_query_parameter_is_hidden() {
        let shown = redact("postgresql://alice@db/btdb?sslmode=require&password=hunter2");
        assert_eq!(shown, "postgres://alice:***@db/btdb?sslmode=require");
    }

    #[test]
    fn key_value_password_is_hidden_even_quoted() {
        let shown = redact("host=db user=alice password=hunter2 dbname=btdb");
        assert_eq!(shown, "host=db user=alice password=*** dbname=btdb");
        let shown = redact("host=db password='two words' dbname=btdb");
        assert_eq!(shown, "host=db password=*** dbname=btdb");
    }

    #[test]
    fn url_without_password_is_the_same_target() {
        let url = "postgres:///btdb?host=%2Fvar%2Flib%2Fbtdb%2Fpg&user=btdb";
        assert_eq!(
            redact(url),
            "postgres://btdb@/btdb?host=%2Fvar%2Flib%2Fbtdb%2Fpg"
        );
        same_target(url, &redact(url));
    }

    #[test]
    fn forms_generic_parsers_refuse_are_redacted_too() {
        let shown = redact("postgres://bob:pw@/btdb?host=/run/pg");
        assert_eq!(shown, "postgres://bob:***@/btdb?host=%2Frun%2Fpg");
        let shown = redact("postgresql://bob:pw@h1:5432,h2:5433/btdb");
        assert_eq!(shown, "postgres://bob:***@h1:5432,h2:5433/btdb");
    }

    #[test]
    fn text_that_cannot_be_read_is_not_shown() {
        assert!(!redact("password").contains("password"));
        assert!(!redact("postgres://a:hunter2@h/db?nonsense=1").contains("hunter2"));
    }

    #[test]
    fn plus_is_a_plus_and_the_database_is_swapped_alone() {
        let url = "postgres://a:p%2Bw@h:5432/one?sslmode=disable";
        let two = with_database(url, "two").expect("readable");
        assert_eq!(two, "postgres://a:p%2Bw@h:5432/two?sslmode=disable");
        same_target(
            &two,
            "host=h port=5432 user=a password=p+w dbname=two sslmode=disable",
        );
        let socket = with_database("postgres:///btdb?host=%2Frun&dbname=x&user=btdb", "t1");
        assert_eq!(socket.expect("readable"), "postgres://btdb@/t1?host=%2Frun");
        assert_eq!(
            with_database("host=h dbname=x", "y").expect("readable"),
            "host=h dbname=y"
        );
        let quoted = with_database("host=h password='a b\\'c'", "d b").expect("readable");
        same_target(&quoted, "postgres://:a%20b%27c@h/d%20b");
    }
}
