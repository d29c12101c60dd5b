//! Importers: other tools' results as run documents, and nothing more. Each foreign format is
//! one module that reads its source and gives documents (`Read`); `btdb import` records them as
//! `btdb record` records a file, and says through `Read::warn` what each left out.

pub mod freqtrade;
pub mod mlflow;
pub mod optuna;

use std::collections::BTreeMap;

use serde_json::Value;
use tracing::warn;

use crate::report::plural;

/// The data set of a run that names none.
pub const NO_DATASET: &str = "unspecified";

/// A PostgreSQL or SQLite database, as another tool's store names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A PostgreSQL URL btdb connects with.
    Postgres(String),
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
}

/// The database a SQLAlchemy URL names, split at its `://` into `scheme` and `rest`, as MLflow
/// and Optuna write them: `postgresql[+driver]://…`, or `sqlite:///relative.db` and
/// `sqlite:////absolute.db`. `None` for another driver, which each importer refuses in its own
/// terms; an error, to be prefixed with the URL, for a SQLite URL that names no file.
pub fn sqlalchemy_database(scheme: &str, rest: &str) -> Option<anyhow::Result<Database>> {
    match scheme.split('+').next().unwrap_or_default() {
        "postgresql" | "postgres" => Some(Ok(Database::Postgres(format!("postgres://{rest}")))),
        "sqlite" => Some(match rest.strip_prefix('/') {
            Some(path) if !path.is_empty() => Ok(Database::Sqlite(path.into())),
            _ => Err(anyhow::anyhow!("names no file: sqlite:///PATH")),
        }),
        _ => None,
    }
}

/// What an import read: the run documents, and what it could not carry into them.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub documents: Vec<Value>,
    /// Names btdb's metric grammar refuses, and the names they were recorded under.
    pub renamed: BTreeMap<String, String>,
    /// Values NaN or infinite, which a run cannot hold: (run, metric, the value as a word).
    pub not_finite: Vec<(String, String, &'static str)>,
    /// What has not ended yet and was left out, counted by what it is ("running trial").
    pub unfinished: BTreeMap<&'static str, usize>,
    /// Anything else left out, one sentence each.
    pub notes: Vec<String>,
}

impl Read {
    /// Says on stderr what was left out or renamed: nothing is dropped without a word.
    pub fn warn(&self) {
        if !self.renamed.is_empty() {
            let renamed: Vec<String> = self
                .renamed
                .iter()
                .map(|(from, to)| format!("`{from}` as `{to}`"))
                .collect();
            warn!(
                "metrics whose names btdb refuses are recorded as: {}",
                renamed.join(", ")
            );
        }
        if let Some((run, metric, value)) = self.not_finite.first() {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, _, word) in &self.not_finite {
                *kinds.entry(word).or_default() += 1;
            }
            let kinds: Vec<String> = kinds.iter().map(|(w, n)| format!("{n} {w}")).collect();
            warn!(
                "{} left out, which a run cannot hold: {} (first: metric `{metric}` of run {run} \
                 is {value})",
                plural(self.not_finite.len() as u64, "metric value"),
                kinds.join(", ")
            );
        }
        for (what, n) in &self.unfinished {
            warn!(
                "{} not imported; import again when they end",
                plural(*n as u64, what)
            );
        }
        for note in &self.notes {
            warn!("{note}");
        }
    }
}

/// The items `wanted` names by `name` (every one when it names none); a name no item has is
/// an error saying `what` it is (`--study: the storage has no study`) with the close names.
pub fn choose<T>(
    items: Vec<T>,
    wanted: &[String],
    name: impl Fn(&T) -> &str,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    for asked in wanted {
        if !items.iter().any(|item| name(item) == asked) {
            let names: Vec<String> = items.iter().map(|i| name(i).to_owned()).collect();
            anyhow::bail!(
                "{what} `{asked}`{}",
                crate::query::suggest::hint(asked, &names)
            );
        }
    }
    Ok(items
        .into_iter()
        .filter(|item| wanted.is_empty() || wanted.iter().any(|w| w == name(item)))
        .collect())
}

/// Another tool's SQLite database, opened read-only: the file must be a SQLite database
/// holding every table of `tables`, else `not_it` is the error.
pub fn open_sqlite(
    path: &std::path::Path,
    tables: &[&str],
    not_it: &str,
) -> anyhow::Result<rusqlite::Connection> {
    use rusqlite::{Connection, OpenFlags};
    crate::ingest::source::regular_file(path)?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| anyhow::anyhow!("opening it: {e}"))?;
    let listed: Vec<String> = tables.iter().map(|t| format!("'{t}'")).collect();
    let found: i64 = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ({})",
                listed.join(", ")
            ),
            [],
            |row| row.get(0),
        )
        .map_err(|_| anyhow::anyhow!("not a SQLite database"))?;
    if found != tables.len() as i64 {
        anyhow::bail!("{not_it}");
    }
    Ok(conn)
}

/// Every row `sql` gives, as SQLite's values.
pub fn sqlite_rows(
    conn: &rusqlite::Connection,
    sql: &str,
) -> rusqlite::Result<Vec<Vec<rusqlite::types::Value>>> {
    let mut statement = conn.prepare(sql)?;
    let width = statement.column_count();
    let rows = statement.query_map([], |row| {
        (0..width)
            .map(|i| row.get(i))
            .collect::<rusqlite::Result<Vec<_>>>()
    })?;
    rows.collect()
}

/// A non-finite value as the warning says it.
pub fn not_finite_word(value: f64) -> &'static str {
    match value {
        v if v.is_nan() => "NaN",
        v if v > 0.0 => "infinity",
        _ => "-infinity",
    }
}

/// A metric name btdb takes (`^[A-Za-z_][A-Za-z0-9_.]{0,63}$`): every other character becomes
/// `_`, a name starting with a digit or `.` gets a leading `_`, and it is cut to 64 characters.
pub fn metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out.chars().take(64).collect()
}
