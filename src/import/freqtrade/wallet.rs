//! Freqtrade's wallet (`STRATEGY_wallet.feather` in a result's zip): every currency's balance
//! at every candle, valued in the stake currency (`total_quote`), open trades at the candle's
//! rate. Their sum at a candle is the account's value then: a curve marked to market, where
//! the closed-trade balance moves only when a trade closes.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use arrow_array::{Array, Float64Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};

/// The wallet's value at each of its candles, in time order: the `total_quote` of every
/// currency at that `date`, added exactly as the decimals their doubles print as.
pub fn curve(feather: &[u8]) -> Result<Vec<(DateTime<Utc>, BigDecimal)>> {
    let reader = arrow_ipc::reader::FileReader::try_new(Cursor::new(feather), None)
        .context("not an Arrow (feather) file")?;
    let mut totals: BTreeMap<DateTime<Utc>, BigDecimal> = BTreeMap::new();
    for batch in reader {
        let batch = batch.context("an unreadable record batch")?;
        add(&batch, &mut totals)?;
    }
    if totals.is_empty() {
        bail!("the wallet holds no candle");
    }
    Ok(totals.into_iter().collect())
}

fn add(batch: &RecordBatch, totals: &mut BTreeMap<DateTime<Utc>, BigDecimal>) -> Result<()> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| anyhow!("no `{name}` column (a wallet has date, currency, total_quote)"))
    };
    let dates = column("date")?;
    let values = column("total_quote")?
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| anyhow!("total_quote: expected doubles"))?;
    // Any unit: a timestamp column holds i64 counts of it.
    let per_micro: fn(i64) -> Option<i64> = match dates.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => |v| v.checked_mul(1_000_000),
        DataType::Timestamp(TimeUnit::Millisecond, _) => |v| v.checked_mul(1_000),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Some,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => |v| Some(v.div_euclid(1_000)),
        other => bail!("date: expected timestamps, found {other}"),
    };
    let data = dates.to_data();
    let micros = data
        .buffer::<i64>(0)
        .iter()
        .enumerate()
        .map(|(i, v)| dates.is_valid(i).then(|| per_micro(*v)).flatten());
    for (row, at) in micros.enumerate() {
        let at = at
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| anyhow!("date: row {row} holds no time"))?;
        if !values.is_valid(row) {
            bail!("total_quote: row {row} holds no value");
        }
        let value = values.value(row);
        if !value.is_finite() {
            bail!("total_quote: row {row} holds {value}");
        }
        // A double's shortest decimal reads back as the same double.
        let exact = BigDecimal::from_str(&value.to_string())
            .map_err(|_| anyhow!("total_quote: row {row}: `{value}` is not a decimal"))?;
        *totals.entry(at).or_default() += exact;
    }
    Ok(())
}
