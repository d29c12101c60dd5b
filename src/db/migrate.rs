//! The schema migrations, embedded in the binary and applied on first connect.

use anyhow::{Context, Result, anyhow};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Session advisory lock key held while migrating ("btdbmig" in ASCII), so that two processes
/// connecting to a fresh database at once do not both try to create the schema.
const LOCK_KEY: i64 = 0x0062_7464_626d_6967;

/// Applies every pending migration and gives the connection back with the versions applied.
pub async fn run_pending(mut conn: AsyncPgConnection) -> Result<(AsyncPgConnection, Vec<String>)> {
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(LOCK_KEY)
        .execute(&mut conn)
        .await
        .context("waiting for the migration lock")?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|e| anyhow!("applying migrations: {e}"));
    let mut conn = harness.into_inner();
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(LOCK_KEY)
        .execute(&mut conn)
        .await
        .context("releasing the migration lock")?;
    Ok((conn, applied?))
}
