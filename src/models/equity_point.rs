//! `equity_points`: the equity curve of a run, hash-partitioned on run_id.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Serialize;

use super::Run;
use crate::schema::equity_points;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(
    table_name = equity_points,
    primary_key(run_id, seq),
    belongs_to(Run),
    check_for_backend(diesel::pg::Pg)
)]
pub struct EquityPoint {
    pub run_id: i64,
    pub seq: i32,
    pub ts: DateTime<Utc>,
    pub equity: BigDecimal,
}

impl EquityPoint {
    /// The curve of one run in order; the run_id equality prunes to one partition.
    pub fn for_run(
        run_id: i64,
    ) -> equity_points::BoxedQuery<
        'static,
        Pg,
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<EquityPoint, Pg>>,
    > {
        equity_points::table
            .filter(equity_points::run_id.eq(run_id))
            .order(equity_points::seq)
            .select(Self::as_select())
            .into_boxed()
    }
}
