//! `parameter_kinds`: the kinds of value each strategy's parameters take (migration 15), kept by
//! triggers as parameter sets are written and deleted. One server only: on Citus the table is
//! not there.

use diesel::pg::Pg;
use diesel::prelude::*;

use super::StrategyId;
use crate::schema::parameter_kinds;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = parameter_kinds, check_for_backend(diesel::pg::Pg))]
pub struct ParameterKind {
    pub strategy_id: StrategyId,
    pub key: String,
    /// jsonb_typeof's name, numbers split into `int` and `float`.
    pub kind: String,
}

impl ParameterKind {
    /// The kinds of the strategies `ids`, or of every strategy.
    pub fn of_strategies(
        ids: Option<Vec<StrategyId>>,
    ) -> parameter_kinds::BoxedQuery<
        'static,
        Pg,
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Self, Pg>>,
    > {
        let query = parameter_kinds::table
            .select(Self::as_select())
            .into_boxed();
        match ids {
            Some(ids) => query.filter(parameter_kinds::strategy_id.eq_any(ids)),
            None => query,
        }
    }
}
