//! `btdb rank`: strategies (or single runs) ranked by a metric, printed.

use anyhow::Result;

use super::GlobalArgs;
pub use crate::answers::rank::Args;
use crate::answers::rank::{Ranked, answer};
use crate::db::{Db, SchemaUse};
use crate::report;

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.conn().await?;
    let ranked = answer(&args, &mut conn, db.layout()).await?;
    let metric = &args.metric;
    report::emit(global.format, &ranked, || match &ranked {
        Ranked::Strategies(ranked) => vec![report::rank::strategy_table(ranked, args.by, metric)],
        Ranked::Runs(ranked) => vec![report::rank::run_table(ranked, metric)],
    })
}
