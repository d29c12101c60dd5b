//! Writing one validated run: one transaction, all or nothing, idempotent.

use std::collections::HashMap;

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;

use super::validate::ValidRun;
use crate::db::error::{self, ServerError};
use crate::models::equity_point::NewEquityPoint;
use crate::models::metric::NewMetric;
use crate::models::numeric::Numeric;
use crate::models::parameter_set::NewParameterSet;
use crate::models::run::NewRun;
use crate::models::strategy::NewStrategy;
use crate::models::trade::NewTrade;
use crate::models::{
    EquityPoint, Metric, ParameterSet, ParameterSetId, Run, RunId, RunStatus, Strategy, StrategyId,
    Sweep, SweepId, Trade,
};

/// What recording a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Recorded(RunId),
    /// The same run (same key, same content) was there already; nothing was written.
    AlreadyPresent(RunId),
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("run_key `{0}` is already recorded with different content; nothing written")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Ids of strategies, parameter sets and sweeps a worker has seen committed. Nothing deletes
/// them, so a cached id stays valid, and a batch of runs of a few strategies skips their
/// lookups. Names are keyed exactly as written: case-insensitive matching stays the database's.
#[derive(Debug, Default)]
pub struct Parents {
    /// With whether the strategy row spells its name otherwise than this key does.
    strategies: HashMap<(String, String), (StrategyId, bool)>,
    parameter_sets: HashMap<(StrategyId, [u8; 32]), ParameterSetId>,
    sweeps: HashMap<String, SweepId>,
}

/// The parents one run was written with, remembered once its transaction commits.
struct Used {
    strategy_id: StrategyId,
    spelled_otherwise: bool,
    parameter_set_id: ParameterSetId,
    sweep_id: Option<SweepId>,
}

impl Parents {
    fn remember(&mut self, run: &ValidRun, used: &Used) {
        self.strategies.insert(
            (run.strategy_name.clone(), run.strategy_version.clone()),
            (used.strategy_id, used.spelled_otherwise),
        );
        self.parameter_sets
            .insert((used.strategy_id, run.params_hash), used.parameter_set_id);
        if let (Some(name), Some(id)) = (&run.sweep, used.sweep_id) {
            self.sweeps.insert(name.clone(), id);
        }
    }
}

/// Records `run` unless it is there already. A concurrent recorder of the same run_key loses
/// the race on the unique index; it then finds the winner's run like any later recorder would.
pub fn write_run(
    conn: &mut PgConnection,
    run: &ValidRun,
    parents: &mut Parents,
) -> Result<Written, WriteError> {
    let mut attempts = 0;
    loop {
        if let Some(found) = existing(conn, run)? {
            return found;
        }
        match conn.transaction(|conn| insert(conn, run, parents)) {
            Ok((id, used)) => {
                parents.remember(run, &used);
                return Ok(Written::Recorded(id));
            }
            // Parents are found or created with ON CONFLICT, so the one unique index an insert
            // can hit is the run_key's: another recorder committed this key first. Its run is
            // there to compare with now; a second violation with no run found is no race.
            Err(e) if error::kind(&e) == Some(ServerError::UniqueViolation) && attempts == 0 => {
                attempts += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn existing(
    conn: &mut PgConnection,
    run: &ValidRun,
) -> QueryResult<Option<Result<Written, WriteError>>> {
    let found: Option<(RunId, Vec<u8>)> = Run::by_key(&run.run_key).first(conn).optional()?;
    Ok(found.map(|(id, hash)| {
        if hash == run.content_hash {
            Ok(Written::AlreadyPresent(id))
        } else {
            Err(WriteError::Conflict(run.run_key.clone()))
        }
    }))
}

/// The run's rows, parents first, each found or created in the order every recorder uses (so
/// concurrent recorders wait on each other instead of deadlocking).
fn insert(
    conn: &mut PgConnection,
    run: &ValidRun,
    parents: &Parents,
) -> QueryResult<(RunId, Used)> {
    let sweep_id = match &run.sweep {
        Some(name) => match parents.sweeps.get(name) {
            Some(id) => Some(*id),
            None => Some(Sweep::find_or_create(conn, name)?.id),
        },
        None => None,
    };
    let strategy_key = (run.strategy_name.clone(), run.strategy_version.clone());
    let (strategy_id, spelled_otherwise) = match parents.strategies.get(&strategy_key) {
        Some(found) => *found,
        None => {
            let new = NewStrategy {
                name: &run.strategy_name,
                version: &run.strategy_version,
            };
            let row = Strategy::find_or_create(conn, new)?;
            (row.id, row.name != run.strategy_name)
        }
    };
    let parameter_set_id = match parents.parameter_sets.get(&(strategy_id, run.params_hash)) {
        Some(id) => *id,
        None => {
            let new = NewParameterSet {
                strategy_id,
                params: &run.params,
                params_hash: &run.params_hash,
            };
            ParameterSet::find_or_create(conn, new)?.id
        }
    };
    let run_id = Run::insert(
        conn,
        &NewRun {
            run_key: &run.run_key,
            content_hash: &run.content_hash,
            strategy_id,
            parameter_set_id,
            sweep_id,
            dataset: &run.dataset,
            status: run.status,
            period_start: run.period_start,
            period_end: run.period_end,
            initial_capital: run.initial_capital.as_ref(),
            periods_per_year: run.periods_per_year,
            tags: &run.tags,
            supplied_metrics: &run.supplied_metrics,
            strategy_spelling: spelled_otherwise.then_some(run.strategy_name.as_str()),
        },
    )?;
    let metrics: Vec<NewMetric> = run
        .metrics
        .iter()
        .map(|(name, value)| NewMetric {
            run_id,
            name,
            value: *value,
            strategy_id,
            parameter_set_id,
            dataset: &run.dataset,
            completed: run.status == RunStatus::Completed,
        })
        .collect();
    if !metrics.is_empty() {
        Metric::copy_in(conn, &metrics)?;
    }
    if !run.trades.is_empty() {
        let trades: Vec<NewTrade> = run
            .trades
            .iter()
            .zip(0..)
            .map(|(t, seq)| NewTrade {
                run_id,
                seq,
                symbol: &t.symbol,
                side: t.side,
                quantity: Numeric(&t.quantity),
                entry_time: t.entry_time,
                entry_price: Numeric(&t.entry_price),
                exit_time: t.exit_time,
                exit_price: Numeric(&t.exit_price),
                fees: Numeric(&t.fees),
                pnl: Numeric(&t.pnl),
            })
            .collect();
        Trade::copy_in(conn, &trades)?;
    }
    if !run.equity.is_empty() {
        let points: Vec<NewEquityPoint> = run
            .equity
            .iter()
            .zip(0..)
            .map(|((ts, equity), seq)| NewEquityPoint {
                run_id,
                seq,
                ts: *ts,
                equity: Numeric(equity),
            })
            .collect();
        EquityPoint::copy_in(conn, &points)?;
    }
    Ok((
        run_id,
        Used {
            strategy_id,
            spelled_otherwise,
            parameter_set_id,
            sweep_id,
        },
    ))
}
