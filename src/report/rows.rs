//! The rows a run owns as Arrow: its trades and its equity curve in long form, one row per
//! trade or point with the run's id, so that the rows of many runs make one table.

use std::sync::Arc;

use anyhow::Result;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};

use super::arrow::{self, DecimalColumn, NumericType};
use crate::models::numeric::NearestF64;
use crate::models::{EquityPoint, RunId, Trade};

/// Trades: `run_id, seq, symbol, side, quantity, entry_time, entry_price, exit_time,
/// exit_price, fees, pnl, entry_tag, exit_reason, leverage`, the decimals as their
/// [`NumericType`]s; the last three null where the run's document does not say.
#[derive(Debug, Clone)]
pub struct TradeFrame {
    decimals: [NumericType; 6],
    schema: SchemaRef,
}

impl TradeFrame {
    /// `decimals`: quantity, entry price, exit price, fees, pnl and leverage.
    pub fn new(decimals: [NumericType; 6]) -> Self {
        let [quantity, entry_price, exit_price, fees, pnl, leverage] = &decimals;
        let schema = Schema::new(vec![
            Field::new("run_id", DataType::Int64, false),
            Field::new("seq", DataType::Int64, false),
            Field::new("symbol", DataType::Utf8, false),
            Field::new("side", DataType::Utf8, false),
            quantity.field("quantity", false),
            Field::new("entry_time", arrow::timestamp_type(), false),
            entry_price.field("entry_price", false),
            Field::new("exit_time", arrow::timestamp_type(), false),
            exit_price.field("exit_price", false),
            fees.field("fees", false),
            pnl.field("pnl", false),
            Field::new("entry_tag", DataType::Utf8, true),
            Field::new("exit_reason", DataType::Utf8, true),
            leverage.field("leverage", true),
        ]);
        Self {
            decimals,
            schema: Arc::new(schema),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn batch(&self, trades: &[Trade]) -> Result<RecordBatch> {
        let n = trades.len();
        let ints = |value: fn(&Trade) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(trades.iter().map(value)))
        };
        let texts = |value: fn(&Trade) -> String| -> ArrayRef {
            let mut b = arrow::strings(n);
            for t in trades {
                b.append_value(value(t));
            }
            Arc::new(b.finish())
        };
        let times = |value: fn(&Trade) -> i64| -> ArrayRef {
            let mut b = arrow::timestamps(n);
            for t in trades {
                b.append_value(value(t));
            }
            Arc::new(b.finish())
        };
        let optional_texts = |value: fn(&Trade) -> Option<&str>| -> ArrayRef {
            let mut b = arrow::strings(n);
            for t in trades {
                b.append_option(value(t));
            }
            Arc::new(b.finish())
        };
        let decimal =
            |i: usize, value: fn(&Trade) -> Option<&bigdecimal::BigDecimal>| -> Result<ArrayRef> {
                let mut column = DecimalColumn::new(self.decimals[i].data_type(), n);
                for t in trades {
                    column.append(value(t))?;
                }
                Ok(column.finish())
            };
        let columns = vec![
            ints(|t| t.run_id.0),
            ints(|t| i64::from(t.seq)),
            texts(|t| t.symbol.clone()),
            texts(|t| t.side.to_string()),
            decimal(0, |t| Some(&t.quantity))?,
            times(|t| arrow::micros(&t.entry_time)),
            decimal(1, |t| Some(&t.entry_price))?,
            times(|t| arrow::micros(&t.exit_time)),
            decimal(2, |t| Some(&t.exit_price))?,
            decimal(3, |t| Some(&t.fees))?,
            decimal(4, |t| Some(&t.pnl))?,
            optional_texts(|t| t.entry_tag.as_deref()),
            optional_texts(|t| t.exit_reason.as_deref()),
            decimal(5, |t| t.leverage.as_ref())?,
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Equity curves: `run_id, time, equity`.
#[derive(Debug, Clone)]
pub struct EquityFrame {
    equity: NumericType,
    schema: SchemaRef,
}

impl EquityFrame {
    pub fn new(equity: NumericType) -> Self {
        let schema = Schema::new(vec![
            Field::new("run_id", DataType::Int64, false),
            Field::new("time", arrow::timestamp_type(), false),
            equity.field("equity", false),
        ]);
        Self {
            equity,
            schema: Arc::new(schema),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether the values are written as doubles, to be read as doubles
    /// ([`Self::batch_of_floats`]).
    pub fn floats(&self) -> bool {
        self.equity.data_type() == &DataType::Float64
    }

    /// Points read as doubles (`--decimals float`): run, seq, time, value.
    pub fn batch_of_floats(
        &self,
        points: &[(RunId, i32, DateTime<Utc>, NearestF64)],
    ) -> Result<RecordBatch> {
        let mut times = arrow::timestamps(points.len());
        for (_, _, t, _) in points {
            times.append_value(arrow::micros(t));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(points.iter().map(|p| p.0.0))),
            Arc::new(times.finish()),
            Arc::new(Float64Array::from_iter_values(points.iter().map(|p| p.3.0))),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    pub fn batch(&self, points: &[EquityPoint]) -> Result<RecordBatch> {
        let mut times = arrow::timestamps(points.len());
        let mut equity = DecimalColumn::new(self.equity.data_type(), points.len());
        for p in points {
            times.append_value(arrow::micros(&p.ts));
            equity.append(Some(&p.equity))?;
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(
                points.iter().map(|p| p.run_id.0),
            )),
            Arc::new(times.finish()),
            equity.finish(),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}
