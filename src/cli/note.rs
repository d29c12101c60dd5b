//! `btdb note`: a short text on a run or a sweep, what an analyst wants to remember of it;
//! shown by `show` and the pages, found with `--note TEXT`.

use anyhow::{Result, bail};
use clap::ArgGroup;

use super::GlobalArgs;
use crate::db::{Db, SchemaUse};
use crate::models::RunId;
use crate::query::note;
use crate::query::run_detail::{RunDetail, RunRef};

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "key", "sweep"])))]
pub struct Args {
    /// The run's id.
    #[arg(value_name = "ID")]
    pub id: Option<i64>,

    /// The run by its run_key instead.
    #[arg(long, value_name = "RUN_KEY")]
    pub key: Option<String>,

    /// The sweep of this name instead of a run.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["id", "key"])]
    pub sweep: Option<String>,

    /// The note (at most 10,000 characters), in place of the one there; `-` reads it from
    /// standard input. Without it (and without --clear), the note there is printed.
    #[arg(long, short, value_name = "TEXT", conflicts_with = "clear")]
    pub text: Option<String>,

    /// Remove the note.
    #[arg(long)]
    pub clear: bool,
}

/// What a note is written on.
enum Subject {
    Run(RunRef),
    Sweep(String),
}

impl Args {
    fn subject(&self) -> Subject {
        match (&self.sweep, &self.key, self.id) {
            (Some(sweep), ..) => Subject::Sweep(sweep.clone()),
            (None, Some(key), _) => Subject::Run(RunRef::Key(key.clone())),
            // clap requires one of the three.
            (None, None, id) => Subject::Run(RunRef::Id(RunId(id.unwrap_or_default()))),
        }
    }
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let text = match args.text.as_deref() {
        Some("-") => Some(std::io::read_to_string(std::io::stdin())?),
        other => other.map(str::to_owned),
    };
    // Some(new note, or None to clear), or None to print the one there.
    let change = match (&text, args.clear) {
        (Some(text), _) => match note::checked(text)? {
            Some(text) => Some(Some(text)),
            None => bail!("--text is empty; --clear removes a note"),
        },
        (None, true) => Some(None),
        (None, false) => None,
    };
    let schema = match change {
        Some(_) => SchemaUse::Write,
        None => SchemaUse::Read,
    };
    let db = Db::connect(&global.db_options(schema)).await?;
    let mut conn = db.reader().await?;
    match (args.subject(), change) {
        (Subject::Sweep(name), Some(new)) => note::on_sweep(&mut conn, &name, new.as_deref()).await,
        (Subject::Sweep(name), None) => print(note::of_sweep(&mut conn, &name).await?),
        (Subject::Run(run), change) => {
            let detail = RunDetail::load_on(&mut conn, &run, false, false).await?;
            match change {
                Some(new) => note::on_run(&mut conn, detail.run.id, new.as_deref()).await,
                None => print(detail.note),
            }
        }
    }
}

fn print(note: Option<String>) -> Result<()> {
    if let Some(text) = note {
        println!("{text}");
    }
    Ok(())
}
