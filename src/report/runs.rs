//! `runs`' output: a page of runs and the cursor of the next.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;
use arrow_array::builder::Float64Builder;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use super::arrow::{self, DecimalColumn, NumericType};
use super::{Cell, Table, thousands};
use crate::models::{RunId, RunMetrics};
use crate::query::columns::{ListingColumns, ParamKind};
use crate::query::runs::{Count, RunSummary, Sort};

/// A page of runs in the order asked for (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunPage {
    pub sort: Sort,
    /// How many runs match the filters (all pages).
    pub count: Count,
    pub runs: Vec<RunSummary>,
    /// `--after` for the next page; `null` on the last.
    pub next: Option<RunId>,
    /// `--before` for the previous page; `null` on the first.
    pub previous: Option<RunId>,
    /// The metrics shown as columns of the table (JSON has every metric of each run).
    #[serde(skip)]
    pub metrics: Vec<String>,
}

impl RunPage {
    /// The runs with their parameters and the metric columns asked for.
    pub fn table(&self) -> Table {
        let metrics = &self.metrics;
        let mut header = vec!["id", "strategy", "dataset", "status", "params"];
        header.extend(metrics.iter().map(String::as_str));
        let mut table = Table::new(header);
        for run in &self.runs {
            let mut row: Vec<Cell> = vec![
                run.id.0.into(),
                run.strategy.to_string().into(),
                run.dataset.clone().into(),
                run.status.to_string().into(),
                run.params.to_string().into(),
            ];
            row.extend(metrics.iter().map(|m| Cell::maybe(run.metrics.get(m))));
            table.push(row);
        }
        table.note(self.count.to_string());
        if let Some(previous) = self.previous {
            table.note(format!("back: --before {previous}"));
        }
        if let Some(next) = self.next {
            table.note(format!("more: --after {next}"));
        }
        table
    }
}

impl std::fmt::Display for Count {
    /// `1,234 runs match`, or `more than 10,000 runs match` past the count's bound.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let noun = if self.runs == 1 {
            "run matches"
        } else {
            "runs match"
        };
        match self.exact {
            true => write!(f, "{} {noun}", thousands(self.runs)),
            false => write!(f, "more than {} runs match", thousands(self.runs)),
        }
    }
}

/// The columns of runs in the machine formats (CSV, Arrow, Parquet), the same in each: the
/// run's own, then `params.KEY` per parameter key and `metrics.NAME` per metric, so that no
/// parameter or metric name can clash with another column (docs/arrow-output.md).
#[derive(Debug, Clone)]
pub struct RunFrame {
    columns: ListingColumns,
    capital: NumericType,
    schema: SchemaRef,
}

impl RunFrame {
    /// The frame of a listing with `columns`, its initial capitals written as `capital`.
    pub fn new(columns: ListingColumns, capital: NumericType) -> Self {
        let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
        let mut fields = vec![
            Field::new("id", DataType::Int64, false),
            text("run_key", false),
            text("strategy", false),
        ];
        if columns.version {
            fields.push(text("version", true));
        }
        fields.extend([
            text("dataset", false),
            text("status", false),
            text("sweep", true),
            Field::new_list("tags", Field::new_list_field(DataType::Utf8, true), false),
            Field::new("period_start", arrow::timestamp_type(), true),
            Field::new("period_end", arrow::timestamp_type(), true),
            capital.field("initial_capital", true),
            Field::new("periods_per_year", DataType::Float64, false),
            Field::new("recorded_at", arrow::timestamp_type(), false),
        ]);
        for (key, kind) in &columns.params {
            let name = format!("params.{key}");
            fields.push(match kind {
                ParamKind::Int => Field::new(name, DataType::Int64, true),
                ParamKind::Float => Field::new(name, DataType::Float64, true),
                ParamKind::Bool => Field::new(name, DataType::Boolean, true),
                ParamKind::Text | ParamKind::Json => text(&name, true),
                ParamKind::Mixed(kinds) => {
                    text(&name, true).with_metadata(std::collections::HashMap::from([(
                        "btdb.mixed_types".to_owned(),
                        kinds.clone(),
                    )]))
                }
            });
        }
        for metric in &columns.metrics {
            fields.push(Field::new(
                format!("metrics.{metric}"),
                DataType::Float64,
                true,
            ));
        }
        Self {
            columns,
            capital,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// A page of runs as one record batch.
    pub fn batch(&self, runs: &[RunSummary]) -> Result<RecordBatch> {
        let n = runs.len();
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        arrays.push(Arc::new(Int64Array::from_iter_values(
            runs.iter().map(|r| r.id.0),
        )));
        let texts = |value: &dyn Fn(&RunSummary) -> Option<&str>| -> ArrayRef {
            let mut b = arrow::strings(n);
            for run in runs {
                b.append_option(value(run));
            }
            Arc::new(b.finish())
        };
        arrays.push(texts(&|r| Some(&r.run_key)));
        arrays.push(texts(&|r| Some(&r.strategy.name)));
        if self.columns.version {
            arrays.push(texts(&|r| {
                Some(&r.strategy.version)
                    .filter(|v| !v.is_empty())
                    .map(String::as_str)
            }));
        }
        arrays.push(texts(&|r| Some(&r.dataset)));
        let statuses: Vec<String> = runs.iter().map(|r| r.status.to_string()).collect();
        arrays.push(Arc::new(arrow_array::StringArray::from_iter_values(
            &statuses,
        )));
        arrays.push(texts(&|r| r.sweep.as_deref()));
        let mut tags = arrow::string_lists(n);
        for run in runs {
            for tag in &run.tags {
                tags.values().append_value(tag);
            }
            tags.append(true);
        }
        arrays.push(Arc::new(tags.finish()));
        let times = |value: &dyn Fn(&RunSummary) -> Option<i64>| -> ArrayRef {
            let mut b = arrow::timestamps(n);
            for run in runs {
                b.append_option(value(run));
            }
            Arc::new(b.finish())
        };
        arrays.push(times(&|r| r.period_start.as_ref().map(arrow::micros)));
        arrays.push(times(&|r| r.period_end.as_ref().map(arrow::micros)));
        let mut capital = DecimalColumn::new(self.capital.data_type(), n);
        for run in runs {
            capital.append(run.initial_capital.as_ref())?;
        }
        arrays.push(capital.finish());
        arrays.push(Arc::new(Float64Array::from_iter_values(
            runs.iter().map(|r| r.periods_per_year),
        )));
        arrays.push(times(&|r| Some(arrow::micros(&r.recorded_at))));
        for (key, kind) in &self.columns.params {
            arrays.push(param_column(runs, key, kind));
        }
        arrays.extend(self.metric_columns(runs));
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}

impl RunFrame {
    /// The metric columns of `runs`. Runs read with the same metric set share its names, so
    /// each set's names are matched with the columns once rather than once per run.
    fn metric_columns(&self, runs: &[RunSummary]) -> Vec<ArrayRef> {
        let wanted = &self.columns.metrics;
        let mut columns: Vec<Float64Builder> = wanted
            .iter()
            .map(|_| Float64Builder::with_capacity(runs.len()))
            .collect();
        // Keyed by the shared names' address: every run of the page is alive, so no address
        // is reused for other names meanwhile.
        let mut positions: HashMap<*const String, Vec<Option<usize>>> = HashMap::new();
        for run in runs {
            let names = run.metrics.shared_names();
            let at = positions.entry(names.as_ptr()).or_insert_with(|| {
                wanted
                    .iter()
                    .map(|w| RunMetrics::position(names, w))
                    .collect()
            });
            let values = run.metrics.values();
            for (column, at) in columns.iter_mut().zip(at.iter()) {
                column.append_option(at.and_then(|i| values.get(i).copied()));
            }
        }
        columns
            .into_iter()
            .map(|mut c| Arc::new(c.finish()) as ArrayRef)
            .collect()
    }
}

/// One parameter's values over `runs`, as `kind` says they are written.
fn param_column(runs: &[RunSummary], key: &str, kind: &ParamKind) -> ArrayRef {
    use serde_json::Value;
    let values = runs
        .iter()
        .map(|r| r.params.get(key).filter(|v| !v.is_null()));
    match kind {
        ParamKind::Int => Arc::new(Int64Array::from_iter(
            values.map(|v| v.and_then(Value::as_i64)),
        )),
        ParamKind::Float => Arc::new(Float64Array::from_iter(
            values.map(|v| v.and_then(Value::as_f64)),
        )),
        ParamKind::Bool => Arc::new(BooleanArray::from_iter(
            values.map(|v| v.and_then(Value::as_bool)),
        )),
        ParamKind::Text | ParamKind::Json | ParamKind::Mixed(_) => {
            let mut b = arrow::strings(runs.len());
            for value in values {
                match value {
                    None => b.append_null(),
                    Some(Value::String(s)) => b.append_value(s),
                    Some(other) => b.append_value(other.to_string()),
                }
            }
            Arc::new(b.finish())
        }
    }
}
