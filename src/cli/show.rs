//! `btdb show`: one run, printed, and with --plot its equity curve drawn.

use anyhow::Result;

use super::GlobalArgs;
pub use crate::answers::show::Args;
use crate::answers::show::{answer, equity_points, title};
use crate::db::{Db, SchemaUse};
use crate::query::run_detail::RunDetail;
use crate::report::{self, plot};

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    let detail = answer(&args, &mut conn).await?;
    if let Some(path) = &args.plot {
        let points = equity_points(detail.equity.as_deref().unwrap_or_default());
        plot::save(path, &plot::equity(&title(&detail), &points)?)?;
    }
    let detail = RunDetail {
        equity: detail.equity.filter(|_| args.equity),
        ..detail
    };
    report::emit_text(global.format, &detail, || report::show::text(&detail))
}
