//! `btdb delete`: retract runs recorded by mistake, with everything they own.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};

use super::GlobalArgs;
use super::filter::FilterArgs;
use crate::db::{Db, SchemaUse, roles};
use crate::models::RunId;
use crate::query::delete;
use crate::query::selection::Selection;
use crate::report::{self, delete::Deletion};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Runs by id (the number `runs` and `rank` print). Filters given as well narrow these.
    #[arg(value_name = "ID")]
    pub ids: Vec<RunId>,

    /// A run by its run_key; repeat it for several.
    #[arg(long = "key", value_name = "RUN_KEY")]
    pub keys: Vec<String>,

    /// Only runs of this strategy (name in any case, every version).
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,

    #[command(flatten)]
    pub filter: FilterArgs,

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

impl Args {
    fn selects_something(&self) -> bool {
        let f = &self.filter;
        !self.ids.is_empty()
            || !self.keys.is_empty()
            || self.strategy.is_some()
            || f.dataset.is_some()
            || f.sweep.is_some()
            || !f.tags.is_empty()
            || f.condition.is_some()
    }
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    if !args.selects_something() {
        bail!(
            "name the runs to delete: IDs, --key, --strategy, --dataset, --sweep, --tag or \
             --where (btdb deletes nothing without one)"
        );
    }
    let filter = args.filter.to_filter(args.strategy.clone())?;
    let db = Db::connect(&global.db_options(SchemaUse::Write)).await?;
    let mut conn = db.conn().await?;
    roles::ensure_can(&mut conn, roles::Task::Delete).await?;
    let selection = Selection {
        filter: filter.resolve(&mut conn).await?,
        ids: args.ids.clone(),
        keys: args.keys.clone(),
    };
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
        if !tokio::task::block_in_place(|| confirm(&question))? {
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
