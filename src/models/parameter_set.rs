//! `parameter_sets`: the distinct parameter sets each strategy was run with.

use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Serialize;

use super::{ParameterSetId, Strategy, StrategyId};
use crate::schema::parameter_sets;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(table_name = parameter_sets, belongs_to(Strategy), check_for_backend(diesel::pg::Pg))]
pub struct ParameterSet {
    pub id: ParameterSetId,
    pub strategy_id: StrategyId,
    pub params: serde_json::Value,
    #[serde(skip)]
    pub params_hash: Vec<u8>,
}

#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = parameter_sets)]
pub struct NewParameterSet<'a> {
    pub strategy_id: StrategyId,
    /// Canonical JSON object: keys sorted, numbers normalised (the record path builds it).
    pub params: &'a serde_json::Value,
    /// SHA-256 of the canonical JSON text.
    pub params_hash: &'a [u8],
}

impl ParameterSet {
    /// The parameter set of `strategy_id` whose canonical JSON hashes to `params_hash`.
    pub fn by_hash(
        strategy_id: StrategyId,
        params_hash: &[u8],
    ) -> parameter_sets::BoxedQuery<'_, Pg, SqlTypeOf<AsSelect<ParameterSet, Pg>>> {
        parameter_sets::table
            .filter(parameter_sets::strategy_id.eq(strategy_id))
            .filter(parameter_sets::params_hash.eq(params_hash))
            .select(Self::as_select())
            .into_boxed()
    }

    /// The parameter set of this strategy with this hash, created if it does not exist yet.
    pub fn find_or_create(conn: &mut PgConnection, new: NewParameterSet<'_>) -> QueryResult<Self> {
        super::find_or_create(
            conn,
            |conn| {
                diesel::insert_into(parameter_sets::table)
                    .values(new)
                    .on_conflict((parameter_sets::strategy_id, parameter_sets::params_hash))
                    .do_nothing()
                    .returning(Self::as_returning())
                    .get_result(conn)
            },
            |conn| Self::by_hash(new.strategy_id, new.params_hash).get_result(conn),
        )
    }
}
