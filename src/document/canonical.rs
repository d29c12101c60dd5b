//! The canonical form of a run, fed straight into SHA-256: equal content gives equal hashes
//! whatever the document's formatting, key order, number spelling (`10` or `10.0`) or equity
//! form. Every value is typed and length-prefixed, so no two different runs encode alike.

use bigdecimal::num_bigint::BigInt;
use bigdecimal::num_traits::ToPrimitive;
use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::run::ValidRun;

/// Hashing goes through a buffer: thousands of tiny `update` calls cost more than the hashing.
#[derive(Debug, Default, Clone)]
pub struct Canonical {
    hasher: Sha256,
    buffer: Vec<u8>,
}

const FLUSH_AT: usize = 16 << 10;

impl Canonical {
    pub fn new() -> Self {
        Self::default()
    }

    fn put(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= FLUSH_AT {
            self.hasher.update(&self.buffer);
            self.buffer.clear();
        }
    }

    /// A field name: marks where each value belongs.
    pub fn field(&mut self, name: &str) -> &mut Self {
        self.put(b"f");
        self.bytes(name.as_bytes())
    }

    pub fn str(&mut self, text: &str) -> &mut Self {
        self.put(b"s");
        self.bytes(text.as_bytes())
    }

    pub fn opt_str(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            Some(text) => self.str(text),
            None => self.none(),
        }
    }

    pub fn none(&mut self) -> &mut Self {
        self.put(b"n");
        self
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.put(if value { b"T" } else { b"F" });
        self
    }

    /// The length of the list that follows.
    pub fn len(&mut self, n: usize) -> &mut Self {
        self.put(b"l");
        self.put(&(n as u64).to_le_bytes());
        self
    }

    pub fn f64(&mut self, value: f64) -> &mut Self {
        // -0.0 and 0.0 are one number.
        let value = if value == 0.0 { 0.0 } else { value };
        self.put(b"d");
        self.put(&value.to_bits().to_le_bytes());
        self
    }

    pub fn time(&mut self, t: DateTime<Utc>) -> &mut Self {
        self.put(b"t");
        self.put(&t.timestamp().to_le_bytes());
        self.put(&t.timestamp_subsec_nanos().to_le_bytes());
        self
    }

    pub fn opt_time(&mut self, t: Option<DateTime<Utc>>) -> &mut Self {
        match t {
            Some(t) => self.time(t),
            None => self.none(),
        }
    }

    /// A decimal by value: trailing zeros do not count.
    pub fn decimal(&mut self, value: &BigDecimal) -> &mut Self {
        let (digits, scale) = value.as_bigint_and_scale();
        if let Some(mantissa) = digits.to_i64() {
            return self.small_decimal(mantissa, scale);
        }
        let normalized = value.normalized();
        let (digits, scale) = normalized.as_bigint_and_scale();
        match digits.to_i64() {
            Some(mantissa) => self.small_decimal(mantissa, scale),
            None => {
                self.put(b"B");
                self.bytes(&BigInt::to_signed_bytes_le(&digits));
                self.put(&scale.to_le_bytes());
                self
            }
        }
    }

    pub fn opt_decimal(&mut self, value: Option<&BigDecimal>) -> &mut Self {
        match value {
            Some(value) => self.decimal(value),
            None => self.none(),
        }
    }

    fn small_decimal(&mut self, mut mantissa: i64, mut scale: i64) -> &mut Self {
        if mantissa.is_zero() {
            scale = 0;
        }
        while mantissa != 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        self.put(b"D");
        self.put(&mantissa.to_le_bytes());
        self.put(&scale.to_le_bytes());
        self
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.put(&(bytes.len() as u64).to_le_bytes());
        self.put(bytes);
        self
    }

    pub fn finish(&mut self) -> [u8; 32] {
        self.hasher.update(&self.buffer);
        self.buffer.clear();
        std::mem::take(&mut self.hasher).finalize().into()
    }
}

/// The content hash of `run`: its canonical form under document version 1, every field with
/// its default applied, `given_key` being the document's own `run_key` (none when the key is
/// derived from this hash). The order and spelling here are the contract that keys every
/// stored run (docs/run-document.md): `tests/document.rs` pins the hash of a fixed document.
pub fn content_hash(run: &ValidRun, given_key: Option<&str>) -> [u8; 32] {
    let mut canonical = Canonical::new();
    canonical
        .field("version")
        .str("1")
        .field("run_key")
        .opt_str(given_key)
        .field("strategy")
        .str(&run.strategy_name)
        .str(&run.strategy_version)
        .field("params")
        .str(&run.params.to_string())
        .field("dataset")
        .str(&run.dataset)
        .field("period_start")
        .opt_time(run.period_start)
        .field("period_end")
        .opt_time(run.period_end)
        .field("initial_capital")
        .opt_decimal(run.initial_capital.as_ref())
        .field("periods_per_year")
        .f64(run.periods_per_year)
        .field("sweep")
        .opt_str(run.sweep.as_deref())
        .field("tags")
        .len(run.tags.len());
    for tag in &run.tags {
        canonical.str(tag);
    }
    canonical
        .field("status")
        .str(run.status.as_str())
        .field("metrics")
        .len(run.supplied_metrics.len());
    for name in &run.supplied_metrics {
        let value = run.metrics.get(name).copied().unwrap_or(f64::NAN);
        canonical.str(name).f64(value);
    }
    canonical.field("trades").len(run.trades.len());
    for t in &run.trades {
        canonical
            .str(&t.symbol)
            .str(t.side.as_str())
            .decimal(&t.quantity)
            .time(t.entry_time)
            .decimal(&t.entry_price)
            .time(t.exit_time)
            .decimal(&t.exit_price)
            .decimal(&t.fees)
            .decimal(&t.pnl);
    }
    canonical.field("equity").len(run.equity.len());
    for (ts, value) in &run.equity {
        canonical.time(*ts).decimal(value);
    }
    // Fields added to version 1 later: hashed only when the document has them, so that every
    // document without them keeps the hash it had.
    if !run.directions.is_empty() {
        canonical.field("directions").len(run.directions.len());
        for (name, objective) in &run.directions {
            canonical.str(name).str(objective.as_str());
        }
    }
    if let Some(trial) = run.trial {
        canonical.field("trial").str(&trial.to_string());
    }
    if let Some(t) = run.started_at {
        canonical.field("started_at").time(t);
    }
    if let Some(t) = run.finished_at {
        canonical.field("finished_at").time(t);
    }
    if !run.intermediate.is_empty() {
        canonical.field("intermediate").len(run.intermediate.len());
        for (step, value) in &run.intermediate {
            canonical.str(&step.to_string()).f64(*value);
        }
    }
    if let Some(space) = &run.search_space {
        canonical.field("search_space").str(&space.to_string());
    }
    // A trade's entry_tag, exit_reason and leverage: all trades' in one section, there when
    // any trade has one, so that trades without them hash as before.
    if run
        .trades
        .iter()
        .any(|t| t.entry_tag.is_some() || t.exit_reason.is_some() || t.leverage.is_some())
    {
        canonical.field("trade_details").len(run.trades.len());
        for t in &run.trades {
            canonical
                .opt_str(t.entry_tag.as_deref())
                .opt_str(t.exit_reason.as_deref())
                .opt_decimal(t.leverage.as_ref());
        }
    }
    canonical.finish()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn hash_of(text: &str) -> [u8; 32] {
        Canonical::new()
            .decimal(&BigDecimal::from_str(text).unwrap())
            .finish()
    }

    #[test]
    fn equal_decimals_hash_alike_and_others_do_not() {
        assert_eq!(hash_of("10"), hash_of("10.000"));
        assert_eq!(hash_of("1e3"), hash_of("1000"));
        assert_eq!(hash_of("0"), hash_of("-0.00"));
        let big = "123456789012345678901234567890";
        assert_eq!(hash_of(big), hash_of(&format!("{big}.000")));
        // A big mantissa that normalises into an i64 meets the small form.
        assert_eq!(hash_of("100000000000000000000000000"), hash_of("1e26"));
        assert_ne!(hash_of("10"), hash_of("1"));
        assert_ne!(hash_of("0.1"), hash_of("1"));
        assert_ne!(hash_of("-1"), hash_of("1"));
    }

    #[test]
    fn adjacent_strings_cannot_run_together() {
        let ab_c = Canonical::new().str("ab").str("c").finish();
        let a_bc = Canonical::new().str("a").str("bc").finish();
        assert_ne!(ab_c, a_bc);
    }
}
