//! `btdb rank`: strategies (or single runs) ranked by a metric.

use crate::db::Reader;
use anyhow::{Result, bail};

use super::filter::FilterArgs;
use crate::metrics::Direction;
use crate::metrics::stats::SharpeConfidence;
use crate::query::rank::{By, Ranking, RunRank, StrategyRank};
use crate::query::suggest;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The metric to rank by (see `btdb show RUN` for a run's metric names).
    #[arg(long, short, default_value = "sharpe")]
    pub metric: String,

    /// How a strategy's runs become its score.
    #[arg(long, value_enum, default_value_t = By::Best)]
    pub by: By,

    /// Lowest values first, whatever the metric's direction.
    #[arg(long, conflicts_with = "desc")]
    pub asc: bool,

    /// Highest values first, whatever the metric's direction (all metrics but volatility rank
    /// highest first by default).
    #[arg(long)]
    pub desc: bool,

    /// Only runs of this strategy (name in any case, every version).
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Leave out strategies with fewer completed runs having the metric.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub min_runs: Option<i64>,

    /// Rows shown; 0 for all.
    #[arg(long, default_value_t = 20, value_name = "K", value_parser = clap::value_parser!(i64).range(0..))]
    pub top: i64,

    /// Rank single runs instead of strategies.
    #[arg(long, conflicts_with_all = ["by", "min_runs", "deflated"])]
    pub runs: bool,

    /// Add the deflated Sharpe ratio of each strategy's best run: the probability that its
    /// Sharpe ratio beats the best that the strategy's number of parameter sets would reach by
    /// luck (Bailey and López de Prado, 2014). Ranks by sharpe.
    #[arg(long)]
    pub deflated: bool,

    /// With --runs: add each run's probabilistic Sharpe ratio against --psr-benchmark and its
    /// minimum track record at 95 % confidence (docs/metrics.md).
    #[arg(long, requires = "runs")]
    pub psr: bool,

    /// The annual Sharpe ratio --psr measures against.
    #[arg(long, default_value_t = 0.0, value_name = "SHARPE", allow_negative_numbers = true, value_parser = super::show::finite)]
    pub psr_benchmark: f64,
}

/// What `rank` answers: strategies, or single runs with `--runs`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum Ranked {
    Strategies(Vec<StrategyRank>),
    Runs(Vec<RunRank>),
}

impl Ranked {
    /// The ranking as a table (the CLI's text and CSV, the page's CSV).
    pub fn table(&self, args: &Args) -> crate::report::Table {
        match self {
            Ranked::Strategies(r) => crate::report::rank::strategy_table(r, args.by, &args.metric),
            Ranked::Runs(r) => crate::report::rank::run_table(r, &args.metric),
        }
    }
}

/// The ranking `args` ask for: what `btdb rank` prints and `btdb serve` shows.
pub async fn answer(args: &Args, conn: &mut Reader<'_>) -> Result<Ranked> {
    if args.deflated && args.metric != "sharpe" {
        bail!("--deflated ranks by sharpe; drop --metric {}", args.metric);
    }
    let filter = args.filter.to_filter(args.strategy.clone())?;
    let filter = filter.resolve(conn).await?;
    let descending = if args.asc {
        false
    } else {
        args.desc
            || crate::query::direction::of_metric(conn, &args.metric, filter.strategy_ids.clone())
                .await?
                == Direction::HigherIsBetter
    };
    let ranking = Ranking {
        metric: args.metric.clone(),
        by: args.by,
        descending,
        filter,
        min_runs: args.min_runs,
        top: (args.top > 0).then_some(args.top),
    };
    let metric = &args.metric;
    let ranked = if args.runs {
        let mut ranked = ranking.runs(conn).await?;
        if args.psr {
            for r in &mut ranked {
                r.confidence = Some(SharpeConfidence::of(
                    &r.run.metrics,
                    r.run.periods_per_year,
                    args.psr_benchmark,
                ));
            }
        }
        Ranked::Runs(ranked)
    } else {
        Ranked::Strategies(ranking.strategies(conn, args.deflated).await?)
    };
    let empty = match &ranked {
        Ranked::Strategies(r) => r.is_empty(),
        Ranked::Runs(r) => r.is_empty(),
    };
    if empty {
        suggest::ensure_metric(conn, metric).await?;
        ranking.filter.check_parameters(conn).await?;
    }
    Ok(ranked)
}
