//! `btdb runs`: a page of runs, printed; in CSV and Arrow, every run asked for, streamed.

use anyhow::Result;

use super::GlobalArgs;
pub use crate::answers::runs::Args;
use crate::answers::runs::{answer, stream};
use crate::db::{Db, Reader, SchemaUse};
use crate::query::runs::RunSummary;
use crate::report::arrow::{Decimals, IpcStream, csv_header, csv_rows};
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
    let silenced = report::silenced_now();
    // Two pages in flight at most: memory stays a few pages whatever the listing's size.
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<RunSummary>>(1);
    let writer = std::thread::spawn(move || -> Result<i64> {
        let mut out = match arrow {
            true => Some(IpcStream::new(frame.schema())?),
            false => {
                if !silenced {
                    report::print_bytes(&csv_header(frame.schema()))?;
                }
                None
            }
        };
        let mut written = 0i64;
        for page in receive {
            written += page.len() as i64;
            if silenced {
                continue;
            }
            let batch = frame.batch(&page)?;
            match &mut out {
                Some(stream) => stream.write(&batch)?,
                None => report::print_bytes(&csv_rows(&batch))?,
            }
        }
        if let Some(stream) = out
            && !silenced
        {
            stream.finish()?;
        }
        Ok(written)
    });
    // A writer that stopped (an error, a closed pipe) drops its end: reading stops, and its
    // outcome is the command's.
    let read = pages
        .each(conn, |page| {
            send.send(page)
                .map_err(|_| anyhow::anyhow!("the writer stopped"))
        })
        .await;
    drop(send);
    let written = match writer.join() {
        Ok(outcome) => outcome?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    read?;
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
