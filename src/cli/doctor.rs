//! `btdb doctor`: how the database is doing — index use, table sizes, dead tuples, cache hits,
//! slowest statements.

use anyhow::Result;
use serde::Serialize;

use super::GlobalArgs;
use crate::db::Db;
use crate::query::health::{self, CacheHits, IndexUse, SlowStatement, TableSize};
use crate::report::{self, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Slowest statements shown.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub slowest: i64,
}

#[derive(Debug, Serialize)]
struct Report {
    database: String,
    indexes: Vec<IndexUse>,
    tables: Vec<TableSize>,
    cache: CacheHits,
    slowest_statements: Option<Vec<SlowStatement>>,
    /// Why `slowest_statements` is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    statements_unavailable: Option<String>,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options()).await?;
    let mut conn = db.conn().await?;
    let (slowest, unavailable) = match health::slow_statements(&mut conn, args.slowest).await? {
        Ok(rows) => (Some(rows), None),
        Err(reason) => (None, Some(reason)),
    };
    let report = Report {
        database: db.target().to_owned(),
        indexes: health::index_use(&mut conn).await?,
        tables: health::table_sizes(&mut conn).await?,
        cache: health::cache_hits(&mut conn).await?,
        slowest_statements: slowest,
        statements_unavailable: unavailable,
    };
    report::emit(global.format, &report, || tables(&report))
}

fn size(bytes: i64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

fn tables(report: &Report) -> Vec<Table> {
    let mut indexes = Table::new(["table", "index", "scans", "size", "note"]);
    for i in &report.indexes {
        let note = match (i.scans, i.enforces_uniqueness) {
            (0, false) => "UNUSED since statistics were reset",
            (0, true) => "no scans; enforces uniqueness",
            _ => "",
        };
        indexes.push(vec![
            i.table.clone(),
            i.index.clone(),
            i.scans.to_string(),
            size(i.bytes),
            note.to_owned(),
        ]);
    }
    indexes.note(format!("database {}", report.database));

    let mut sizes = Table::new([
        "table",
        "partitions",
        "live rows",
        "dead rows",
        "total",
        "indexes",
    ]);
    for t in &report.tables {
        sizes.push(vec![
            t.table.clone(),
            t.partitions.to_string(),
            t.live_rows.to_string(),
            t.dead_rows.to_string(),
            size(t.total_bytes),
            size(t.index_bytes),
        ]);
    }
    sizes.note(format!(
        "cache hit ratio {} ({} hits, {} reads from disk or the OS cache)",
        report
            .cache
            .ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{:.2}%", r * 100.0)),
        report.cache.hits,
        report.cache.reads
    ));

    let mut slow = Table::new(["mean ms", "calls", "total ms", "statement"]);
    for s in report.slowest_statements.iter().flatten() {
        slow.push(vec![
            format!("{:.2}", s.mean_ms),
            s.calls.to_string(),
            format!("{:.1}", s.total_ms),
            s.query.split_whitespace().collect::<Vec<_>>().join(" "),
        ]);
    }
    if let Some(reason) = &report.statements_unavailable {
        slow.note(format!("slowest statements unavailable: {reason}"));
    }
    vec![indexes, sizes, slow]
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(2048), "2.0 kB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GB");
    }
}
