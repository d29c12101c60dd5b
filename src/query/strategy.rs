//! One strategy at a glance: its versions, the data sets and sweeps its runs are on, and the
//! names of the parameters its sweeps vary.

use crate::db::{Layout, Reader};
use anyhow::Result;
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;

use super::StrategyRef;
use super::filter::RunFilter;
use crate::db::explain::load;
use crate::models::{Strategy, StrategyId};
use crate::schema::{parameter_kinds, parameter_sets, runs, strategies, sweeps};

/// A name with the number of runs under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counted {
    pub name: String,
    pub runs: i64,
}

/// A sweep with the number of the strategy's runs in it, and its note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepCount {
    pub name: String,
    pub runs: i64,
    pub note: Option<String>,
}

/// What a strategy's page shows before any comparison (`/api/strategies/{name}`).
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub name: String,
    pub versions: Vec<StrategyRef>,
    pub datasets: Vec<Counted>,
    pub sweeps: Vec<SweepCount>,
    pub parameters: Vec<String>,
}

impl Overview {
    /// The strategy named `name` (in any case, every version), in five queries; an unknown
    /// name is the error `compare` gives, with the close matches.
    pub async fn load(conn: &mut Reader<'_>, name: &str) -> Result<Self> {
        let filter = RunFilter {
            strategy: Some(name.to_owned()),
            ..RunFilter::default()
        }
        .resolve(conn)
        .await?;
        let ids: Vec<StrategyId> = filter.strategy_ids.unwrap_or_default();
        let versions: Vec<Strategy> = load(conn, || {
            strategies::table
                .filter(strategies::id.eq_any(ids.clone()))
                .order(strategies::id)
                .select(Strategy::as_select())
        })
        .await?;
        let datasets: Vec<(String, i64)> = load(conn, || {
            runs::table
                .filter(runs::strategy_id.eq_any(ids.clone()))
                .group_by(runs::dataset)
                .select((runs::dataset, count_star()))
                .order(runs::dataset)
        })
        .await?;
        let sweeps: Vec<(String, Option<String>, i64)> = load(conn, || {
            runs::table
                .inner_join(sweeps::table)
                .filter(runs::strategy_id.eq_any(ids.clone()))
                .group_by((sweeps::name, sweeps::note))
                .select((sweeps::name, sweeps::note, count_star()))
                .order(sweeps::name)
        })
        .await?;
        // On one server from the keys `parameter_kinds` keeps (a few rows per strategy): the
        // keys of every parameter set took 2.7 ms of the page's 7 for a 500-set sweep.
        let mut parameters: Vec<String> = match conn.layout() {
            Layout::Single => {
                load(conn, || {
                    parameter_kinds::table
                        .filter(parameter_kinds::strategy_id.eq_any(ids.clone()))
                        .select(parameter_kinds::key)
                        .distinct()
                })
                .await?
            }
            Layout::Distributed => {
                load(conn, || {
                    parameter_sets::table
                        .filter(parameter_sets::strategy_id.eq_any(ids.clone()))
                        .select(sql::<Text>("jsonb_object_keys(params)"))
                        .distinct()
                })
                .await?
            }
        };
        parameters.sort();
        let counted = |rows: Vec<(String, i64)>| {
            rows.into_iter()
                .map(|(name, runs)| Counted { name, runs })
                .collect()
        };
        Ok(Self {
            name: name.to_owned(),
            versions: versions.into_iter().map(StrategyRef::from).collect(),
            datasets: counted(datasets),
            sweeps: sweeps
                .into_iter()
                .map(|(name, note, runs)| SweepCount { name, runs, note })
                .collect(),
            parameters,
        })
    }
}
