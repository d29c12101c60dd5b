//! Where the tables live: on one server, or distributed over a Citus cluster by
//! `btdb db migrate` on its coordinator (docs/scale-out.md).
//!
//! On Citus the tables that grow with runs (`runs`, `metrics`, `trades`, `equity_points`) are
//! distributed by run id and co-located, so a run is written and read on one node; strategies,
//! sweeps and parameter sets are reference tables, copied to every node, so that every join of
//! a run with its parents stays on the run's node. Citus enforces a unique constraint only when
//! it holds the distribution column: `run_key`'s uniqueness moves to `run_keys`, distributed by
//! the key itself, which a recorder claims in the run's own transaction.

use anyhow::{Context, Result, bail};
use diesel::QueryableByName;
use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// How the schema's tables are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Every table on one server (the embedded cluster, or any PostgreSQL).
    #[default]
    Single,
    /// Distributed over a Citus cluster: what only one server has is not there — the ranking
    /// summaries' triggers and the change announcements — and record claims its keys in
    /// `run_keys`.
    Distributed,
}

impl Layout {
    /// Whether the ranking summaries and the change announcements are kept.
    pub fn keeps_summaries(self) -> bool {
        self == Layout::Single
    }
}

/// The statements that distribute a current single-server schema, in order. They run in one
/// transaction: all of them or none.
pub const DISTRIBUTE: &[&str] = &[
    // Triggers cannot run on a distributed table's shards and reach the coordinator: on
    // Citus, rankings aggregate on the workers instead of reading summaries (which go, so that
    // nothing reads them stale), and `btdb serve` keeps no answers.
    "DROP TRIGGER runs_announce_change ON runs",
    "DROP TRIGGER metrics_announce_change ON metrics",
    "DROP TRIGGER metrics_note_inserts ON metrics",
    "DROP TRIGGER metrics_note_updates ON metrics",
    "DROP TRIGGER metrics_note_deletes ON metrics",
    "DROP TRIGGER metrics_forget_summaries ON metrics",
    "DROP FUNCTION btdb_summarize()",
    "DROP FUNCTION btdb_note_metric_changes()",
    "DROP FUNCTION btdb_forget_summaries()",
    "DROP FUNCTION btdb_announce_change()",
    "DROP TABLE metric_summaries, pooled_metric_summaries, metric_summary_changes",
    "CREATE OR REPLACE VIEW metric_names AS
         SELECT DISTINCT name FROM metrics WHERE completed",
    // run_key's uniqueness, enforceable on Citus only with the key as distribution column.
    "CREATE TABLE run_keys (
         run_key text PRIMARY KEY,
         run_id  bigint NOT NULL
     )",
    "INSERT INTO run_keys (run_key, run_id) SELECT run_key, id FROM runs",
    "ALTER TABLE runs DROP CONSTRAINT runs_run_key_key",
    "CREATE INDEX runs_run_key_idx ON runs (run_key)",
    // Citus distributes no table with an identity column: the same ids from a plain sequence,
    // which the coordinator hands out (`Run::next_ids` finds it the same way).
    "ALTER TABLE runs ALTER COLUMN id DROP IDENTITY",
    "CREATE SEQUENCE runs_id_seq OWNED BY runs.id",
    "ALTER TABLE runs ALTER COLUMN id SET DEFAULT nextval('runs_id_seq')",
    "SELECT create_reference_table('strategies')",
    "SELECT create_reference_table('sweeps')",
    "SELECT create_reference_table('parameter_sets')",
    "SELECT create_distributed_table('runs', 'id')",
    "SELECT create_distributed_table('metrics', 'run_id', colocate_with => 'runs')",
    "SELECT create_distributed_table('trades', 'run_id', colocate_with => 'runs')",
    "SELECT create_distributed_table('equity_points', 'run_id', colocate_with => 'runs')",
    "SELECT create_distributed_table('run_keys', 'run_key', colocate_with => 'none')",
    // Last: making `strategies` a reference table turns the tables whose foreign keys reach it
    // into Citus tables, which restarts their identity sequences at 1. Every id sequence
    // continues after the ids taken.
    "SELECT setval(pg_get_serial_sequence('strategies', 'id'),
                   coalesce((SELECT max(id) FROM strategies), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('sweeps', 'id'),
                   coalesce((SELECT max(id) FROM sweeps), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('parameter_sets', 'id'),
                   coalesce((SELECT max(id) FROM parameter_sets), 0) + 1, false)",
    "SELECT setval('runs_id_seq', coalesce((SELECT max(id) FROM runs), 0) + 1, false)",
];

/// True on the distributed layout, the only one with `run_keys`: an SQL expression, read with
/// the schema check, by the migrations and before distributing.
pub const IS_DISTRIBUTED: &str = "to_regclass('run_keys') IS NOT NULL";

/// The one boolean of a `SELECT … AS found`.
#[derive(Debug, QueryableByName)]
pub struct Found {
    #[diesel(sql_type = Bool)]
    pub found: bool,
}

async fn ask(conn: &mut AsyncPgConnection, sql: &str) -> Result<bool> {
    Ok(diesel::sql_query(sql)
        .get_result::<Found>(conn)
        .await?
        .found)
}

/// After the migrations: distributes the tables when the server has the `citus` extension
/// (`citus` says it must). Returns whether this call distributed them.
pub async fn distribute(conn: &mut AsyncPgConnection, citus: bool, target: &str) -> Result<bool> {
    let has_citus = ask(
        conn,
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS found",
    )
    .await?;
    if !has_citus {
        if citus {
            bail!(
                "--citus: {target} has no citus extension (a superuser creates it with CREATE \
                 EXTENSION citus on the coordinator and every worker; docs/scale-out.md)"
            );
        }
        return Ok(false);
    }
    if ask(conn, &format!("SELECT {IS_DISTRIBUTED} AS found")).await? {
        return Ok(false);
    }
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        for statement in DISTRIBUTE {
            conn.batch_execute(statement).await.with_context(|| {
                format!(
                    "distributing the tables over Citus: `{}`",
                    first_line(statement)
                )
            })?;
        }
        Ok(())
    })
    .await?;
    Ok(true)
}

/// A statement's first line, to name it in a message.
pub fn first_line(statement: &str) -> &str {
    statement.trim().lines().next().unwrap_or_default()
}
