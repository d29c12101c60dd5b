//! `btdb show`: one run, printed, and with --plot its equity curve drawn.

use anyhow::{Result, bail};

use super::GlobalArgs;
use crate::answers::frames::{Frame, Rows};
pub use crate::answers::show::Args;
use crate::answers::show::{answer, equity_points, title};
use crate::db::{Db, Reader, SchemaUse};
use crate::query::filter::Resolved;
use crate::query::run_detail::RunDetail;
use crate::report::arrow::IpcStream;
use crate::report::{self, Format, plot};

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    if global.format == Format::Arrow {
        return arrow(&args, global, &mut conn).await;
    }
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

/// The run's trades or equity curve as an Arrow stream: the tables `export --format arrow`
/// writes, for this one run.
async fn arrow(args: &Args, global: &GlobalArgs, conn: &mut Reader<'_>) -> Result<()> {
    let rows = match (args.trades, args.equity) {
        (true, false) => Rows::Trades,
        (false, true) => Rows::Equity,
        _ => bail!("--format arrow writes one table: give --trades or --equity"),
    };
    // The run looked up as `show` looks it up, with its errors for a missing one.
    let id = RunDetail::load_on(conn, &args.run_ref()?, false, false)
        .await?
        .run
        .id;
    let frame = Frame::new(rows, conn, &Resolved::default(), &[id], global.decimals).await?;
    let mut stream = IpcStream::new(frame.schema())?;
    stream.write(&frame.batch(conn, &[id]).await?)?;
    stream.finish()
}
