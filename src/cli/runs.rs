//! `btdb runs`: a page of runs, printed; in CSV and Arrow, every run asked for, streamed.

use anyhow::Result;

use super::GlobalArgs;
pub use crate::answers::runs::Args;
use crate::answers::runs::{answer, stream};
use crate::db::{Db, Reader, SchemaUse};
use crate::query::runs::RunSummary;
use crate::report::arrow::{Decimals, IpcStream, csv_header, csv_rows};
use crate::report::sink::Behind;
use crate::report::{self, Format, thousands};

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    match global.format {
        Format::Csv | Format::Arrow => streamed(&args, global, &mut conn).await,
        format => {
            let page = answer(&args, &mut conn).await?;
            report::emit(format, &page, || vec![page.table()])
        }
    }
}

/// Every run asked for (up to --limit) in CSV or Arrow, a page at a time; a listing cut by the
/// limit says so on stderr, with the cursor of the rest. Pages are turned into tables and
/// written on a thread of their own while the next rows are read and decoded.
async fn streamed(args: &Args, global: &GlobalArgs, conn: &mut Reader<'_>) -> Result<()> {
    let decimals = match global.format {
        Format::Csv => Decimals::Text,
        _ => global.decimals,
    };
    let (mut pages, frame) = stream(args, conn, decimals).await?;
    let arrow = global.format == Format::Arrow;
    let out = match arrow {
        true => Some(IpcStream::new(frame.schema())?),
        false => {
            report::print_bytes(&csv_header(frame.schema()))?;
            None
        }
    };
    let writer = Behind::spawn((out, 0i64), move |(out, written), page: Vec<RunSummary>| {
        *written += page.len() as i64;
        if report::silenced_now() {
            return Ok(());
        }
        let batch = frame.batch(&page)?;
        match out {
            Some(stream) => stream.write(&batch),
            None => report::print_bytes(&csv_rows(&batch)),
        }
    });
    let read = pages.each(conn, |page| writer.send(page)).await;
    let (out, written) = writer.finish(read)?;
    if let Some(stream) = out {
        stream.finish()?;
    }
    if let Some(after) = pages.cut_after()
        && !global.quiet
    {
        eprintln!(
            "the first {} runs of more: --limit all for every run, or --after {after} for the next",
            thousands(written)
        );
    }
    Ok(())
}
