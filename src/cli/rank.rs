//! `btdb rank`: strategies (or single runs) ranked by a metric.

use anyhow::{Result, bail};

use super::GlobalArgs;
use super::filter::FilterArgs;
use crate::db::Db;
use crate::metrics::{Direction, direction};
use crate::query::rank::{self, By, Ranking, StrategyRank};
use crate::report::{self, Table};

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
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    if args.deflated && args.metric != "sharpe" {
        bail!("--deflated ranks by sharpe; drop --metric {}", args.metric);
    }
    let filter = args.filter.to_filter(args.strategy.clone())?;
    let db = Db::connect(&global.db_options()).await?;
    let mut conn = db.conn().await?;
    let descending = if args.asc {
        false
    } else {
        args.desc || direction(&args.metric) == Direction::HigherIsBetter
    };
    let ranking = Ranking {
        metric: args.metric.clone(),
        by: args.by,
        descending,
        filter: filter.resolve(&mut conn).await?,
        min_runs: args.min_runs,
        top: (args.top > 0).then_some(args.top),
    };
    let metric = &args.metric;
    if args.runs {
        let ranked = ranking.runs(&mut conn).await?;
        if ranked.is_empty() {
            rank::ensure_metric(&mut conn, metric).await?;
            ranking.filter.check_parameters(&mut conn).await?;
        }
        return report::emit(global.format, &ranked, || {
            let mut table = Table::new(["rank", metric, "run", "strategy", "dataset", "params"]);
            for r in &ranked {
                table.push(vec![
                    r.rank.to_string(),
                    report::number(r.value),
                    r.run.id.to_string(),
                    r.run.strategy.to_string(),
                    r.run.dataset.clone(),
                    r.run.params.to_string(),
                ]);
            }
            vec![table]
        });
    }
    let ranked = ranking.strategies(&mut conn, args.deflated).await?;
    if ranked.is_empty() {
        rank::ensure_metric(&mut conn, metric).await?;
        ranking.filter.check_parameters(&mut conn).await?;
    }
    report::emit(global.format, &ranked, || {
        vec![strategy_table(&ranked, args.by, metric)]
    })
}

/// Ranked strategies as a table; `runs` and the deflated Sharpe columns appear when computed.
pub fn strategy_table(ranked: &[StrategyRank], by: By, metric: &str) -> Table {
    let counted = ranked.iter().any(|r| r.runs.is_some());
    let deflated = ranked.iter().any(|r| r.deflated.is_some());
    let score = format!("{} {metric}", format!("{by:?}").to_lowercase());
    let mut header = vec!["rank", score.as_str()];
    if counted {
        header.push("runs");
    }
    header.extend(["strategy", "best run"]);
    if by != By::Best {
        header.push("best");
    }
    header.extend(["dataset", "params"]);
    if deflated {
        header.extend(["trials", "expected max", "deflated"]);
    }
    let or_dash = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), report::number);
    let mut table = Table::new(header);
    for r in ranked {
        let mut row = vec![r.rank.to_string(), report::number(r.score)];
        if counted {
            row.push(r.runs.map_or_else(|| "-".to_owned(), |n| n.to_string()));
        }
        row.extend([r.strategy.to_string(), r.best_run.id.to_string()]);
        if by != By::Best {
            row.push(report::number(r.best_value));
        }
        row.extend([r.best_run.dataset.clone(), r.best_run.params.to_string()]);
        if let Some(d) = &r.deflated {
            row.extend([
                d.trials.to_string(),
                or_dash(d.expected_max_sharpe),
                or_dash(d.probability),
            ]);
        }
        table.push(row);
    }
    table
}
