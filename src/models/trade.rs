//! `trades`: the trades of a run, hash-partitioned on run_id.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Serialize;

use super::numeric::Numeric;
use super::{Run, RunId, text_enum};
use crate::schema::trades;

text_enum! {
    /// The direction of a trade; pnl's sign follows it.
    TradeSide {
        Long => "long",
        Short => "short",
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(
    table_name = trades,
    primary_key(run_id, seq),
    belongs_to(Run),
    check_for_backend(diesel::pg::Pg)
)]
pub struct Trade {
    #[serde(skip)]
    pub run_id: RunId,
    pub seq: i32,
    pub symbol: String,
    pub side: TradeSide,
    pub quantity: BigDecimal,
    pub entry_time: DateTime<Utc>,
    pub entry_price: BigDecimal,
    pub exit_time: DateTime<Utc>,
    pub exit_price: BigDecimal,
    pub fees: BigDecimal,
    pub pnl: BigDecimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leverage: Option<BigDecimal>,
}

/// A trade row for COPY: every column given, none left to a default.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = trades, treat_none_as_default_value = false)]
pub struct NewTrade<'a> {
    pub run_id: RunId,
    pub seq: i32,
    pub symbol: &'a str,
    pub side: TradeSide,
    pub quantity: Numeric<'a>,
    pub entry_time: DateTime<Utc>,
    pub entry_price: Numeric<'a>,
    pub exit_time: DateTime<Utc>,
    pub exit_price: Numeric<'a>,
    pub fees: Numeric<'a>,
    pub pnl: Numeric<'a>,
    pub entry_tag: Option<&'a str>,
    pub exit_reason: Option<&'a str>,
    pub leverage: Option<Numeric<'a>>,
}

impl Trade {
    /// Writes a run's trades with binary COPY.
    pub fn copy_in(conn: &mut PgConnection, rows: &[NewTrade<'_>]) -> QueryResult<usize> {
        diesel::copy_from(trades::table)
            .from_insertable(rows)
            .execute(conn)
    }

    /// The trades of one run in order; the run_id equality prunes to one partition.
    pub fn for_run(
        run_id: RunId,
    ) -> trades::BoxedQuery<'static, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Trade, Pg>>>
    {
        trades::table
            .filter(trades::run_id.eq(run_id))
            .order(trades::seq)
            .select(Self::as_select())
            .into_boxed()
    }

    /// Up to `limit` trades of one run after trade `after` (its `seq`), in order: a page that
    /// costs the same at any depth.
    pub fn page(
        run_id: RunId,
        after: Option<i32>,
        limit: i64,
    ) -> trades::BoxedQuery<'static, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Trade, Pg>>>
    {
        let mut query = Self::for_run(run_id);
        if let Some(after) = after {
            query = query.filter(trades::seq.gt(after));
        }
        query.limit(limit)
    }

    /// The trades of a page of runs, in order (group them with `grouped_by(runs)`).
    pub fn for_runs(
        runs: &[Run],
    ) -> trades::BoxedQuery<'_, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Trade, Pg>>> {
        Self::belonging_to(runs)
            .select(Self::as_select())
            .order((trades::run_id, trades::seq))
            .into_boxed()
    }

    /// The trades of the runs `ids`, by run and then by entry time (long-form tables).
    pub fn for_run_ids(
        ids: &[RunId],
    ) -> trades::BoxedQuery<'static, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Trade, Pg>>>
    {
        trades::table
            .filter(trades::run_id.eq_any(ids.to_vec()))
            .select(Self::as_select())
            .order((trades::run_id, trades::entry_time, trades::seq))
            .into_boxed()
    }
}
