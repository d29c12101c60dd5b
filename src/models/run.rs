//! `runs`: one backtest run, immutable once recorded.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Serialize;

use super::{ParameterSet, Strategy, text_enum};
use crate::schema::runs;

text_enum! {
    /// How a backtest ended; only completed runs are ranked.
    RunStatus {
        Completed => "completed",
        Failed => "failed",
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(
    table_name = runs,
    belongs_to(Strategy),
    belongs_to(ParameterSet),
    check_for_backend(diesel::pg::Pg)
)]
pub struct Run {
    pub id: i64,
    pub run_key: String,
    #[serde(skip)]
    pub content_hash: Vec<u8>,
    pub strategy_id: i64,
    pub parameter_set_id: i64,
    pub sweep_id: Option<i64>,
    pub dataset: String,
    pub status: RunStatus,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub initial_capital: Option<BigDecimal>,
    pub periods_per_year: f64,
    pub tags: Vec<String>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = runs)]
pub struct NewRun<'a> {
    pub run_key: &'a str,
    pub content_hash: &'a [u8],
    pub strategy_id: i64,
    pub parameter_set_id: i64,
    pub sweep_id: Option<i64>,
    pub dataset: &'a str,
    pub status: RunStatus,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub initial_capital: Option<&'a BigDecimal>,
    pub periods_per_year: f64,
    pub tags: &'a [String],
}

/// Runs selected as `Run` rows, ready for more filters.
pub type RunQuery<'a> =
    runs::BoxedQuery<'a, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Run, Pg>>>;

impl Run {
    /// Writes the run row and returns its id.
    pub fn insert(conn: &mut PgConnection, new: &NewRun<'_>) -> QueryResult<i64> {
        diesel::insert_into(runs::table)
            .values(new)
            .returning(runs::id)
            .get_result(conn)
    }

    /// All runs, newest first: the start of every run listing.
    fn newest_first<'a>() -> RunQuery<'a> {
        runs::table
            .select(Self::as_select())
            .order(runs::id.desc())
            .into_boxed()
    }

    /// The id and content hash of the run recorded under `run_key`, for the idempotency check.
    pub fn by_key(
        run_key: &str,
    ) -> runs::BoxedQuery<'_, Pg, (diesel::sql_types::BigInt, diesel::sql_types::Bytea)> {
        runs::table
            .filter(runs::run_key.eq(run_key))
            .select((runs::id, runs::content_hash))
            .into_boxed()
    }

    /// Runs of one strategy on one data set, newest first, a page of `limit` older than `before`.
    pub fn for_strategy_dataset(
        strategy_id: i64,
        dataset: &str,
        before: Option<i64>,
        limit: i64,
    ) -> RunQuery<'_> {
        let mut query = Self::newest_first()
            .filter(runs::strategy_id.eq(strategy_id))
            .filter(runs::dataset.eq(dataset));
        // Keyset paging: the cursor is the last id shown, so a page costs the same at any depth.
        if let Some(before) = before {
            query = query.filter(runs::id.lt(before));
        }
        query.limit(limit)
    }

    /// Failed runs, newest first, a page of `limit` older than `before`.
    pub fn failed<'a>(before: Option<i64>, limit: i64) -> RunQuery<'a> {
        let mut query = Self::newest_first().filter(runs::status.eq(RunStatus::Failed));
        if let Some(before) = before {
            query = query.filter(runs::id.lt(before));
        }
        query.limit(limit)
    }
}
