//! `equity_points`: the equity curve of a run, hash-partitioned on run_id.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Serialize;

use super::numeric::Numeric;
use super::{Run, RunId};
use crate::schema::equity_points;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(
    table_name = equity_points,
    primary_key(run_id, seq),
    belongs_to(Run),
    check_for_backend(diesel::pg::Pg)
)]
pub struct EquityPoint {
    pub run_id: RunId,
    pub seq: i32,
    pub ts: DateTime<Utc>,
    pub equity: BigDecimal,
}

/// An equity row for COPY.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = equity_points, treat_none_as_default_value = false)]
pub struct NewEquityPoint<'a> {
    pub run_id: RunId,
    pub seq: i32,
    pub ts: DateTime<Utc>,
    pub equity: Numeric<'a>,
}

impl EquityPoint {
    /// Writes a run's equity curve with binary COPY.
    pub fn copy_in(conn: &mut PgConnection, rows: &[NewEquityPoint<'_>]) -> QueryResult<usize> {
        diesel::copy_from(equity_points::table)
            .from_insertable(rows)
            .execute(conn)
    }

    /// The curve of one run in order; the run_id equality prunes to one partition.
    pub fn for_run(
        run_id: RunId,
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

    /// The curves of a page of runs, in order (group them with `grouped_by(runs)`).
    pub fn for_runs(
        runs: &[Run],
    ) -> equity_points::BoxedQuery<
        'static,
        Pg,
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<EquityPoint, Pg>>,
    > {
        Self::for_run_ids(&runs.iter().map(|r| r.id).collect::<Vec<_>>())
    }

    /// The curves of the runs `ids`, in order: close ids as their id range (one pass over the
    /// BRIN index, curves being written in id order), others one BRIN pass per id
    /// ([`RunId::dense_range`]).
    pub fn for_run_ids(
        ids: &[RunId],
    ) -> equity_points::BoxedQuery<
        'static,
        Pg,
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<EquityPoint, Pg>>,
    > {
        let ids = ids.to_vec();
        let query = equity_points::table
            .order((equity_points::run_id, equity_points::seq))
            .select(Self::as_select())
            .into_boxed();
        match RunId::dense_range(&ids) {
            Some((low, high)) => query
                .filter(equity_points::run_id.between(low, high))
                .filter((equity_points::run_id + 0_i64).eq_any(ids)),
            None => query.filter(equity_points::run_id.eq_any(ids)),
        }
    }

    /// The points of the runs `ids` as `(run_id, seq, ts, value)`, each value to be read as the
    /// double nearest it ([`crate::models::numeric::NearestF64`]), in no order: sorting half a
    /// million rows merged from the partitions spilled to disk on the server, and costs a tenth
    /// of that where they are used. Close ids are read as their id range alone, so points of the runs
    /// between them come too: leave those out by id, since matching each point against the ids
    /// cost more than the whole read.
    pub fn floats_for(
        ids: &[RunId],
    ) -> equity_points::BoxedQuery<
        'static,
        Pg,
        (
            diesel::sql_types::BigInt,
            diesel::sql_types::Integer,
            diesel::sql_types::Timestamptz,
            diesel::sql_types::Numeric,
        ),
    > {
        let query = equity_points::table
            .select((
                equity_points::run_id,
                equity_points::seq,
                equity_points::ts,
                equity_points::equity,
            ))
            .into_boxed();
        match RunId::dense_range(ids) {
            Some((low, high)) => query.filter(equity_points::run_id.between(low, high)),
            None => query.filter(equity_points::run_id.eq_any(ids.to_vec())),
        }
    }
}
