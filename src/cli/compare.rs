//! `btdb compare`: one strategy's parameter sweep by parameter values, or in sample against out
//! of sample.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Serialize;

use super::GlobalArgs;
use super::filter::FilterArgs;
use crate::db::Db;
use crate::metrics::{Direction, direction};
use crate::query::rank;
use crate::query::sweep::{self, OutOfSample, Pivot, Sensitivity};
use crate::report::plot;
use crate::report::{self, Table};

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

    /// Draw the sweep to this SVG file: a heatmap with --y, a line chart without.
    #[arg(long, value_name = "FILE.svg", requires = "x")]
    pub plot: Option<PathBuf>,

    /// In-sample data set: rank parameter sets on it, then check the ranking on --oos.
    #[arg(long = "is", value_name = "DATASET", requires = "oos")]
    pub is: Option<String>,

    /// Out-of-sample data set.
    #[arg(long = "oos", value_name = "DATASET", requires = "is")]
    pub oos: Option<String>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    strategy: &'a str,
    metric: &'a str,
    runs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pivot: Option<Pivot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sensitivity: Option<Vec<Sensitivity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    out_of_sample: Option<OutOfSample>,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    if args.filter.dataset.is_some() && args.is.is_some() {
        bail!("--dataset and --is/--oos both choose data sets; give one or the other");
    }
    let filter = args.filter.to_filter(Some(args.strategy.clone()))?;
    let db = Db::connect(&global.db_options()).await?;
    let mut conn = db.conn().await?;
    let filter = filter.resolve(&mut conn).await?;
    let split: Option<Vec<String>> = args
        .is
        .clone()
        .zip(args.oos.clone())
        .map(|(a, b)| vec![a, b]);
    let rows = sweep::load(&mut conn, &args.metric, &filter, split.as_deref()).await?;
    if rows.is_empty() {
        rank::ensure_metric(&mut conn, &args.metric).await?;
        filter.check_parameters(&mut conn).await?;
        bail!(
            "no completed run of `{}` with metric `{}` matches",
            args.strategy,
            args.metric
        );
    }
    let descending = direction(&args.metric) == Direction::HigherIsBetter;
    let mut output = Output {
        strategy: &args.strategy,
        metric: &args.metric,
        runs: rows.len(),
        pivot: None,
        sensitivity: None,
        out_of_sample: None,
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
    } else if let Some(x) = &args.x {
        sweep::ensure_parameter(&rows, x)?;
        if let Some(y) = &args.y {
            sweep::ensure_parameter(&rows, y)?;
        }
        let pivot = sweep::pivot(&rows, x, args.y.as_deref());
        if let Some(path) = &args.plot {
            plot::sweep(path, &args.strategy, &args.metric, &pivot)?;
        }
        output.pivot = Some(pivot);
        output.sensitivity = Some(sweep::sensitivity(&rows));
    } else {
        output.sensitivity = Some(sweep::sensitivity(&rows));
    }
    report::emit(global.format, &output, || tables(&output))
}

fn tables(output: &Output<'_>) -> Vec<Table> {
    let mut out = Vec::new();
    if let Some(check) = &output.out_of_sample {
        out.push(out_of_sample_table(check, output.metric));
    }
    if let Some(pivot) = &output.pivot {
        out.push(pivot_table(pivot, output.metric));
    }
    if let Some(sensitivity) = &output.sensitivity {
        let mut table = Table::new(["parameter", "value", "mean", "min", "max", "runs"]);
        for s in sensitivity {
            for (value, cell) in &s.values {
                table.push(vec![
                    s.parameter.clone(),
                    value.to_string(),
                    report::number(cell.mean),
                    report::number(cell.min),
                    report::number(cell.max),
                    cell.runs.to_string(),
                ]);
            }
        }
        out.push(table);
    }
    out
}

/// Parameter sets in sample against out of sample, with Spearman and the winner's fate below.
pub fn out_of_sample_table(check: &OutOfSample, metric: &str) -> Table {
    let mut table = Table::new(["params", "in sample", "rank", "out of sample", "rank"]);
    for set in &check.sets {
        table.push(vec![
            set.params.to_string(),
            report::number(set.in_sample),
            report::number(set.in_sample_rank),
            report::number(set.out_of_sample),
            report::number(set.out_of_sample_rank),
        ]);
    }
    table.note(format!(
        "{} parameter sets; Spearman rank correlation of {metric} = {}",
        check.parameter_sets,
        check
            .spearman
            .map_or_else(|| "undefined".to_owned(), report::number)
    ));
    if let Some(w) = &check.winner {
        table.note(format!(
            "in-sample winner {} ranks {} of {} out of sample",
            w.params,
            report::number(w.out_of_sample_rank),
            check.parameter_sets
        ));
    }
    table
}

fn pivot_table(pivot: &Pivot, metric: &str) -> Table {
    match &pivot.y {
        None => {
            let mut table = Table::new([
                pivot.x.clone(),
                format!("mean {metric}"),
                "min".into(),
                "max".into(),
                "runs".into(),
            ]);
            for (value, cell) in pivot.x_values.iter().zip(&pivot.cells[0]) {
                let Some(cell) = cell else { continue };
                table.push(vec![
                    value.to_string(),
                    report::number(cell.mean),
                    report::number(cell.min),
                    report::number(cell.max),
                    cell.runs.to_string(),
                ]);
            }
            table
        }
        Some(y) => {
            let mut header = vec![format!("{y} \\ {}", pivot.x)];
            header.extend(pivot.x_values.iter().map(ToString::to_string));
            let mut table = Table::new(header);
            for (value, row) in pivot.y_values.iter().zip(&pivot.cells) {
                let mut line = vec![value.to_string()];
                line.extend(
                    row.iter()
                        .map(|c| c.map_or_else(|| "-".to_owned(), |c| report::number(c.mean))),
                );
                table.push(line);
            }
            table.note(format!("mean {metric} per cell"));
            table
        }
    }
}
