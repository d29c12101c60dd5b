//! `btdb export`: runs back out. As JSON Lines, the run documents that recorded them: a backup
//! any JSON reader can read, and the way to move runs to another server. As Parquet (a
//! directory of runs, trades and equity) or an Arrow stream (one of them), typed tables for
//! DataFrame libraries and query engines.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tracing::warn;

use super::GlobalArgs;
use crate::answers::filter::SelectionArgs;
use crate::answers::frames::{Frame, Rows};
use crate::db::{Db, Reader, SchemaUse};
use crate::models::RunId;
use crate::query::export;
use crate::query::selection::Selection;
use crate::report::arrow::IpcStream;
use crate::report::sink::PartialFile;
use crate::report::{self, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// With --format arrow: which table to write (Parquet writes all three).
    #[arg(long, value_enum, default_value_t = Rows::Runs)]
    pub table: Rows,
}

/// Rows per Parquet row group: large enough for scans to skip little, small enough to write in
/// bounded memory.
const ROW_GROUP: usize = 1 << 18;

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    // --where is parsed before connecting: a syntax error needs no server.
    args.selection.filter.to_filter(None)?;
    let directory = match (global.format, &global.output) {
        (Format::Parquet, Some(dir)) => Some(dir.as_path()),
        (Format::Parquet, None) => {
            bail!(
                "--format parquet writes runs.parquet, trades.parquet and equity.parquet: give -o DIR"
            )
        }
        (Format::Csv, _) => {
            bail!("export writes JSON Lines (the default), --format arrow or --format parquet")
        }
        _ => None,
    };
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    let selection = args.selection.resolve(&mut conn).await?;
    let ids = selection.runs(&mut conn).await?;
    if ids.is_empty() && args.selection.selects() {
        selection.filter.check_parameters(&mut conn).await?;
        bail!("no run matches; nothing exported");
    }
    let bar = progress_bar(ids.len() as u64, global.quiet);
    let exported = match (global.format, directory) {
        (Format::Parquet, Some(dir)) => {
            parquet(&mut conn, &selection, &ids, global, dir, &bar).await?
        }
        (Format::Arrow, _) => arrow(&mut conn, &selection, &ids, global, args.table, &bar).await?,
        _ => documents(&mut conn, &ids, &bar).await?,
    };
    bar.finish_and_clear();
    if !global.quiet {
        let to = match &global.output {
            Some(path) => format!(" to {}", path.display()),
            None => String::new(),
        };
        eprintln!("exported {}{to}", report::plural(exported, "run"));
    }
    Ok(())
}

/// The runs as run documents, one JSON line each.
async fn documents(conn: &mut Reader<'_>, ids: &[RunId], bar: &ProgressBar) -> Result<u64> {
    let exported = export::documents(conn, ids, |docs| {
        let mut text = String::new();
        for doc in &docs {
            text.push_str(&serde_json::to_string(doc)?);
            text.push('\n');
        }
        report::print(&text)?;
        bar.inc(docs.len() as u64);
        Ok(())
    })
    .await?;
    if exported.inferred > 0 {
        warn!(
            runs = exported.inferred,
            "runs recorded before btdb kept which metrics a document supplied: a metric btdb \
             does not compute, or whose value differs from what it computes, is written as \
             supplied"
        );
    }
    Ok(exported.runs)
}

/// One table of the runs as an Arrow stream.
async fn arrow(
    conn: &mut Reader<'_>,
    selection: &Selection,
    ids: &[RunId],
    global: &GlobalArgs,
    rows: Rows,
    bar: &ProgressBar,
) -> Result<u64> {
    let frame = Frame::new(rows, conn, &selection.filter, ids, global.decimals).await?;
    let stream = IpcStream::new(frame.schema())?;
    let bar = bar.clone();
    let stream = frame
        .each_page(conn, ids, stream, move |stream, batch, runs| {
            stream.write(batch)?;
            bar.inc(runs as u64);
            Ok(())
        })
        .await?;
    stream.finish()?;
    Ok(ids.len() as u64)
}

/// `runs.parquet`, `trades.parquet` and `equity.parquet` in `dir`, which appear together once
/// all three are whole.
async fn parquet(
    conn: &mut Reader<'_>,
    selection: &Selection,
    ids: &[RunId],
    global: &GlobalArgs,
    dir: &Path,
    bar: &ProgressBar,
) -> Result<u64> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make `{}`", dir.display()))?;
    let mut written = Vec::new();
    for rows in Rows::ALL {
        let path = dir.join(format!("{}.parquet", rows.name()));
        let file = PartialFile::create(&path)?;
        match parquet_file(conn, selection, ids, global, rows, file, bar).await {
            Ok(file) => written.push(file),
            Err(e) => {
                written.into_iter().for_each(PartialFile::abandon);
                return Err(e);
            }
        }
    }
    for file in written {
        file.finish()?;
    }
    Ok(ids.len() as u64)
}

/// One table of the runs written to `file`, returned for renaming.
async fn parquet_file(
    conn: &mut Reader<'_>,
    selection: &Selection,
    ids: &[RunId],
    global: &GlobalArgs,
    rows: Rows,
    file: PartialFile,
    bar: &ProgressBar,
) -> Result<PartialFile> {
    let frame = Frame::new(rows, conn, &selection.filter, ids, global.decimals).await?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let path = file.path().to_owned();
    let writer = ArrowWriter::try_new(file, frame.schema().clone(), Some(properties))
        .map_err(|e| failed(&path, e))?;
    bar.set_position(0);
    bar.set_message(rows.name());
    let bar = bar.clone();
    let on = path.clone();
    let writer = frame
        .each_page(conn, ids, writer, move |writer, batch, runs| {
            writer.write(batch).map_err(|e| failed(&on, e))?;
            bar.inc(runs as u64);
            Ok(())
        })
        .await?;
    writer.into_inner().map_err(|e| failed(&path, e))
}

/// A Parquet writer's error, saying which file it was writing.
fn failed(path: &Path, e: parquet::errors::ParquetError) -> anyhow::Error {
    anyhow::Error::new(e).context(format!("writing `{}`", path.display()))
}

/// A bar over the runs on a terminal; nothing otherwise.
fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} runs {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
