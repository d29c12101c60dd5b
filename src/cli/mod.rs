//! The command line: global options, the subcommand enum and its one dispatching `match`.

pub mod compare;
pub mod completions;
pub mod db;
pub mod delete;
pub mod demo;
pub mod doctor;
pub mod explain;
pub mod export;
pub mod generate;
pub mod help;
pub mod import;
pub mod man;
pub mod note;
pub mod rank;
pub mod record;
pub mod runs;
pub mod schema;
pub mod serve;
pub mod show;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::answers::frames::Rows;
use crate::db::error::{self, ServerError};
use crate::db::roles::Access;
use crate::db::timing::QueryStats;
use crate::db::{DbOptions, SchemaUse};
use crate::metrics::pbo::PboMetric;
use crate::models::RunStatus;
use crate::query::rank::By;
pub use crate::report::Format;
use crate::report::arrow::{ClosedPipe, Decimals};
use crate::report::sink;

/// btdb keeps backtest results in PostgreSQL: record runs, rank strategies, compare sweeps.
///
/// With no DATABASE_URL, btdb runs its own PostgreSQL cluster under BTDB_HOME (default: the
/// user's data directory; /var/lib/btdb for root), created and started on first use.
#[derive(Debug, Parser)]
#[command(
    name = "btdb",
    version,
    propagate_version = true,
    max_term_width = 100,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes, listed after the subcommand's own in its help. Values from
/// the environment are never shown: they may hold a password, and an unset one would read as
/// an empty value.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// PostgreSQL server to use instead of the embedded cluster, e.g.
    /// postgres://user:password@host:5432/btdb
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// A hot standby of that server for the read commands (rank, compare, runs, show, export,
    /// explain, doctor); record, delete, db migrate and db grant still use --database-url.
    #[arg(
        long,
        env = "BTDB_READ_URL",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub read_url: Option<String>,

    /// With --read-url: before reading, wait until the standby has replayed everything the
    /// primary had written (up to SECONDS, default 10, given as --read-your-writes=SECONDS);
    /// past that, fail with the lag instead of reading stale rows.
    // The value needs `=`: a bare flag must not take the subcommand after it as its value.
    #[arg(long, global = true, value_name = "SECONDS", num_args = 0..=1, require_equals = true,
          default_missing_value = "10", value_parser = parse_seconds, requires = "read_url")]
    pub read_your_writes: Option<f64>,

    /// Most connections btdb opens at once [default: 4; 12 for `serve`]
    #[arg(long, env = "BTDB_POOL_SIZE", global = true, hide_env_values = true,
          value_parser = clap::value_parser!(u32).range(1..=512))]
    pub pool_size: Option<u32>,

    /// Seconds to wait for a connection before giving up.
    #[arg(long, env = "BTDB_CONNECT_TIMEOUT", global = true, default_value_t = 10.0,
          hide_env_values = true, value_parser = parse_seconds)]
    pub connect_timeout: f64,

    /// More diagnostics on stderr (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr, and no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log statements slower than this many milliseconds as warnings (0: every statement).
    #[arg(
        long,
        env = "BTDB_SLOW_MS",
        global = true,
        default_value_t = 1000,
        hide_env_values = true
    )]
    pub slow_ms: u64,

    /// Seconds after which the server cancels a statement (default: no limit).
    #[arg(long, env = "BTDB_STATEMENT_TIMEOUT", global = true, hide_env_values = true,
          value_parser = parse_seconds)]
    pub statement_timeout: Option<f64>,

    /// Print the number of queries and the time spent in the database on stderr at the end.
    #[arg(long, global = true)]
    pub timings: bool,

    /// How results are printed on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the results to FILE instead of stdout; it appears only once the command has
    /// succeeded. With `export --format parquet`, a directory.
    #[arg(short, long, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Prices, quantities, capital and equity in Arrow and Parquet: exact decimals, or floats.
    #[arg(long, global = true, value_enum, default_value_t = Decimals::Exact)]
    pub decimals: Decimals,

    /// Colour in log lines on stderr: auto colours only a terminal, and not when NO_COLOR is
    /// set.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,

    /// Statement counts and times of this command, for --timings.
    #[arg(skip)]
    pub stats: Arc<QueryStats>,
}

/// clap's names for an enum of a lower layer, which knows nothing of the command line.
macro_rules! value_enum {
    ($ty:ty { $($variant:ident => $name:literal: $help:literal),+ $(,)? }) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$ty>::$variant),+]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $(<$ty>::$variant => clap::builder::PossibleValue::new($name).help($help)),+
                })
            }
        }
    };
}

/// When log lines on stderr are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

value_enum!(Color {
    Auto => "auto": "On a terminal, unless NO_COLOR is set",
    Always => "always": "Always, even into a file or pipe",
    Never => "never": "Never",
});

impl Color {
    /// Whether to colour a stream, `terminal` telling whether it is one and `no_color` whether
    /// NO_COLOR is set (and not empty, as no-color.org says), which turns auto off.
    pub fn enabled(self, terminal: bool, no_color: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && !no_color,
        }
    }
}

value_enum!(Format {
    Table => "table": "Aligned text for people",
    Json => "json": "JSON for programs (docs/json-output.md documents its shape)",
    Csv => "csv": "CSV with a header line",
    Arrow => "arrow": "An Arrow IPC stream of typed columns (runs, rank, compare, show, export)",
    Parquet => "parquet": "Parquet files in the -o directory (export)",
});

value_enum!(Rows {
    Runs => "runs": "One row per run: its fields, params.KEY and metrics.NAME",
    Trades => "trades": "One row per trade, by run and entry time",
    Equity => "equity": "One row per equity point, by run and time",
});

value_enum!(Decimals {
    Exact => "exact": "decimal128 at the values' largest scale: every digit",
    Float => "float": "float64, the nearest double",
    Text => "text": "Their text as stored",
});

value_enum!(By {
    Best => "best": "Its best run",
    Mean => "mean": "The mean over its runs",
    Median => "median": "The median over its runs",
    Worst => "worst": "Its worst run",
    Count => "count": "How many runs have the metric",
});

value_enum!(Access {
    Reader => "reader": "SELECT on btdb's tables: every read command",
    Writer => "writer": "A reader that may also record (INSERT, the id sequences)",
    Curator => "curator": "A writer that may also delete runs (DELETE)",
});

value_enum!(PboMetric {
    Sharpe => "sharpe": "Mean over sample standard deviation of the per-period returns",
    Mean => "mean": "The mean per-period return",
});

value_enum!(RunStatus {
    Completed => "completed": "Runs that completed",
    Failed => "failed": "Runs that failed",
    Pruned => "pruned": "Runs an optimizer stopped early (Optuna's pruned trials)",
});

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "`{text}` is not a number of seconds between 0 and 86400"
        )),
    }
}

/// Connections a command opens at most unless --pool-size says otherwise.
const POOL_SIZE: u32 = 4;

impl GlobalArgs {
    /// Most connections a command opens: --pool-size, or 4.
    pub fn pool_size(&self) -> u32 {
        self.pool_size_or(POOL_SIZE)
    }

    /// --pool-size, or `default` where it is not given.
    pub fn pool_size_or(&self, default: u32) -> u32 {
        self.pool_size.unwrap_or(default)
    }

    /// How to reach the database for a command that uses the schema as `schema` says.
    pub fn db_options(&self, schema: SchemaUse) -> DbOptions {
        DbOptions {
            database_url: self.database_url.clone().filter(|u| !u.is_empty()),
            pool_size: self.pool_size(),
            connect_timeout: Duration::from_secs_f64(self.connect_timeout),
            slow_query: Duration::from_millis(self.slow_ms),
            stats: self.stats.clone(),
            statement_timeout: self.statement_timeout.map(Duration::from_secs_f64),
            schema,
            read_url: self.read_url.clone().filter(|u| !u.is_empty()),
            read_your_writes: self.read_your_writes.map(Duration::from_secs_f64),
        }
    }

    /// The default tracing filter for these flags; `requests` logs each request a server
    /// answers (info) without -v.
    pub fn log_filter(&self, requests: bool) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) if requests => "btdb::serve=info,warn",
            (false, 0) => "warn",
            (false, 1) => "btdb=debug,warn",
            (false, _) => "btdb=trace,info",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Backtest a parameter sweep of three strategies on synthetic markets, record it, rank it,
    /// check it out of sample and draw its heatmap: btdb end to end, with no setup.
    Demo(demo::Args),
    /// Manage the database: the embedded cluster, migrations, its URL.
    Db(db::Args),
    /// Record backtest runs from run documents (JSON, JSON arrays, JSON Lines).
    Record(record::Args),
    /// Record runs from another tool's own output: Freqtrade's backtest results, an MLflow
    /// tracking store.
    Import(import::Args),
    /// List runs with their parameters and metrics, newest first, a page at a time.
    Runs(runs::Args),
    /// Delete runs recorded by mistake, with their metrics, trades and equity curves, in one
    /// transaction (--dry-run to see what would go; needs the curator role or the owner's).
    Delete(delete::Args),
    /// Write runs back out as the run documents that recorded them (JSON Lines): a backup any
    /// JSON reader can read, and what `btdb record` takes on another server. With no id, key
    /// or filter, every run.
    Export(export::Args),
    /// Show one run: parameters, metrics, trade summary; --trades, --equity, --plot.
    Show(show::Args),
    /// Write, print or clear the note on a run or a sweep: what an analyst wants to remember
    /// of it (shown by show and the pages, found with --note TEXT).
    Note(note::Args),
    /// Rank strategies (or runs with --runs) by a metric; --deflated for the deflated Sharpe.
    Rank(rank::Args),
    /// Compare one strategy's parameter sweep: by parameter (--x, --y, --plot), or in sample
    /// against out of sample (--is, --oos).
    Compare(compare::Args),
    /// Serve the read commands as web pages and JSON (rank, compare, runs, show, runs side by
    /// side), read-only, e.g. `btdb serve` then open http://127.0.0.1:8080/.
    Serve(serve::Args),
    /// How the database is doing: index use (unused ones flagged), table and partition sizes,
    /// dead tuples, cache hit ratio, and the slowest statements (pg_stat_statements).
    Doctor(doctor::Args),
    /// Show the plan of every query a read command runs (EXPLAIN ANALYZE, BUFFERS), e.g.
    /// `btdb explain rank --metric sharpe`.
    Explain(explain::Args),
    /// Generate deterministic run documents for benchmarks and trials: JSON Lines, or straight
    /// into the database with --record.
    #[command(name = "gen")]
    Generate(generate::Args),
    /// Print the JSON Schema of the run document (docs/run-document.md describes it).
    Schema(schema::Args),
    /// Print a shell's completion script: bash, zsh, fish, elvish or powershell.
    Completions(completions::Args),
    /// Print btdb's manual page.
    Man(man::Args),
    /// Print the help of btdb or of a subcommand (the same as `btdb COMMAND --help`).
    Help(help::Args),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let started = Instant::now();
    let global = &cli.global;
    // Parquet is a directory of files, which export writes itself.
    match (&global.output, global.format) {
        (Some(_), Format::Parquet) => {}
        (Some(path), _) => sink::redirect(path)?,
        (None, Format::Arrow) if std::io::stdout().is_terminal() => anyhow::bail!(
            "--format arrow writes binary: give -o FILE, or pipe it to a reader (pyarrow, polars)"
        ),
        (None, _) => {}
    }
    let result = match cli.command {
        Command::Demo(args) => demo::run(args, global).await,
        Command::Db(args) => db::run(args, global).await,
        Command::Record(args) => record::run(args, global).await,
        Command::Import(args) => import::run(args, global).await,
        Command::Runs(args) => runs::run(args, global).await,
        Command::Delete(args) => delete::run(args, global).await,
        Command::Export(args) => export::run(args, global).await,
        Command::Show(args) => show::run(args, global).await,
        Command::Note(args) => note::run(args, global).await,
        Command::Rank(args) => rank::run(args, global).await,
        Command::Compare(args) => compare::run(args, global).await,
        Command::Serve(args) => serve::run(args, global).await,
        Command::Doctor(args) => doctor::run(args, global).await,
        Command::Explain(args) => explain::run(args, global).await,
        Command::Generate(args) => generate::run(args, global).await,
        Command::Schema(args) => schema::run(args).await,
        Command::Completions(args) => completions::run(args).await,
        Command::Man(args) => man::run(args).await,
        Command::Help(args) => help::run(args).await,
    };
    // A reader that closed the pipe took what it wanted.
    let result = match result {
        Err(e) if e.is::<ClosedPipe>() => Ok(()),
        other => other,
    };
    let finished = sink::finish(result.is_ok());
    let result = result.and(finished);
    if global.timings {
        eprintln!(
            "timings: {} queries, {:.1} ms in the database, {:.1} ms in all",
            global.stats.count(),
            global.stats.elapsed().as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    result.map_err(|e| with_hint(e, global.statement_timeout))
}

/// The error with what the user can do about it, where btdb knows.
fn with_hint(e: anyhow::Error, statement_timeout: Option<f64>) -> anyhow::Error {
    match (error::kind_in(&e), statement_timeout) {
        (Some(ServerError::StatementTimeout), Some(limit)) => e.context(format!(
            "a query ran longer than --statement-timeout {limit}s and was cancelled; raise it or \
             narrow the command"
        )),
        (Some(ServerError::StatementTimeout), None) => e.context(
            "a query ran longer than the server's statement_timeout and was cancelled; narrow \
             the command or raise it with --statement-timeout",
        ),
        (Some(ServerError::InsufficientPrivilege), _) => {
            e.context("the database role lacks a privilege this command needs")
        }
        (Some(ServerError::SessionLost), _) => e.context(
            "btdb's session changed between two statements, as it does behind a connection \
             pooler in transaction mode (PgBouncer pool_mode = transaction): connect btdb to the \
             server's own port, to a pool with pool_mode = session, or through PgBouncer 1.21 or \
             later with max_prepared_statements above 0",
        ),
        (Some(ServerError::ReadOnly), _) => e.context(
            "the server is a read-only standby: record, delete, db migrate and db grant need the \
             primary (--database-url); reads may use it with --read-url",
        ),
        // A server started before its PostgreSQL package was upgraded loads the new package's
        // libraries into the old binary.
        _ if format!("{e:#}").contains("could not load library") => e.context(
            "the server could not load one of its own libraries, as happens when PostgreSQL was \
             upgraded while the server ran: restart it (the embedded one: `btdb db stop`, then \
             run the command again)",
        ),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_optional_value_never_swallows_the_next_word() {
        let cli = Cli::try_parse_from(["btdb", "--read-url", "x", "--read-your-writes", "runs"])
            .expect("the flag alone, then the subcommand");
        assert_eq!(cli.global.read_your_writes, Some(10.0));
        assert!(matches!(cli.command, Command::Runs(_)));
        let cli = Cli::try_parse_from(["btdb", "--read-url=x", "--read-your-writes=2.5", "runs"])
            .expect("a value after =");
        assert_eq!(cli.global.read_your_writes, Some(2.5));
        // Every flag whose value is optional must take it after `=` only.
        for command in
            std::iter::once(Cli::command()).chain(Cli::command().get_subcommands().cloned())
        {
            for arg in command.get_arguments() {
                let optional = arg
                    .get_num_args()
                    .is_some_and(|n| n.min_values() == 0 && n.max_values() == 1);
                assert!(
                    !optional || arg.is_require_equals_set(),
                    "--{} takes an optional value without `=`",
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn a_server_whose_libraries_were_upgraded_under_it_gets_a_restart_hint() {
        let e = anyhow::anyhow!(
            "could not load library \"/usr/lib/postgresql/15/lib/plpgsql.so\": undefined symbol: x"
        );
        let text = format!("{:#}", with_hint(e, None));
        assert!(
            text.contains("`btdb db stop`, then run the command again"),
            "{text}"
        );
        assert!(text.ends_with("undefined symbol: x"), "{text}");
        let other = format!("{:#}", with_hint(anyhow::anyhow!("no such run"), None));
        assert_eq!(other, "no such run");
    }

    #[test]
    fn colour_follows_the_terminal_and_the_flag() {
        assert!(Color::Always.enabled(false, true));
        assert!(!Color::Never.enabled(true, false));
        assert!(Color::Auto.enabled(true, false));
        assert!(!Color::Auto.enabled(false, false));
        assert!(!Color::Auto.enabled(true, true), "NO_COLOR");
    }

    #[test]
    fn zero_or_negative_timeouts_are_refused() {
        for bad in ["0", "-1", "nan", "inf", "soon"] {
            assert!(parse_seconds(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
    }
}
