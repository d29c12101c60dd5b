//! Arrow out: typed columns that a DataFrame library takes without parsing text. Results are
//! written as an Arrow IPC stream a record batch at a time, so that a listing of any size holds
//! one page in memory; the same batches become CSV lines and Parquet row groups, so that every
//! machine format has the same columns with the same values.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::{
    Decimal128Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;
use bigdecimal::num_traits::ToPrimitive;
use chrono::{DateTime, SecondsFormat, Utc};

use super::sink::Results;
use super::table::{Cell, Table, csv_text, write_csv};
use crate::query::columns::DecimalRange;

/// Most digits a decimal128 holds.
const DECIMAL_DIGITS: i64 = 38;

/// How NUMERIC columns (prices, quantities, capital, equity) are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decimals {
    /// decimal128 at the largest scale the values have: every digit kept.
    #[default]
    Exact,
    /// float64: the nearest double, what numeric code computes with.
    Float,
    /// Their text as stored (CSV).
    Text,
}

/// The Arrow type of a NUMERIC column: a decimal128 at the values' largest scale, or where 38
/// digits cannot hold them all, their text (said in the field's metadata); float64; or text.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericType {
    data_type: DataType,
    too_wide: bool,
}

impl NumericType {
    pub fn new(decimals: Decimals, range: DecimalRange) -> Self {
        let fits = range.scale + range.integer_digits.max(1) <= DECIMAL_DIGITS;
        let data_type = match decimals {
            Decimals::Float => DataType::Float64,
            Decimals::Exact if fits => {
                DataType::Decimal128(DECIMAL_DIGITS as u8, range.scale as i8)
            }
            Decimals::Exact | Decimals::Text => DataType::Utf8,
        };
        Self {
            data_type,
            too_wide: decimals == Decimals::Exact && !fits,
        }
    }

    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    pub fn field(&self, name: &str, nullable: bool) -> Field {
        let field = Field::new(name, self.data_type.clone(), nullable);
        match self.too_wide {
            true => field.with_metadata(HashMap::from([(
                "btdb.decimal".to_owned(),
                "more than 38 digits: exact text".to_owned(),
            )])),
            false => field,
        }
    }
}

/// Timestamps as Arrow has them in this module: microseconds since the epoch, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Builds one NUMERIC column of the type [`decimal_type`] chose.
#[derive(Debug)]
pub enum DecimalColumn {
    Exact(Decimal128Builder, i64),
    Float(Float64Builder),
    Text(StringBuilder),
}

impl DecimalColumn {
    pub fn new(data_type: &DataType, capacity: usize) -> Self {
        match data_type {
            DataType::Decimal128(precision, scale) => DecimalColumn::Exact(
                Decimal128Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal128(*precision, *scale)),
                i64::from(*scale),
            ),
            DataType::Float64 => DecimalColumn::Float(Float64Builder::with_capacity(capacity)),
            _ => DecimalColumn::Text(StringBuilder::with_capacity(capacity, capacity * 8)),
        }
    }

    pub fn append(&mut self, value: Option<&BigDecimal>) -> Result<()> {
        match (self, value) {
            (DecimalColumn::Exact(b, _), None) => b.append_null(),
            (DecimalColumn::Float(b), None) => b.append_null(),
            (DecimalColumn::Text(b), None) => b.append_null(),
            (DecimalColumn::Exact(b, scale), Some(v)) => b.append_value(unscaled(v, *scale)?),
            (DecimalColumn::Float(b), Some(v)) => b.append_value(decimal_f64(v)),
            (DecimalColumn::Text(b), Some(v)) => b.append_value(v.to_plain_string()),
        }
        Ok(())
    }

    pub fn finish(self) -> ArrayRef {
        match self {
            DecimalColumn::Exact(mut b, _) => Arc::new(b.finish()),
            DecimalColumn::Float(mut b) => Arc::new(b.finish()),
            DecimalColumn::Text(mut b) => Arc::new(b.finish()),
        }
    }
}

/// `value`'s digits at `scale` (at least its own, as the column's scale is the largest).
fn unscaled(value: &BigDecimal, scale: i64) -> Result<i128> {
    let (digits, own) = value.as_bigint_and_exponent();
    let shift = u32::try_from(scale - own).context("a decimal beyond its column's scale")?;
    (digits * BigInt::from(10).pow(shift))
        .to_i128()
        .context("a decimal beyond 38 digits")
}

/// The double nearest `value`: its exact text parsed, which rounds correctly.
pub fn decimal_f64(value: &BigDecimal) -> f64 {
    value.to_string().parse().unwrap_or(f64::NAN)
}

/// Microseconds since the epoch, as [`timestamp_type`] stores them.
pub fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A table's cells as one record batch: a column of whole numbers is int64, of numbers
/// float64, anything else text; `-` (a value that is not there) is null.
pub fn table_batch(table: &Table) -> Result<RecordBatch> {
    let columns = table.header().len();
    let mut fields = Vec::with_capacity(columns);
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns);
    for (i, name) in table.header().iter().enumerate() {
        let cells: Vec<Option<&Cell>> = table
            .rows()
            .iter()
            .map(|row| row.get(i).filter(|c| !c.is_missing()))
            .collect();
        let ints = cells.iter().flatten().all(|c| matches!(c, Cell::Int(_)));
        let numbers = cells
            .iter()
            .flatten()
            .all(|c| matches!(c, Cell::Int(_) | Cell::Number(_)));
        let present = cells.iter().any(Option::is_some);
        let array: ArrayRef = if present && ints {
            let mut b = Int64Builder::with_capacity(cells.len());
            for cell in &cells {
                b.append_option(cell.and_then(|c| match c {
                    Cell::Int(n) => Some(*n),
                    _ => None,
                }));
            }
            Arc::new(b.finish())
        } else if present && numbers {
            let mut b = Float64Builder::with_capacity(cells.len());
            for cell in &cells {
                b.append_option(cell.and_then(|c| match c {
                    Cell::Int(n) => Some(*n as f64),
                    Cell::Number(v) => Some(*v),
                    Cell::Text(_) => None,
                }));
            }
            Arc::new(b.finish())
        } else {
            let mut b = StringBuilder::new();
            for cell in &cells {
                b.append_option(cell.map(Cell::csv));
            }
            Arc::new(b.finish())
        };
        fields.push(Field::new(name, array.data_type().clone(), true));
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// A string column's builder with room for `rows` values.
pub fn strings(rows: usize) -> StringBuilder {
    StringBuilder::with_capacity(rows, rows * 16)
}

/// A list-of-strings column's builder.
pub fn string_lists(rows: usize) -> ListBuilder<StringBuilder> {
    ListBuilder::with_capacity(StringBuilder::new(), rows)
}

/// A timestamp column's builder, in UTC.
pub fn timestamps(rows: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC")
}

/// The lines of a batch as CSV: numbers in full (floats in the shortest text that reads back
/// bit for bit), timestamps in RFC 3339, lists joined by `;`, nulls empty.
pub fn csv_rows(batch: &RecordBatch) -> Vec<u8> {
    write_csv((0..batch.num_rows()).map(|row| {
        batch
            .columns()
            .iter()
            .map(|column| csv_value(column.as_ref(), row))
            .collect()
    }))
}

/// The header line of a CSV of `schema`.
pub fn csv_header(schema: &Schema) -> Vec<u8> {
    write_csv(std::iter::once(
        schema
            .fields()
            .iter()
            .map(|f| csv_text(f.name()).into_owned())
            .collect(),
    ))
}

fn csv_value(column: &dyn Array, row: usize) -> String {
    if column.is_null(row) {
        return String::new();
    }
    match column.data_type() {
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float64 => super::exact(column.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => column.as_boolean().value(row).to_string(),
        DataType::Utf8 => csv_text(column.as_string::<i32>().value(row)).into_owned(),
        DataType::Timestamp(..) => {
            let micros = column.as_primitive::<TimestampMicrosecondType>().value(row);
            DateTime::<Utc>::from_timestamp_micros(micros)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                .unwrap_or_default()
        }
        DataType::Decimal128(_, scale) => {
            let digits = column.as_primitive::<Decimal128Type>().value(row);
            BigDecimal::new(BigInt::from(digits), i64::from(*scale)).to_plain_string()
        }
        DataType::List(_) => {
            let list = column.as_list::<i32>().value(row);
            let items = list.as_string::<i32>();
            let joined: Vec<&str> = items.iter().flatten().collect();
            csv_text(&joined.join(";")).into_owned()
        }
        other => format!("<{other}>"),
    }
}

/// Record batches written as an Arrow IPC stream where results go (standard output, or the
/// `-o` file).
pub struct IpcStream {
    writer: StreamWriter<BufWriter<Results>>,
}

impl std::fmt::Debug for IpcStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcStream").finish_non_exhaustive()
    }
}

impl IpcStream {
    pub fn new(schema: &SchemaRef) -> Result<Self> {
        let out = BufWriter::with_capacity(1 << 20, Results);
        Ok(Self {
            writer: StreamWriter::try_new(out, schema).map_err(written)?,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(written)
    }

    /// Writes the end of the stream.
    pub fn finish(mut self) -> Result<()> {
        self.writer.finish().map_err(written)?;
        self.writer
            .get_mut()
            .flush()
            .map_err(|e| written(ArrowError::IoError(e.to_string(), e)))
    }
}

/// An encoder's error: a closed pipe (`| head`) is the reader's choice, written as success by
/// the caller; anything else says it was writing.
fn written(e: ArrowError) -> anyhow::Error {
    match e {
        ArrowError::IoError(_, io) => match super::stdout_written(Err(io)) {
            Ok(()) => anyhow::Error::new(ClosedPipe),
            Err(e) => e,
        },
        other => anyhow::Error::new(other).context("writing Arrow"),
    }
}

/// The reader of standard output went away: nothing more to write, and no error.
#[derive(Debug, thiserror::Error)]
#[error("the reader closed the pipe")]
pub struct ClosedPipe;

/// Writes one table as a whole Arrow stream (rankings, pivots: small answers).
pub fn write_table(table: &Table) -> Result<()> {
    let batch = table_batch(table)?;
    let mut stream = IpcStream::new(&batch.schema())?;
    stream.write(&batch)?;
    stream.finish()
}
