//! The roles a team's server gives its users: readers (rank, compare, runs, show), writers
//! (record as well) and curators (delete as well). Granted by the schema's owner; nothing else
//! may truncate or change the schema, and only curators and the owner delete.

use anyhow::{Result, bail};
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use super::Layout;

/// The tables `record` writes, each needing INSERT (and SELECT, to find what is there).
pub const RECORDED_TABLES: [&str; 10] = [
    "strategies",
    "parameter_sets",
    "sweeps",
    "metric_sets",
    "runs",
    "metrics",
    "trades",
    "equity_points",
    "intermediate_values",
    "metric_directions",
];

/// What a role may do with btdb's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// SELECT on every table, the migrations table included.
    Reader,
    /// A reader that may also INSERT what recording writes, use the id sequences, and fold
    /// what it recorded into the ranking summaries (`btdb_summarize()`).
    Writer,
    /// A writer that may also DELETE runs, what they own, and the parents left without runs.
    Curator,
}

/// `"name"` as SQL spells an identifier, whatever characters it holds.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = Bool)]
    found: bool,
}

/// Grants `access` to the existing role `name`, on the tables there are now and, through
/// default privileges, on those later migrations (run by the same owner) add. Idempotent.
pub async fn grant(
    conn: &mut AsyncPgConnection,
    access: Access,
    name: &str,
    layout: Layout,
) -> Result<()> {
    let exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS found")
            .bind::<Text, _>(name)
            .get_result::<Found>(conn)
            .await?;
    if !exists.found {
        bail!(
            "there is no role `{name}`; create it first, e.g. CREATE ROLE {} LOGIN PASSWORD '…'",
            ident(name)
        );
    }
    let role = ident(name);
    let mut sql = format!(
        "GRANT USAGE ON SCHEMA public TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role};"
    );
    let mut tables = RECORDED_TABLES.join(", ");
    if layout == Layout::Distributed {
        tables.push_str(", run_keys");
    }
    if matches!(access, Access::Writer | Access::Curator) {
        sql.push_str(&format!(
            "GRANT INSERT ON {tables} TO {role};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT INSERT ON TABLES TO {role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {role};"
        ));
        sql.push_str(&format!(
            "GRANT EXECUTE ON FUNCTION btdb_summarize() TO {role};"
        ));
        // A run recorded again into a sweep is moved there; notes are written on runs and
        // sweeps. Nothing else of a recorded run changes.
        sql.push_str(&format!(
            "GRANT UPDATE (sweep_id, content_hash, note) ON runs TO {role};
             GRANT UPDATE (note) ON sweeps TO {role};"
        ));
        if layout.notes_changes() {
            sql.push_str(&format!(
                "GRANT EXECUTE ON FUNCTION btdb_note(bigint[], text[]) TO {role};"
            ));
        }
    }
    if access == Access::Curator {
        sql.push_str(&format!(
            "GRANT DELETE ON {tables} TO {role};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT DELETE ON TABLES TO {role};"
        ));
    }
    // All of it or none: a grant that stops half way would leave a role that half works.
    if let Err(e) = conn.batch_execute(&format!("BEGIN; {sql} COMMIT;")).await {
        let _ = conn.batch_execute("ROLLBACK").await;
        return Err(anyhow::Error::from(e).context(format!("granting to `{name}`")));
    }
    Ok(())
}

/// Work that needs more than reading, checked before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Record,
    Delete,
}

impl Task {
    /// The privilege the task needs on every recorded table, and the role that grants it.
    fn needs(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Task::Record => ("INSERT", "record", "writer"),
            Task::Delete => ("DELETE", "delete runs", "curator"),
        }
    }
}

/// Fails, naming the role and the first privilege it lacks, when the connected role may not do
/// `task` or the server is a standby: before any work starts, so that nothing is half done.
pub async fn ensure_can(conn: &mut AsyncPgConnection, task: Task) -> Result<()> {
    #[derive(diesel::QueryableByName)]
    struct Missing {
        #[diesel(sql_type = Text)]
        role: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        missing: Option<String>,
        #[diesel(sql_type = Bool)]
        standby: bool,
    }
    let (privilege, doing, grant) = task.needs();
    let checks = RECORDED_TABLES
        .iter()
        .map(|t| {
            format!(
                "WHEN NOT has_table_privilege('{t}', '{privilege}') THEN '{privilege} on table {t}' \
                 WHEN NOT has_table_privilege('{t}', 'SELECT') THEN 'SELECT on table {t}'"
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let found = diesel::sql_query(format!(
        "SELECT current_user::text AS role, CASE {checks} END AS missing, \
         pg_is_in_recovery() AS standby"
    ))
    .get_result::<Missing>(conn)
    .await?;
    if found.standby {
        bail!(
            "the server is a read-only standby: {doing} needs the primary (--database-url); \
             reads may use the standby with --read-url"
        );
    }
    if let Some(missing) = found.missing {
        bail!(
            "the role `{}` may not {doing}: it lacks {missing}; the schema's owner can grant \
             what it needs with `btdb db grant {grant} {}`",
            found.role,
            found.role
        );
    }
    Ok(())
}
