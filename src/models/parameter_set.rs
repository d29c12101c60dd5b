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

/// A parameter set's strategy and hash: what identifies it.
pub type SetKey = (StrategyId, Vec<u8>);

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

    /// The ids of the parameter sets `news`, those missing created with one statement: on
    /// Citus, where `parameter_sets` is a reference table, every statement that writes it is a
    /// commit on every node, so a group's new sets cost one such commit, not one each. Rows
    /// are written in (strategy, hash) order, the order every recorder takes the unique
    /// index's locks in. A set another recorder is writing meanwhile is waited for, then read.
    pub fn find_or_create_all(
        conn: &mut PgConnection,
        news: &[NewParameterSet<'_>],
    ) -> QueryResult<Vec<(SetKey, ParameterSetId)>> {
        let mut news: Vec<NewParameterSet<'_>> = news.to_vec();
        news.sort_unstable_by(|a, b| {
            (a.strategy_id, a.params_hash).cmp(&(b.strategy_id, b.params_hash))
        });
        news.dedup_by(|a, b| (a.strategy_id, a.params_hash) == (b.strategy_id, b.params_hash));
        fn keyed(
            rows: Vec<(StrategyId, Vec<u8>, ParameterSetId)>,
        ) -> impl Iterator<Item = (SetKey, ParameterSetId)> {
            rows.into_iter()
                .map(|(strategy, hash, id)| ((strategy, hash), id))
        }
        let find = |conn: &mut PgConnection, news: &[NewParameterSet<'_>]| {
            let strategies: Vec<StrategyId> = news.iter().map(|n| n.strategy_id).collect();
            let hashes: Vec<&[u8]> = news.iter().map(|n| n.params_hash).collect();
            parameter_sets::table
                .filter(parameter_sets::strategy_id.eq_any(strategies))
                .filter(parameter_sets::params_hash.eq_any(hashes))
                .select((
                    parameter_sets::strategy_id,
                    parameter_sets::params_hash,
                    parameter_sets::id,
                ))
                .load::<(StrategyId, Vec<u8>, ParameterSetId)>(conn)
                .map(keyed)
        };
        let mut found: std::collections::HashMap<SetKey, ParameterSetId> =
            find(conn, &news)?.collect();
        let missing: Vec<NewParameterSet<'_>> = news
            .iter()
            .filter(|n| !found.contains_key(&(n.strategy_id, n.params_hash.to_vec())))
            .copied()
            .collect();
        if !missing.is_empty() {
            let created: Vec<(StrategyId, Vec<u8>, ParameterSetId)> =
                diesel::insert_into(parameter_sets::table)
                    .values(&missing)
                    .on_conflict((parameter_sets::strategy_id, parameter_sets::params_hash))
                    .do_nothing()
                    .returning((
                        parameter_sets::strategy_id,
                        parameter_sets::params_hash,
                        parameter_sets::id,
                    ))
                    .get_results(conn)?;
            found.extend(keyed(created));
            let raced: Vec<NewParameterSet<'_>> = missing
                .into_iter()
                .filter(|n| !found.contains_key(&(n.strategy_id, n.params_hash.to_vec())))
                .collect();
            if !raced.is_empty() {
                found.extend(find(conn, &raced)?);
            }
        }
        // The candidates of `find` pair every strategy with every hash: only those asked for.
        Ok(news
            .iter()
            .filter_map(|n| {
                let key = (n.strategy_id, n.params_hash.to_vec());
                found.get(&key).map(|id| (key, *id))
            })
            .collect())
    }
}
