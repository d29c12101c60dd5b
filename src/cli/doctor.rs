//! `btdb doctor`: how the database is doing — index use, table sizes, dead tuples, cache hits,
//! slowest statements.

use anyhow::Result;

use super::GlobalArgs;
use crate::db::{Db, SchemaUse};
use crate::query::health;
use crate::report::{self, doctor::Health};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Slowest statements shown.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub slowest: i64,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.conn().await?;
    let (slowest, unavailable) = match health::slow_statements(&mut conn, args.slowest).await? {
        Ok(rows) => (Some(rows), None),
        Err(reason) => (None, Some(reason)),
    };
    let report = Health {
        database: db.target().to_owned(),
        indexes: health::index_use(&mut conn).await?,
        tables: health::table_sizes(&mut conn).await?,
        cache: health::cache_hits(&mut conn).await?,
        slowest_statements: slowest,
        statements_unavailable: unavailable,
    };
    report::emit(global.format, &report, || report.tables())
}
