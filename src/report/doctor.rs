//! `doctor`'s report: index use, table sizes, cache hits, slowest statements.

use serde::Serialize;

use super::Table;
use crate::query::health::{CacheHits, IndexUse, SlowStatement, TableSize};

/// What `doctor` prints (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub database: String,
    pub indexes: Vec<IndexUse>,
    pub tables: Vec<TableSize>,
    pub cache: CacheHits,
    pub slowest_statements: Option<Vec<SlowStatement>>,
    /// Why `slowest_statements` is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statements_unavailable: Option<String>,
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

impl Health {
    /// Indexes, table sizes with the cache hit ratio, slowest statements.
    pub fn tables(&self) -> Vec<Table> {
        let report = self;
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
        indexes.note(report.database.clone());

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
