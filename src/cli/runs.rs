//! `btdb runs`: a page of runs, printed.

use anyhow::Result;

use super::GlobalArgs;
pub use crate::answers::runs::Args;
use crate::answers::runs::answer;
use crate::db::{Db, SchemaUse};
use crate::report;

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    let page = answer(&args, &mut conn).await?;
    report::emit(global.format, &page, || vec![page.table(&args.metrics)])
}
