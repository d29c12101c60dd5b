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

use super::aggregate::{mean_of, median_of};

/// How the schema's tables are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Every table on one server (the embedded cluster, or any PostgreSQL).
    #[default]
    Single,
    /// Distributed over a Citus cluster: triggers are not there (record and delete note the
    /// summaries' changes themselves, and nothing announces changes), and record claims its
    /// keys in `run_keys`.
    Distributed,
}

impl Layout {
    /// Whether changes are announced to `btdb serve`, which can then keep its answers.
    pub fn announces_changes(self) -> bool {
        self == Layout::Single
    }

    /// Whether a writer notes the summary groups it changes itself (`btdb_note`): on one
    /// server, the triggers on `metrics` do.
    pub fn notes_changes(self) -> bool {
        self == Layout::Distributed
    }
}

/// The statements that distribute a current single-server schema, in order. They run in one
/// transaction: all of them or none.
pub const DISTRIBUTE: &[&str] = &[
    // Two shards per worker, unless `citus.shard_count` was set: a ranking's 20 best runs
    // then cost a task on each of 4 shards rather than on 20 of Citus's default 32, which kept
    // every ranking order within 3x of one server where 8 shards did not (BENCHMARKS.md,
    // "Shard count"). Twice as many workers can still be given a shard each; past that,
    // Citus splits shards.
    "SELECT set_config('citus.shard_count',
         CASE WHEN source <> 'default' THEN setting
              ELSE (2 * greatest(1, (SELECT count(*) FROM pg_dist_node
                                     WHERE noderole = 'primary' AND isactive
                                       AND shouldhaveshards AND groupid <> 0)))::text
         END, true)
     FROM pg_settings WHERE name = 'citus.shard_count'",
    // Triggers cannot run on a distributed table's shards and reach the coordinator: on
    // Citus, `record` and `delete` note the groups they change themselves (`btdb_note`, in
    // SUMMARIES_ON_CITUS), and `btdb serve` keeps no answers (nothing announces a change).
    "DROP TRIGGER runs_announce_change ON runs",
    "DROP TRIGGER parameter_sets_note_kinds ON parameter_sets",
    "DROP TRIGGER parameter_sets_forget_kinds ON parameter_sets",
    "DROP TABLE parameter_kinds",
    "DROP TRIGGER metrics_announce_change ON metrics",
    "DROP TRIGGER metrics_note_inserts ON metrics",
    "DROP TRIGGER metrics_note_updates ON metrics",
    "DROP TRIGGER metrics_note_deletes ON metrics",
    "DROP TRIGGER metrics_forget_summaries ON metrics",
    "DROP FUNCTION btdb_note_metric_changes()",
    "DROP TRIGGER runs_note_period_changes ON runs",
    "DROP FUNCTION btdb_note_period_changes()",
    "DROP FUNCTION btdb_forget_summaries()",
    "DROP TRIGGER sweeps_announce_change ON sweeps",
    "DROP FUNCTION btdb_announce_change()",
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
    "SELECT create_reference_table('metric_directions')",
    "SELECT create_reference_table('metric_sets')",
    "SELECT create_distributed_table('runs', 'id')",
    "SELECT create_distributed_table('metrics', 'run_id', colocate_with => 'runs')",
    "SELECT create_distributed_table('trades', 'run_id', colocate_with => 'runs')",
    "SELECT create_distributed_table('equity_points', 'run_id', colocate_with => 'runs')",
    "SELECT create_distributed_table('intermediate_values', 'run_id', colocate_with => 'runs')",
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
    "SELECT setval(pg_get_serial_sequence('metric_sets', 'id'),
                   coalesce((SELECT max(id) FROM metric_sets), 0) + 1, false)",
    "SELECT setval('runs_id_seq', coalesce((SELECT max(id) FROM runs), 0) + 1, false)",
];

/// The ranking summaries on Citus (migration 12 keeps them on one server with triggers): plain
/// tables on the coordinator, where a ranking reads one row per strategy without asking a
/// worker, kept by `record` and `delete` themselves. Applied when the tables are distributed,
/// and by `btdb db migrate` to a database distributed before Citus kept them (which then lacks
/// the tables: they are created as migration 12 made them, and every group is folded).
pub const SUMMARIES_ON_CITUS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS metric_summaries (
         name        text NOT NULL,
         dataset     text NOT NULL,
         strategy_id bigint NOT NULL,
         runs        bigint NOT NULL CHECK (runs > 0),
         mean        double precision NOT NULL,
         median      double precision NOT NULL,
         lowest      double precision NOT NULL,
         highest     double precision NOT NULL,
         PRIMARY KEY (name, dataset, strategy_id) INCLUDE (runs, mean, median, lowest, highest)
     )",
    // On Citus the summaries also name the earliest run with the lowest and the highest value:
    // a ranking then finds its strategies' best runs without asking every shard (one server
    // finds them with one index probe per strategy).
    "ALTER TABLE metric_summaries ADD COLUMN IF NOT EXISTS lowest_run bigint,
                                  ADD COLUMN IF NOT EXISTS highest_run bigint",
    "CREATE TABLE IF NOT EXISTS pooled_metric_summaries (
         name        text NOT NULL,
         strategy_id bigint NOT NULL,
         runs        bigint NOT NULL CHECK (runs > 0),
         mean        double precision NOT NULL,
         median      double precision NOT NULL,
         lowest      double precision NOT NULL,
         highest     double precision NOT NULL,
         PRIMARY KEY (name, strategy_id) INCLUDE (runs, mean, median, lowest, highest)
     )",
    "ALTER TABLE pooled_metric_summaries ADD COLUMN IF NOT EXISTS lowest_run bigint,
                                         ADD COLUMN IF NOT EXISTS highest_run bigint",
    "CREATE TABLE IF NOT EXISTS metric_summary_changes (
         id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         strategy_id bigint NOT NULL,
         dataset     text NOT NULL
     )",
    // Called by a recorder or a deleter in its own transaction, after its metrics are
    // written: notes the groups it changes, committed with them, as migration 12's triggers
    // do. The shared lock is held until the transaction has committed on every worker (a lock
    // is released after Citus's commit on the workers), which the fold waits for.
    "CREATE OR REPLACE FUNCTION btdb_note(strategy_ids bigint[], datasets text[])
         RETURNS void
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
     BEGIN
         PERFORM pg_advisory_xact_lock_shared(hashtext('btdb_note'));
         INSERT INTO metric_summary_changes (strategy_id, dataset)
             SELECT DISTINCT * FROM unnest(strategy_ids, datasets);
     END
     $$",
    CITUS_FOLD,
    "REVOKE EXECUTE ON FUNCTION btdb_summarize() FROM PUBLIC",
    "REVOKE EXECUTE ON FUNCTION btdb_note(bigint[], text[]) FROM PUBLIC",
    // Every group once, for the runs' columns (and, on a database distributed before Citus
    // kept summaries, for everything).
    "INSERT INTO metric_summary_changes (strategy_id, dataset)
         SELECT DISTINCT strategy_id, dataset FROM metrics WHERE completed",
    "SELECT btdb_summarize()",
];

/// Migration 12's fold, for Citus: the notes are taken first; then the fold waits for every
/// noting transaction still committing on the workers (on Citus a transaction is visible on
/// the coordinator before its workers' part is), so that the recomputation sees their runs;
/// then the noted groups are recomputed from `metrics` on the workers. Defined again by every
/// `btdb db migrate`, so that a cluster distributed by an older btdb folds as this one does.
/// It keeps no trials (migration 21's columns): rankings on Citus count them from the runs.
/// Its inserts name their columns, which were added in a different order on a database
/// distributed before migration 21 and on one distributed after.
pub const CITUS_FOLD: &str = concat!(
    "CREATE OR REPLACE FUNCTION btdb_summarize() RETURNS bigint
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
     DECLARE
         strategy_ids bigint[];
         datasets text[];
         touched bigint[];
     BEGIN
         PERFORM pg_advisory_xact_lock(hashtext('btdb_summarize'));
         WITH taken AS (
             DELETE FROM metric_summary_changes RETURNING strategy_id, dataset
         ), pairs AS (
             SELECT DISTINCT strategy_id, dataset FROM taken
         )
         SELECT array_agg(strategy_id), array_agg(dataset) INTO strategy_ids, datasets
         FROM pairs;
         IF strategy_ids IS NULL THEN
             RETURN 0;
         END IF;
         PERFORM pg_advisory_lock(hashtext('btdb_note'));
         PERFORM pg_advisory_unlock(hashtext('btdb_note'));
         touched := ARRAY(SELECT DISTINCT unnest(strategy_ids));
         DELETE FROM metric_summaries s
         USING unnest(strategy_ids, datasets) t(strategy_id, dataset)
         WHERE s.strategy_id = t.strategy_id AND s.dataset = t.dataset;
         INSERT INTO metric_summaries (name, dataset, strategy_id, runs, mean, median,
                                       lowest, highest, lowest_run, highest_run)
             SELECT a.name, a.dataset, a.strategy_id, a.runs, a.mean, a.median, a.lowest,
                    a.highest, a.lowest_run, a.highest_run
             FROM (SELECT name, dataset, strategy_id, count(*) AS runs, ",
    mean_of!("value"),
    " AS mean, ",
    median_of!("value"),
    " AS median,
                          min(value) AS lowest, max(value) AS highest,
                          (array_agg(run_id ORDER BY value, run_id))[1] AS lowest_run,
                          (array_agg(run_id ORDER BY value DESC, run_id))[1] AS highest_run
                   FROM metrics
                   WHERE completed AND strategy_id = ANY(touched) AND dataset = ANY(datasets)
                   GROUP BY name, dataset, strategy_id) a
             JOIN unnest(strategy_ids, datasets) t(strategy_id, dataset)
               ON t.strategy_id = a.strategy_id AND t.dataset = a.dataset;
         DELETE FROM pooled_metric_summaries WHERE strategy_id = ANY(touched);
         INSERT INTO pooled_metric_summaries (name, strategy_id, runs, mean, median, lowest,
                                              highest, lowest_run, highest_run)
             SELECT name, strategy_id, count(*), ",
    mean_of!("value"),
    ", ",
    median_of!("value"),
    ", min(value), max(value),
                    (array_agg(run_id ORDER BY value, run_id))[1],
                    (array_agg(run_id ORDER BY value DESC, run_id))[1]
             FROM metrics
             WHERE completed AND strategy_id = ANY(touched)
             GROUP BY name, strategy_id;
         RETURN array_length(strategy_ids, 1);
     END
     $$"
);

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
        if !ask(
            conn,
            "SELECT to_regclass('metric_summaries') IS NOT NULL AS found",
        )
        .await?
        {
            // Distributed by a btdb that dropped the summaries on Citus.
            run_all(
                conn,
                SUMMARIES_ON_CITUS.iter().copied(),
                "keeping the ranking summaries on Citus",
            )
            .await?;
        } else {
            // Distributed by an older btdb: its fold, as this one folds.
            run_all(
                conn,
                [CITUS_FOLD].into_iter(),
                "defining the fold of the summaries on Citus",
            )
            .await?;
        }
        return Ok(false);
    }
    run_all(
        conn,
        DISTRIBUTE.iter().chain(SUMMARIES_ON_CITUS).copied(),
        "distributing the tables over Citus",
    )
    .await?;
    Ok(true)
}

/// `statements` in one transaction, a failure named by its statement.
async fn run_all(
    conn: &mut AsyncPgConnection,
    statements: impl Iterator<Item = &'static str> + Send,
    doing: &str,
) -> Result<()> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        for statement in statements {
            conn.batch_execute(statement)
                .await
                .with_context(|| format!("{doing}: `{}`", first_line(statement)))?;
        }
        Ok(())
    })
    .await
}

/// A statement's first line, to name it in a message.
pub fn first_line(statement: &str) -> &str {
    statement.trim().lines().next().unwrap_or_default()
}
