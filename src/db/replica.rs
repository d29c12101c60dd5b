//! Hot standbys for the read commands: how far one has replayed the primary's writes, and
//! waiting until it has replayed a given position.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<Text>)]
    lsn: Option<String>,
}

/// The primary's current write position (a WAL LSN such as `0/3000148`).
pub async fn primary_position(conn: &mut AsyncPgConnection) -> Result<String> {
    let position: Position = diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn")
        .get_result(conn)
        .await?;
    position
        .lsn
        .ok_or_else(|| anyhow::anyhow!("the primary reports no WAL position"))
}

/// How far a standby is from a position of the primary.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Whether the server is a standby at all (a primary has replayed everything).
    pub in_recovery: bool,
    /// Bytes of the primary's WAL up to the position that it has not replayed yet.
    pub behind_bytes: i64,
    /// Seconds since the last transaction it replayed committed on the primary.
    pub last_replayed_age: Option<f64>,
}

#[derive(diesel::QueryableByName)]
struct ReplayRow {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    in_recovery: bool,
    #[diesel(sql_type = Nullable<diesel::sql_types::BigInt>)]
    behind: Option<i64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    age: Option<f64>,
}

/// Where the standby `conn` stands against the primary's position `lsn`.
pub async fn replay(conn: &mut AsyncPgConnection, lsn: &str) -> Result<Replay> {
    let row: ReplayRow = diesel::sql_query(
        "SELECT pg_is_in_recovery() AS in_recovery,
                greatest(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::int8 AS behind,
                extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS age",
    )
    .bind::<Text, _>(lsn)
    .get_result(conn)
    .await?;
    Ok(Replay {
        in_recovery: row.in_recovery,
        behind_bytes: if row.in_recovery {
            row.behind.unwrap_or(0)
        } else {
            0
        },
        last_replayed_age: row.age.filter(|_| row.in_recovery),
    })
}

/// Waits until the standby has replayed the primary's position `lsn`, polling, for at most
/// `wait`; past it, fails with the lag rather than let stale rows be read.
pub async fn wait_for(conn: &mut AsyncPgConnection, lsn: &str, wait: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let replay = replay(conn, lsn).await?;
        if replay.behind_bytes == 0 {
            return Ok(());
        }
        if started.elapsed() >= wait {
            bail!(
                "the standby has not replayed the primary's writes within {}s: {} bytes behind{}; \
                 read from the primary, or wait longer with --read-your-writes SECONDS",
                wait.as_secs_f64(),
                replay.behind_bytes,
                replay
                    .last_replayed_age
                    .map(|age| format!(", its last replayed transaction {age:.1}s old"))
                    .unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
