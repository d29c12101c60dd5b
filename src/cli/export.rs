//! `btdb export`: runs back out as the run documents that recorded them, as JSON Lines: a
//! backup any JSON reader can read, and the way to move runs to another server.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::warn;

use super::GlobalArgs;
use crate::answers::filter::SelectionArgs;
use crate::db::{Db, SchemaUse};
use crate::query::export;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Write to this file (made whole or not at all) instead of standard output.
    #[arg(short, long, value_name = "FILE.jsonl")]
    pub output: Option<PathBuf>,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    // --where is parsed before connecting: a syntax error needs no server.
    args.selection.filter.to_filter(None)?;
    // Before any query: a path that cannot be written fails first, and alone.
    let mut sink = match &args.output {
        Some(path) => Sink::file(path)?,
        None => Sink::Stdout,
    };
    let result = export(&args, global, &mut sink).await;
    match result {
        Ok(()) => sink.finish(),
        Err(e) => {
            sink.abandon();
            Err(e)
        }
    }
}

async fn export(args: &Args, global: &GlobalArgs, sink: &mut Sink) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    let selection = args.selection.resolve(&mut conn).await?;
    let ids = selection.runs(&mut conn).await?;
    if ids.is_empty() && args.selection.selects() {
        selection.filter.check_parameters(&mut conn).await?;
        bail!("no run matches; nothing exported");
    }
    let bar = progress_bar(ids.len() as u64, global.quiet);
    let exported = export::documents(&mut conn, &ids, |docs| {
        let mut text = String::new();
        for doc in &docs {
            text.push_str(&serde_json::to_string(doc)?);
            text.push('\n');
        }
        sink.write(&text)?;
        bar.inc(docs.len() as u64);
        Ok(())
    })
    .await?;
    bar.finish_and_clear();
    if exported.inferred > 0 {
        warn!(
            runs = exported.inferred,
            "runs recorded before btdb kept which metrics a document supplied: a metric btdb \
             does not compute, or whose value differs from what it computes, is written as \
             supplied"
        );
    }
    if !global.quiet {
        let to = match &args.output {
            Some(path) => format!(" to {}", path.display()),
            None => String::new(),
        };
        eprintln!("exported {}{to}", report::plural(exported.runs, "run"));
    }
    Ok(())
}

/// Where the documents go: standard output, or a file that appears only once it is whole.
enum Sink {
    Stdout,
    File {
        path: PathBuf,
        partial: PathBuf,
        writer: BufWriter<File>,
    },
}

impl Sink {
    /// A hidden file beside `path`, renamed onto it at the end.
    fn file(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .with_context(|| format!("`{}` is not a file name", path.display()))?;
        let partial = path.with_file_name(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create_new(&partial)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        Ok(Sink::File {
            path: path.to_owned(),
            partial,
            writer: BufWriter::new(file),
        })
    }

    fn write(&mut self, text: &str) -> Result<()> {
        match self {
            Sink::Stdout => report::print(text),
            Sink::File { path, writer, .. } => writer
                .write_all(text.as_bytes())
                .with_context(|| format!("writing `{}`", path.display())),
        }
    }

    fn finish(self) -> Result<()> {
        let Sink::File {
            path,
            partial,
            writer,
        } = self
        else {
            return Ok(());
        };
        let done = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&partial);
            return Err(e).with_context(|| format!("writing `{}`", path.display()));
        }
        Ok(())
    }

    /// Removes what was written: a failed export leaves no file behind.
    fn abandon(self) {
        if let Sink::File { partial, .. } = self {
            let _ = std::fs::remove_file(&partial);
        }
    }
}

/// A bar over the runs on a terminal; nothing otherwise.
fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
