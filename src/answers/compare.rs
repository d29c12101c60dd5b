//! `btdb compare`: one strategy's parameter sweep by parameter values, or in sample against out
//! of sample.

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::filter::FilterArgs;
use crate::db::Db;
use crate::metrics::Direction;
use crate::metrics::pbo::{self, PboError, PboMetric};
use crate::models::StrategyId;
use crate::query::pbo as pbo_query;
use crate::query::suggest;
use crate::query::sweep;
use crate::report::compare::{Comparison, PboReport};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The strategy whose sweep to compare (name in any case, every version).
    #[arg(long, value_name = "NAME")]
    pub strategy: String,

    /// The metric compared.
    #[arg(long, short, default_value = "sharpe")]
    pub metric: String,

    /// Parameter along the columns: the metric's mean, min and max per value.
    #[arg(long, value_name = "PARAM", conflicts_with_all = ["is", "oos"])]
    pub x: Option<String>,

    /// Second parameter, along the rows: a grid of the metric's mean.
    #[arg(long, value_name = "PARAM", requires = "x")]
    pub y: Option<String>,

    /// Draw the sweep to this SVG file: a heatmap with --y, a line chart without; with --pbo,
    /// the logits' histogram beside the degradation scatter.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// In-sample data set: rank parameter sets on it, then check the ranking on --oos.
    #[arg(long = "is", value_name = "DATASET", requires = "oos")]
    pub is: Option<String>,

    /// Out-of-sample data set.
    #[arg(long = "oos", value_name = "DATASET", requires = "is")]
    pub oos: Option<String>,

    /// The probability of backtest overfitting: combinatorially symmetric cross-validation
    /// over the equity curves of the sweep's latest completed run per parameter set on
    /// --dataset (docs/metrics.md gives the conventions).
    #[arg(long, requires = "dataset", conflicts_with_all = ["x", "is", "oos"])]
    pub pbo: bool,

    /// Time blocks the curves are cut into for --pbo: even, 4 to 24 (16 gives 12,870 splits).
    #[arg(long, default_value_t = 16, value_name = "S")]
    pub partitions: usize,

    /// What --pbo compares on each half (--metric keeps its meaning: the stored metric).
    #[arg(long, value_enum, default_value_t = PboMetric::Sharpe)]
    pub pbo_metric: PboMetric,

    /// How --pbo aligns curves: `intersect` leaves out runs sharing fewer than half of the
    /// longest curve's timestamps (without it they are an error naming them).
    #[arg(long, value_enum, value_name = "HOW")]
    pub align: Option<Align>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Align {
    /// Keep the timestamps every kept curve has; leave out curves with too few of them.
    Intersect,
}

/// The comparison `args` ask for: what `btdb compare` prints and `btdb serve` shows.
pub async fn answer(args: &Args, db: &Db) -> Result<Comparison> {
    if args.filter.dataset.is_some() && args.is.is_some() {
        bail!("--dataset and --is/--oos both choose data sets; give one or the other");
    }
    let filter = args.filter.to_filter(Some(args.strategy.clone()))?;
    let mut conn = db.reader().await?;
    let filter = filter.resolve(&mut conn).await?;
    if args.pbo {
        let report = overfitting(
            db,
            &args.strategy,
            filter.strategy_ids.as_deref().unwrap_or_default(),
            filter.dataset.as_deref().unwrap_or_default(),
            args.partitions,
            args.pbo_metric,
            args.align == Some(Align::Intersect),
        )
        .await?;
        return Ok(Comparison {
            strategy: args.strategy.clone(),
            metric: args.metric.clone(),
            runs: report.pbo.parameter_sets,
            pivot: None,
            sensitivity: None,
            out_of_sample: None,
            pbo: Some(report),
        });
    }
    let split: Option<Vec<String>> = args
        .is
        .clone()
        .zip(args.oos.clone())
        .map(|(a, b)| vec![a, b]);
    let rows = sweep::load(&mut conn, &args.metric, &filter, split.as_deref()).await?;
    if rows.is_empty() {
        suggest::ensure_metric(&mut conn, &args.metric).await?;
        filter.check_parameters(&mut conn).await?;
        bail!(
            "no completed run of `{}` with metric `{}` matches",
            args.strategy,
            args.metric
        );
    }
    let descending =
        crate::query::direction::of_metric(&mut conn, &args.metric, filter.strategy_ids.clone())
            .await?
            == Direction::HigherIsBetter;
    let mut output = Comparison {
        strategy: args.strategy.clone(),
        metric: args.metric.clone(),
        runs: rows.len(),
        pivot: None,
        sensitivity: Some(sweep::sensitivity(&rows)),
        out_of_sample: None,
        pbo: None,
    };
    if let (Some(is), Some(oos)) = (&args.is, &args.oos) {
        let check = sweep::out_of_sample(&rows, is, oos, descending);
        if check.parameter_sets == 0 {
            bail!(
                "no parameter set of `{}` has runs on both `{is}` and `{oos}`",
                args.strategy
            );
        }
        output.out_of_sample = Some(check);
        output.sensitivity = None;
    } else if let Some(x) = &args.x {
        sweep::ensure_parameter(&rows, x)?;
        if let Some(y) = &args.y {
            sweep::ensure_parameter(&rows, y)?;
        }
        output.pivot = Some(sweep::pivot(&rows, x, args.y.as_deref()));
    }
    Ok(output)
}

/// The probability of backtest overfitting of `strategy`'s sweep on `dataset`, with the
/// command's one-line errors.
pub async fn overfitting(
    db: &Db,
    strategy: &str,
    strategies: &[StrategyId],
    dataset: &str,
    partitions: usize,
    metric: PboMetric,
    intersect: bool,
) -> Result<PboReport> {
    let sweep = pbo_query::load(db, strategies, dataset).await?;
    if sweep.curves.is_empty() {
        bail!("`{strategy}` has no completed run on `{dataset}`");
    }
    let aligned = sweep.align(intersect)?;
    let result = pbo::pbo(&aligned.returns, partitions, metric).map_err(|e| {
        let hint = match e {
            PboError::Partitions(_) => "",
            PboError::TooFewSets(_) => "; record runs of more parameter sets on this data set",
            PboError::TooFewPeriods { .. } => "; use fewer --partitions, or longer curves",
        };
        anyhow::anyhow!("--pbo on `{dataset}`: {e}{hint}")
    })?;
    Ok(PboReport {
        pbo: result,
        dataset: dataset.to_owned(),
        metric,
        set_aside: sweep.set_aside,
        dropped: aligned.dropped,
    })
}
