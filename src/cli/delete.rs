//! `btdb delete`: retract runs recorded by mistake, with everything they own.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};

use super::GlobalArgs;
use crate::answers::filter::SelectionArgs;
use crate::db::{Db, SchemaUse, roles};
use crate::query::delete;
use crate::report::{self, delete::Deletion};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Say what would go (runs, metrics, trades, equity points, and what --prune would take)
    /// and change nothing. It deletes in a transaction that it rolls back, so the counts are
    /// exact and it needs the same privileges as deleting.
    #[arg(long)]
    pub dry_run: bool,

    /// Delete without asking; needed when standard input is not a terminal.
    #[arg(long, short)]
    pub yes: bool,

    /// Also delete the parameter sets, sweeps and strategies left without any run.
    #[arg(long)]
    pub prune: bool,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    if !args.selection.selects() {
        bail!(
            "name the runs to delete: IDs, --key, --strategy, --dataset, --sweep, --tag or \
             --where (btdb deletes nothing without one)"
        );
    }
    // --where is parsed before connecting: a syntax error needs no server.
    args.selection.filter.to_filter(None)?;
    let db = Db::connect(&global.db_options(SchemaUse::Write)).await?;
    let mut conn = db.reader().await?;
    roles::ensure_can(&mut conn, roles::Task::Delete).await?;
    let selection = args.selection.resolve(&mut conn).await?;
    let ids = selection.runs(&mut conn).await?;
    if ids.is_empty() {
        selection.filter.check_parameters(&mut conn).await?;
        bail!("no run matches; nothing deleted");
    }
    if !args.dry_run && !args.yes {
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive {
            bail!(
                "deleting {} runs needs confirmation: pass --yes (standard input is not a \
                 terminal), or --dry-run to see what would go",
                ids.len()
            );
        }
        let preview = delete::delete(&mut conn, &ids, args.prune, true).await?;
        let question = format!(
            "{}\ndelete them? [y/N] ",
            Deletion::new(preview, true).describe()
        );
        if !tokio::task::spawn_blocking(move || confirm(&question)).await?? {
            bail!("cancelled; nothing deleted");
        }
    }
    let removed = delete::delete(&mut conn, &ids, args.prune, args.dry_run).await?;
    report::delete::summary(global.format, &Deletion::new(removed, args.dry_run))
}

/// Asks `question` on the terminal; true only for an answer of y or yes.
fn confirm(question: &str) -> Result<bool> {
    let mut stderr = std::io::stderr();
    stderr.write_all(question.as_bytes())?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
