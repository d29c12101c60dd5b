//! Database URLs: what a user may see of them.

use url::form_urlencoded;

/// The URL with any password replaced by `***`, for messages and logs.
///
/// Handles URLs (`postgres://user:pw@host/db?password=pw`), including the multi-host and
/// empty-host forms that libpq accepts and generic URL parsers refuse, and key/value strings
/// (`host=h password=pw`).
pub fn redact(database_url: &str) -> String {
    match split_url(database_url) {
        Some(parts) => {
            let userinfo = match parts.userinfo {
                Some(info) => match info.split_once(':') {
                    Some((user, _)) => format!("{user}:***@"),
                    None => format!("{info}@"),
                },
                None => String::new(),
            };
            let query = match parts.query {
                Some(query) => {
                    let pairs = query
                        .split('&')
                        .map(|pair| match pair.split_once('=') {
                            Some((key, _)) if key == "password" => format!("{key}=***"),
                            _ => pair.to_owned(),
                        })
                        .collect::<Vec<_>>();
                    format!("?{}", pairs.join("&"))
                }
                None => String::new(),
            };
            format!(
                "{}://{userinfo}{}{}{query}",
                parts.scheme, parts.hosts, parts.path
            )
        }
        None => database_url
            .split_whitespace()
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Host (or socket directory) and database name, for a message that says where a connection went.
pub fn describe(database_url: &str) -> String {
    let (host, port, database) = match split_url(database_url) {
        Some(parts) => {
            let params: Vec<(String, String)> = parts
                .query
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default();
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let host =
                param("host").or_else(|| Some(decode(parts.hosts)).filter(|h| !h.is_empty()));
            let database = param("dbname").or_else(|| {
                Some(decode(parts.path.trim_start_matches('/'))).filter(|d| !d.is_empty())
            });
            (host, param("port"), database)
        }
        None => {
            let param = |name: &str| {
                database_url.split_whitespace().find_map(|pair| {
                    pair.split_once('=')
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.to_owned())
                })
            };
            (param("host"), param("port"), param("dbname"))
        }
    };
    let host = host.unwrap_or_else(|| "localhost".to_owned());
    let host = match port {
        // A socket directory's port only names the socket file: leave it out.
        Some(port) if !host.starts_with('/') => format!("{host}:{port}"),
        _ => host,
    };
    format!(
        "database `{}` on `{host}`",
        database.as_deref().unwrap_or("(default)")
    )
}

/// The same server and credentials, another database.
pub fn with_database(database_url: &str, database: &str) -> String {
    match split_url(database_url) {
        Some(parts) => {
            let userinfo = parts.userinfo.map(|u| format!("{u}@")).unwrap_or_default();
            let query = match parts.query {
                Some(q) => {
                    let kept: Vec<&str> = q
                        .split('&')
                        .filter(|pair| !pair.starts_with("dbname="))
                        .collect();
                    if kept.is_empty() {
                        String::new()
                    } else {
                        format!("?{}", kept.join("&"))
                    }
                }
                None => String::new(),
            };
            let encoded: String = form_urlencoded::byte_serialize(database.as_bytes()).collect();
            format!(
                "{}://{userinfo}{}/{encoded}{query}",
                parts.scheme, parts.hosts
            )
        }
        None => {
            let mut pairs: Vec<String> = database_url
                .split_whitespace()
                .filter(|pair| !pair.starts_with("dbname="))
                .map(str::to_owned)
                .collect();
            pairs.push(format!("dbname={database}"));
            pairs.join(" ")
        }
    }
}

struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    hosts: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

fn split_url(text: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = text.split_once("://")?;
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((info, hosts)) => (Some(info), hosts),
        None => (None, authority),
    };
    Some(UrlParts {
        scheme,
        userinfo,
        hosts,
        path,
        query,
    })
}

fn decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_in_userinfo_is_hidden() {
        let shown = redact("postgres://alice:s3cr%40t@db.example:5432/btdb");
        assert_eq!(shown, "postgres://alice:***@db.example:5432/btdb");
    }

    #[test]
    fn password_query_parameter_is_hidden() {
        let shown = redact("postgresql://alice@db/btdb?sslmode=require&password=hunter2");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
    }

    #[test]
    fn key_value_password_is_hidden() {
        let shown = redact("host=db user=alice password=hunter2 dbname=btdb");
        assert_eq!(shown, "host=db user=alice password=*** dbname=btdb");
    }

    #[test]
    fn url_without_password_is_unchanged() {
        let url = "postgres:///btdb?host=%2Fvar%2Flib%2Fbtdb%2Fpg&user=btdb";
        assert_eq!(redact(url), url);
    }

    #[test]
    fn forms_generic_parsers_refuse_are_redacted_too() {
        let shown = redact("postgres://bob:pw@/btdb?host=/run/pg");
        assert_eq!(shown, "postgres://bob:***@/btdb?host=/run/pg");
        let shown = redact("postgresql://bob:pw@h1:5432,h2:5433/btdb");
        assert_eq!(shown, "postgresql://bob:***@h1:5432,h2:5433/btdb");
    }

    #[test]
    fn unknown_text_keeps_no_password() {
        assert!(!redact("password=hunter2").contains("hunter2"));
    }

    #[test]
    fn with_database_swaps_only_the_database() {
        assert_eq!(
            with_database("postgres://a:pw@h:5432/one?sslmode=disable", "two"),
            "postgres://a:pw@h:5432/two?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres:///btdb?host=%2Frun&dbname=x&user=btdb", "t1"),
            "postgres:///t1?host=%2Frun&user=btdb"
        );
        assert_eq!(with_database("host=h dbname=x", "y"), "host=h dbname=y");
    }

    #[test]
    fn describe_names_host_and_database() {
        assert_eq!(
            describe("postgres://a:pw@db.example:6543/results"),
            "database `results` on `db.example:6543`"
        );
        assert_eq!(
            describe("postgres:///btdb?host=%2Fvar%2Flib%2Fbtdb%2Fpg&port=5432"),
            "database `btdb` on `/var/lib/btdb/pg`"
        );
        assert_eq!(
            describe("host=db port=6 dbname=x password=p"),
            "database `x` on `db:6`"
        );
    }
}
