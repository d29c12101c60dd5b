//! `compare`'s output: a sweep by parameter values, every parameter's sensitivity, and the
//! in-sample/out-of-sample check.

use serde::Serialize;

use super::table::Cell as Shown;
use super::{Table, number};
use crate::metrics::pbo::{Pbo, PboMetric};
use crate::models::RunId;
use crate::query::sweep::{Cell, OutOfSample, ParamValue, Pivot, Sensitivity};

/// What `compare` prints (`--format json`); each part is there when it was asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub strategy: String,
    pub metric: String,
    pub runs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pivot: Option<Pivot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Vec<Sensitivity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_sample: Option<OutOfSample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pbo: Option<PboReport>,
}

/// The probability of backtest overfitting of a sweep on one data set, with what was left out.
#[derive(Debug, Clone, Serialize)]
pub struct PboReport {
    #[serde(flatten)]
    pub pbo: Pbo,
    pub dataset: String,
    pub metric: PboMetric,
    /// Earlier runs of a parameter set that has a later one, which counts.
    pub set_aside: i64,
    /// Runs `--align intersect` left out.
    pub dropped: Vec<RunId>,
}

impl Comparison {
    /// The tables of the parts present: out of sample, pivot, sensitivity.
    pub fn tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
        if let Some(check) = &self.out_of_sample {
            out.push(out_of_sample_table(check, &self.metric));
        }
        if let Some(pivot) = &self.pivot {
            out.push(pivot_table(pivot, &self.metric));
        }
        if let Some(sensitivity) = &self.sensitivity {
            out.push(sensitivity_table(sensitivity));
        }
        if let Some(pbo) = &self.pbo {
            out.push(pbo_table(pbo));
        }
        out
    }
}

/// The cross-validation's figures, one per row, and what was left out as notes.
pub fn pbo_table(report: &PboReport) -> Table {
    let p = &report.pbo;
    let mut table = Table::new(["figure", "value"]);
    let rows = [
        ("probability of backtest overfitting", p.probability.into()),
        ("probability of loss", p.probability_of_loss.into()),
        ("degradation slope", p.degradation.slope.into()),
        ("degradation intercept", p.degradation.intercept.into()),
        ("degradation R²", p.degradation.r2.into()),
        ("parameter sets", Shown::Int(p.parameter_sets as i64)),
        ("periods", Shown::Int(p.periods as i64)),
        ("partitions", Shown::Int(p.partitions as i64)),
        ("combinations", Shown::Int(p.combinations as i64)),
    ];
    for (name, value) in rows {
        table.push(vec![Shown::from(name), value]);
    }
    let metric = match report.metric {
        PboMetric::Sharpe => "Sharpe ratio",
        PboMetric::Mean => "mean return",
    };
    table.note(format!(
        "on {}, by per-period {metric}: the share of {} splits whose in-sample best ranks at or \
         below the out-of-sample median",
        report.dataset, p.combinations
    ));
    if report.set_aside > 0 {
        table.note(format!(
            "{} earlier runs of parameter sets with a later run set aside",
            report.set_aside
        ));
    }
    if !report.dropped.is_empty() {
        table.note(format!(
            "{} sharing too few timestamps left out (--align intersect)",
            super::plural(report.dropped.len() as u64, "run")
        ));
    }
    table
}

/// Every parameter set in and out of sample, with Spearman and the winner's fate as notes.
pub fn out_of_sample_table(check: &OutOfSample, metric: &str) -> Table {
    let mut table = Table::new(["params", "in sample", "rank", "out of sample", "rank"]);
    for set in &check.sets {
        table.push(vec![
            set.params.to_string().into(),
            Shown::Number(set.in_sample),
            Shown::Number(set.in_sample_rank),
            Shown::Number(set.out_of_sample),
            Shown::Number(set.out_of_sample_rank),
        ]);
    }
    table.note(format!(
        "{} parameter sets; Spearman rank correlation of {metric} = {}",
        check.parameter_sets,
        check
            .spearman
            .map_or_else(|| "undefined".to_owned(), number)
    ));
    if let Some(w) = &check.winner {
        table.note(format!(
            "in-sample winner {} ranks {} of {} out of sample",
            w.params,
            number(w.out_of_sample_rank),
            check.parameter_sets
        ));
    }
    table
}

/// A cell's mean, min, max and run count, as the tables show them.
fn cell_columns(cell: &Cell) -> [Shown; 4] {
    [
        cell.mean.into(),
        cell.min.into(),
        cell.max.into(),
        Shown::Int(cell.runs as i64),
    ]
}

fn sensitivity_table(sensitivity: &[Sensitivity]) -> Table {
    let mut table = Table::new(["parameter", "value", "mean", "min", "max", "runs"]);
    for s in sensitivity {
        for (value, cell) in &s.values {
            let mut row: Vec<Shown> = vec![s.parameter.clone().into(), value.into()];
            row.extend(cell_columns(cell));
            table.push(row);
        }
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
                let mut row: Vec<Shown> = vec![value.into()];
                row.extend(cell_columns(cell));
                table.push(row);
            }
            table
        }
        Some(y) => {
            let mut header = vec![format!("{y} \\ {}", pivot.x)];
            header.extend(pivot.x_values.iter().map(ToString::to_string));
            let mut table = Table::new(header);
            for (value, row) in pivot.y_values.iter().zip(&pivot.cells) {
                let mut line: Vec<Shown> = vec![value.into()];
                line.extend(row.iter().map(|c| Shown::maybe(c.as_ref().map(|c| c.mean))));
                table.push(line);
            }
            table.note(format!("mean {metric} per cell"));
            table
        }
    }
}

impl From<&ParamValue> for Shown {
    /// A parameter's value as a typed cell: whole numbers as integers, so that a pivot's axis
    /// is int64 in Arrow, as the parameter is in a listing.
    fn from(value: &ParamValue) -> Self {
        match value {
            ParamValue::Number(text, float) => match text.parse::<i64>() {
                Ok(n) => Shown::Int(n),
                Err(_) => Shown::Number(*float),
            },
            ParamValue::Text(_) | ParamValue::Bool(_) => Shown::Text(value.to_string()),
        }
    }
}
