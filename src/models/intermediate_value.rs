//! `intermediate_values`: what a run reported by step while it ran (Optuna's `trial.report`).

use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Serialize;

use super::{Run, RunId};
use crate::schema::intermediate_values;

#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Identifiable,
    Associations,
    Insertable,
    Serialize,
)]
#[diesel(
    table_name = intermediate_values,
    treat_none_as_default_value = false,
    primary_key(run_id, step),
    belongs_to(Run),
    check_for_backend(diesel::pg::Pg)
)]
pub struct IntermediateValue {
    #[serde(skip)]
    pub run_id: RunId,
    pub step: i64,
    pub value: f64,
}

type Select = diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<IntermediateValue, Pg>>;

impl IntermediateValue {
    /// Writes runs' values with binary COPY.
    pub fn copy_in(conn: &mut PgConnection, rows: &[IntermediateValue]) -> QueryResult<usize> {
        diesel::copy_from(intermediate_values::table)
            .from_insertable(rows)
            .execute(conn)
    }

    /// The values of one run in step order.
    pub fn for_run(run_id: RunId) -> intermediate_values::BoxedQuery<'static, Pg, Select> {
        intermediate_values::table
            .filter(intermediate_values::run_id.eq(run_id))
            .order(intermediate_values::step)
            .select(Self::as_select())
            .into_boxed()
    }

    /// The values of a page of runs, in order (group them with `grouped_by(runs)`).
    pub fn for_runs(runs: &[Run]) -> intermediate_values::BoxedQuery<'_, Pg, Select> {
        Self::belonging_to(runs)
            .select(Self::as_select())
            .order((intermediate_values::run_id, intermediate_values::step))
            .into_boxed()
    }
}
