//! What `btdb doctor` reads from PostgreSQL's statistics views: index use, table sizes, dead
//! tuples, cache hits and the slowest statements. Partitions are folded into their parent.
//!
//! The catalog has no Diesel schema, so these are SQL texts; none binds a value a user typed.

use anyhow::Result;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct IndexUse {
    #[diesel(sql_type = Text)]
    pub table: String,
    #[diesel(sql_type = Text)]
    pub index: String,
    /// Index scans since the statistics were last reset, over all partitions.
    #[diesel(sql_type = BigInt)]
    pub scans: i64,
    #[diesel(sql_type = BigInt)]
    pub bytes: i64,
    /// It backs a primary key or unique constraint: used on every insert even with no scans.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub enforces_uniqueness: bool,
}

#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct TableSize {
    #[diesel(sql_type = Text)]
    pub table: String,
    #[diesel(sql_type = BigInt)]
    pub partitions: i64,
    #[diesel(sql_type = BigInt)]
    pub live_rows: i64,
    #[diesel(sql_type = BigInt)]
    pub dead_rows: i64,
    /// Table, indexes and TOAST, over all partitions.
    #[diesel(sql_type = BigInt)]
    pub total_bytes: i64,
    #[diesel(sql_type = BigInt)]
    pub index_bytes: i64,
}

#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct CacheHits {
    /// Share of block reads served from shared buffers, for this database.
    #[diesel(sql_type = Nullable<Double>)]
    pub ratio: Option<f64>,
    #[diesel(sql_type = BigInt)]
    pub hits: i64,
    #[diesel(sql_type = BigInt)]
    pub reads: i64,
}

#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct SlowStatement {
    #[diesel(sql_type = Text)]
    pub query: String,
    #[diesel(sql_type = BigInt)]
    pub calls: i64,
    #[diesel(sql_type = Double)]
    pub mean_ms: f64,
    #[diesel(sql_type = Double)]
    pub total_ms: f64,
}

#[derive(Debug, Clone, QueryableByName)]
struct OptionalFlag {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    value: Option<bool>,
}

#[derive(Debug, Clone, QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    value: bool,
}

/// Indexes of btdb's tables, partition indexes summed into the index they belong to.
pub async fn index_use(conn: &mut AsyncPgConnection) -> Result<Vec<IndexUse>> {
    Ok(diesel::sql_query(
        "SELECT coalesce(pt.relname, s.relname)::text AS table,
                coalesce(pi.relname, s.indexrelname)::text AS index,
                sum(s.idx_scan)::int8 AS scans,
                sum(pg_relation_size(s.indexrelid))::int8 AS bytes,
                bool_or(x.indisunique) AS enforces_uniqueness
         FROM pg_stat_user_indexes s
         JOIN pg_index x ON x.indexrelid = s.indexrelid
         LEFT JOIN pg_inherits ii ON ii.inhrelid = s.indexrelid
         LEFT JOIN pg_class pi ON pi.oid = ii.inhparent
         LEFT JOIN pg_inherits it ON it.inhrelid = s.relid
         LEFT JOIN pg_class pt ON pt.oid = it.inhparent
         WHERE s.relname NOT LIKE '\\_\\_diesel%'
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .load(conn)
    .await?)
}

/// btdb's tables with their sizes and dead tuples, partitions summed.
pub async fn table_sizes(conn: &mut AsyncPgConnection) -> Result<Vec<TableSize>> {
    Ok(diesel::sql_query(
        "SELECT coalesce(p.relname, s.relname)::text AS table,
                count(*) FILTER (WHERE p.relname IS NOT NULL)::int8 AS partitions,
                sum(s.n_live_tup)::int8 AS live_rows,
                sum(s.n_dead_tup)::int8 AS dead_rows,
                sum(pg_total_relation_size(s.relid))::int8 AS total_bytes,
                sum(pg_indexes_size(s.relid))::int8 AS index_bytes
         FROM pg_stat_user_tables s
         LEFT JOIN pg_inherits i ON i.inhrelid = s.relid
         LEFT JOIN pg_class p ON p.oid = i.inhparent
         WHERE s.relname NOT LIKE '\\_\\_diesel%'
         GROUP BY 1 ORDER BY total_bytes DESC",
    )
    .load(conn)
    .await?)
}

pub async fn cache_hits(conn: &mut AsyncPgConnection) -> Result<CacheHits> {
    Ok(diesel::sql_query(
        "SELECT blks_hit::float8 / nullif(blks_hit + blks_read, 0) AS ratio,
                blks_hit::int8 AS hits, blks_read::int8 AS reads
         FROM pg_stat_database WHERE datname = current_database()",
    )
    .get_result(conn)
    .await?)
}

/// The slowest statements by mean time, when pg_stat_statements is loaded (the embedded
/// cluster preloads it); `Ok(Err(reason))` when it is not.
pub async fn slow_statements(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Result<Vec<SlowStatement>, String>> {
    // pg_settings shows a role only the settings it may read: no row means it may not.
    let loaded: OptionalFlag = diesel::sql_query(
        "SELECT bool_or('pg_stat_statements' = ANY(string_to_array(
                    replace(setting, ' ', ''), ','))) AS value
         FROM pg_settings WHERE name = 'shared_preload_libraries'",
    )
    .get_result(conn)
    .await?;
    match loaded.value {
        None => {
            return Ok(Err(
                "this role may not read shared_preload_libraries (it needs \
                           pg_read_all_settings)"
                    .into(),
            ));
        }
        Some(false) => {
            return Ok(Err(
                "pg_stat_statements is not in shared_preload_libraries on this server".into(),
            ));
        }
        Some(true) => {}
    }
    let installed: Flag = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS value",
    )
    .get_result(conn)
    .await?;
    // Created on first use where the role may (the embedded cluster's owner); a reader only
    // says it is missing.
    if !installed.value
        && let Err(e) = diesel::sql_query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(conn)
            .await
    {
        return Ok(Err(format!(
            "pg_stat_statements is not installed in this database and this role cannot \
             install it: {e}"
        )));
    }
    let rows = diesel::sql_query(
        "SELECT query, calls::int8 AS calls, mean_exec_time AS mean_ms,
                total_exec_time AS total_ms
         FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY mean_exec_time DESC LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(Ok(rows))
}
