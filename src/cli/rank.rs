//! `btdb rank`: strategies (or single runs) ranked by a metric, printed.

use anyhow::Result;

use super::GlobalArgs;
pub use crate::answers::rank::Args;
use crate::answers::rank::answer;
use crate::db::{Db, SchemaUse};
use crate::report;

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    let ranked = answer(&args, &mut conn).await?;
    report::emit(global.format, &ranked, || vec![ranked.table(&args)])
}
