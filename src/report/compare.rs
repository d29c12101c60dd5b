//! `compare`'s output: a sweep by parameter values, every parameter's sensitivity, and the
//! in-sample/out-of-sample check.

use serde::Serialize;

use super::{Table, number};
use crate::query::sweep::{Cell, OutOfSample, Pivot, Sensitivity};

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
        out
    }
}

/// Every parameter set in and out of sample, with Spearman and the winner's fate as notes.
pub fn out_of_sample_table(check: &OutOfSample, metric: &str) -> Table {
    let mut table = Table::new(["params", "in sample", "rank", "out of sample", "rank"]);
    for set in &check.sets {
        table.push(vec![
            set.params.to_string(),
            number(set.in_sample),
            number(set.in_sample_rank),
            number(set.out_of_sample),
            number(set.out_of_sample_rank),
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
fn cell_columns(cell: &Cell) -> [String; 4] {
    [
        number(cell.mean),
        number(cell.min),
        number(cell.max),
        cell.runs.to_string(),
    ]
}

fn sensitivity_table(sensitivity: &[Sensitivity]) -> Table {
    let mut table = Table::new(["parameter", "value", "mean", "min", "max", "runs"]);
    for s in sensitivity {
        for (value, cell) in &s.values {
            let mut row = vec![s.parameter.clone(), value.to_string()];
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
                let mut row = vec![value.to_string()];
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
                let mut line = vec![value.to_string()];
                line.extend(
                    row.iter()
                        .map(|c| c.map_or_else(|| "-".to_owned(), |c| number(c.mean))),
                );
                table.push(line);
            }
            table.note(format!("mean {metric} per cell"));
            table
        }
    }
}
