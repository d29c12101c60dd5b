//! The schema migrations, embedded in the binary: applied by `btdb db migrate` (and on first use
//! of the embedded cluster), checked by every other command.

use anyhow::{Result, anyhow};
use diesel::Connection;
use diesel::sql_types::BigInt;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::layout::{Found, IS_DISTRIBUTED, Layout};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Every migration's `up.sql` by version, oldest first (listed by build.rs).
pub const SQL: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migration_sql.rs"));

/// Advisory lock key held while migrating ("btdbmig" in ASCII), so that two processes
/// connecting to a fresh database at once do not both try to create the schema.
const LOCK_KEY: i64 = 0x0062_7464_626d_6967;

/// Applies every pending migration and gives the connection back with the versions applied.
///
/// Everything happens in one transaction that first takes a transaction-scoped lock: all
/// pending migrations land or none does, and the lock holds exactly as long as the work, even
/// behind a pooler in transaction mode, which gives each transaction whichever server session
/// is free (a session lock could be taken on one and released on another).
pub async fn run_pending(mut conn: AsyncPgConnection) -> Result<(AsyncPgConnection, Vec<String>)> {
    #[derive(diesel::QueryableByName)]
    struct Recovery {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        standby: bool,
    }
    let recovery: Recovery = diesel::sql_query("SELECT pg_is_in_recovery() AS standby")
        .get_result(&mut conn)
        .await?;
    if recovery.standby {
        anyhow::bail!(
            "the server is a read-only standby: db migrate needs the primary (--database-url)"
        );
    }
    let mut sync: AsyncConnectionWrapper<AsyncPgConnection> = conn.into();
    // The wrapper blocks on the runtime, so it runs on a blocking thread while the runtime's
    // own thread, of either flavour, drives the connection.
    let (sync, applied) = tokio::task::spawn_blocking(move || {
        let applied = sync.transaction(|conn| -> Result<Vec<String>, MigrationError> {
            diesel::RunQueryDsl::execute(
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(LOCK_KEY),
                conn,
            )?;
            let distributed: Found = diesel::RunQueryDsl::get_result(
                diesel::sql_query(format!("SELECT {IS_DISTRIBUTED} AS found")),
                conn,
            )?;
            if distributed.found {
                let applied: Vec<String> = conn
                    .applied_migrations()?
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let pending: Vec<(&str, &str)> = SQL
                    .iter()
                    .filter(|(version, _)| !applied.iter().any(|a| a == version))
                    .copied()
                    .collect();
                return apply_statementwise(conn, &pending);
            }
            let versions = conn.run_pending_migrations(MIGRATIONS)?;
            Ok(versions.iter().map(ToString::to_string).collect())
        });
        (sync, applied)
    })
    .await?;
    let applied = applied.map_err(|e| anyhow!("applying migrations: {e}"))?;
    Ok((sync.into_inner(), applied))
}

type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies `pending` (version, SQL) one statement at a time, recording each version as Diesel
/// does: on Citus a statement it cannot run (a trigger on a distributed table, a unique
/// constraint without the distribution column) is named in the error. Run inside the
/// migration transaction, so that such an error leaves the schema as it was.
///
/// Over one connection per node: Citus refuses DDL on a reference table (a new foreign key to
/// `strategies`) in a transaction that changed a distributed table over parallel connections,
/// as an earlier migration of the same transaction may have.
pub fn apply_statementwise<C>(
    conn: &mut C,
    pending: &[(&str, &str)],
) -> Result<Vec<String>, MigrationError>
where
    C: diesel::Connection<Backend = diesel::pg::Pg>,
{
    conn.batch_execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")?;
    for (version, sql) in pending {
        for statement in super::statements::split(sql) {
            conn.batch_execute(statement).map_err(|e| {
                format!(
                    "migration {version} cannot run on this Citus cluster, so none was applied: \
                     `{}`: {e}",
                    super::layout::first_line(statement)
                )
            })?;
        }
        diesel::RunQueryDsl::execute(
            diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ($1)")
                .bind::<diesel::sql_types::Text, _>(*version),
            conn,
        )?;
    }
    Ok(pending.iter().map(|(v, _)| (*v).to_owned()).collect())
}

/// What a command needs of the schema, which decides what connecting does with migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaUse {
    /// Reads: a schema behind this btdb is an error, one ahead of it a warning.
    #[default]
    Read,
    /// Records: the schema must be exactly this btdb's.
    Write,
    /// `btdb db migrate`: applies what is pending.
    Migrate,
    /// `btdb db status`: looks, and neither applies nor fails.
    Inspect,
}

/// Where a database's schema stands against the migrations embedded in this btdb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    Current,
    /// Migrations of this btdb not applied yet; `at` is the newest applied (none: no schema).
    Behind {
        at: Option<String>,
        needs: String,
        pending: usize,
    },
    /// Migrations applied by a newer btdb that this one does not know.
    Ahead {
        at: String,
        knows: String,
    },
}

impl SchemaState {
    /// What is wrong for `usage`, as the one line to print; `None` when the command may go on.
    pub fn problem(&self, usage: SchemaUse) -> Option<String> {
        match (self, usage) {
            (SchemaState::Current, _) | (_, SchemaUse::Migrate | SchemaUse::Inspect) => None,
            (SchemaState::Behind { at: None, .. }, _) => Some(
                "the database has no btdb schema yet: run `btdb db migrate` as the role that \
                 should own it"
                    .to_owned(),
            ),
            (
                SchemaState::Behind {
                    at: Some(at),
                    needs,
                    ..
                },
                _,
            ) => Some(format!(
                "the database is at migration {at}; this btdb needs {needs}: run `btdb db \
                 migrate` as the schema's owner"
            )),
            (SchemaState::Ahead { .. }, SchemaUse::Read) => None,
            (SchemaState::Ahead { at, knows }, SchemaUse::Write) => Some(format!(
                "the database is at migration {at}, newer than this btdb knows ({knows}): \
                 upgrade btdb before recording"
            )),
        }
    }
}

impl std::fmt::Display for SchemaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaState::Current => f.write_str("up to date"),
            SchemaState::Behind { at: None, .. } => f.write_str("no btdb schema (btdb db migrate)"),
            SchemaState::Behind {
                at: Some(at),
                pending,
                ..
            } => write!(
                f,
                "at migration {at}, {pending} behind this btdb (btdb db migrate)"
            ),
            SchemaState::Ahead { at, knows } => {
                write!(f, "at migration {at}, ahead of this btdb ({knows})")
            }
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Applied {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    distributed: bool,
}

/// The versions of this btdb's migrations, oldest first, as the migrations table stores them.
fn embedded_versions() -> Result<Vec<String>> {
    let migrations = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| anyhow!("reading the embedded migrations: {e}"))?;
    let mut versions: Vec<String> = migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    versions.sort();
    Ok(versions)
}

/// Where the schema stands, from one read of the migrations table (and, only when that read
/// fails, a second asking whether the table exists). Writes nothing: readers may not.
/// The same read tells the layout: only the distributed one has `run_keys`.
pub async fn state(conn: &mut AsyncPgConnection) -> Result<(SchemaState, Layout)> {
    let ours = embedded_versions()?;
    let read = diesel::sql_query(format!(
        "SELECT version::text AS version, {IS_DISTRIBUTED} AS distributed \
         FROM __diesel_schema_migrations"
    ))
    .load::<Applied>(conn)
    .await;
    let mut layout = Layout::Single;
    let applied: std::collections::BTreeSet<String> = match read {
        Ok(rows) => {
            if rows.iter().any(|r| r.distributed) {
                layout = Layout::Distributed;
            }
            rows.into_iter().map(|r| r.version).collect()
        }
        Err(e) => {
            #[derive(diesel::QueryableByName)]
            struct Exists {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                exists: bool,
            }
            let exists = diesel::sql_query(
                "SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS exists",
            )
            .get_result::<Exists>(conn)
            .await
            .map(|e| e.exists)
            .unwrap_or(true);
            if exists {
                return Err(anyhow::Error::from(e).context("reading the schema's migrations"));
            }
            Default::default()
        }
    };
    let newest = |versions: &mut dyn Iterator<Item = &String>| versions.max().cloned();
    let knows = newest(&mut ours.iter()).unwrap_or_default();
    let unknown: Vec<&String> = applied.iter().filter(|v| !ours.contains(v)).collect();
    if let Some(at) = newest(&mut unknown.into_iter()) {
        return Ok((SchemaState::Ahead { at, knows }, layout));
    }
    let pending = ours.iter().filter(|v| !applied.contains(*v)).count();
    if pending > 0 {
        let at = newest(&mut applied.iter());
        return Ok((
            SchemaState::Behind {
                at,
                needs: knows,
                pending,
            },
            layout,
        ));
    }
    Ok((SchemaState::Current, layout))
}
