//! Writing validated runs: many per transaction, each all or nothing, idempotent.

use std::collections::HashMap;

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::turns::Ticket;
use crate::db::Layout;
use crate::document::fields::Objective;
use crate::document::{self, ValidRun};
use crate::models::equity_point::NewEquityPoint;
use crate::models::metric::NewMetric;
use crate::models::numeric::Numeric;
use crate::models::parameter_set::NewParameterSet;
use crate::models::run::NewRun;
use crate::models::strategy::NewStrategy;
use crate::models::trade::NewTrade;
use crate::models::{
    EquityPoint, IntermediateValue, Metric, MetricDirection, MetricSet, MetricSetId, ParameterSet,
    ParameterSetId, Run, RunId, RunStatus, Strategy, StrategyId, Sweep, SweepId, Trade,
};

/// What recording a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Recorded(RunId),
    /// The same run (same key, same content) was there already; nothing was written.
    AlreadyPresent(RunId),
    /// The key had other content, which this run replaced (`--replace`).
    Replaced(RunId),
    /// The same run was there in another sweep, or in none, and is now in this one's.
    Moved(RunId),
}

/// How a stored run compares with the run given under its key.
enum Compared {
    Same,
    /// Equal but for the sweep, which the given run names.
    InOtherSweep,
    /// Other content: the first field that differs, when known.
    Differs(Option<String>),
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "run_key `{key}` is already recorded with different content{}; nothing written \
         (--replace records this run in its place)",
        field.as_ref().map(|f| format!(" (first difference: {f})")).unwrap_or_default()
    )]
    Conflict { key: String, field: Option<String> },
    #[error(
        "run_key `{0}` was recorded and deleted by others while this run was written; record it again"
    )]
    Raced(String),
    #[error(
        "directions.{metric}: runs of strategy `{strategy}` already {declared} {metric}; a \
         strategy's metric ranks one way, so name this one otherwise; nothing written"
    )]
    Direction {
        metric: String,
        strategy: String,
        declared: &'static str,
    },
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Ids of strategies, parameter sets and sweeps a worker has seen committed. Nothing deletes
/// them while runs refer to them, so a cached id stays valid, and a batch of runs of a few
/// strategies skips their lookups. Names are keyed exactly as written: case-insensitive
/// matching stays the database's.
#[derive(Debug, Default)]
pub struct Parents {
    /// With whether the strategy row spells its name otherwise than this key does.
    strategies: HashMap<(String, String), (StrategyId, bool)>,
    parameter_sets: HashMap<(StrategyId, [u8; 32]), ParameterSetId>,
    sweeps: HashMap<String, SweepId>,
    /// By their names, sorted bytewise.
    metric_sets: HashMap<Vec<String>, MetricSetId>,
    /// Declared metric directions: whether lower is better.
    directions: HashMap<(StrategyId, String), bool>,
}

/// The parents one run is written with.
struct Used {
    strategy_id: StrategyId,
    spelled_otherwise: bool,
    parameter_set_id: ParameterSetId,
    sweep_id: Option<SweepId>,
    metric_set_id: Option<MetricSetId>,
}

/// A run's metric names, sorted bytewise (a `BTreeMap`'s order): its metric set.
fn metric_names(run: &ValidRun) -> Vec<String> {
    run.metrics.keys().cloned().collect()
}

impl Parents {
    /// Finds or creates the parents of `runs` that are not cached yet, in the order the runs
    /// were read (so that the strategy read first has the lower id), the group's new
    /// parameter sets with one statement, committed before the runs' transaction: no recorder
    /// holds a parent's lock while it writes runs, so concurrent groups cannot deadlock on
    /// parents. A run the database then refuses
    /// may leave its new parents without a run (`btdb delete --prune` removes such).
    fn resolve(&mut self, conn: &mut PgConnection, runs: &[&ValidRun]) -> QueryResult<()> {
        let mut missing = Vec::new();
        for run in runs {
            if let Some(name) = &run.sweep
                && !self.sweeps.contains_key(name)
            {
                let id = Sweep::find_or_create(conn, name)?.id;
                self.sweeps.insert(name.clone(), id);
            }
            let key = (run.strategy_name.clone(), run.strategy_version.clone());
            let strategy_id = match self.strategies.get(&key) {
                Some((id, _)) => *id,
                None => {
                    let new = NewStrategy {
                        name: &run.strategy_name,
                        version: &run.strategy_version,
                    };
                    let row = Strategy::find_or_create(conn, new)?;
                    self.strategies
                        .insert(key, (row.id, row.name != run.strategy_name));
                    row.id
                }
            };
            if !self
                .parameter_sets
                .contains_key(&(strategy_id, run.params_hash))
            {
                missing.push(NewParameterSet {
                    strategy_id,
                    params: &run.params,
                    params_hash: &run.params_hash,
                });
            }
        }
        let names: Vec<Vec<String>> = runs
            .iter()
            .filter(|run| !run.metrics.is_empty())
            .map(|run| metric_names(run))
            .filter(|names| !self.metric_sets.contains_key(names))
            .collect();
        if !names.is_empty() {
            let lists: Vec<&[String]> = names.iter().map(Vec::as_slice).collect();
            self.metric_sets
                .extend(MetricSet::find_or_create_all(conn, &lists)?);
        }
        if !missing.is_empty() {
            for ((strategy_id, hash), id) in ParameterSet::find_or_create_all(conn, &missing)? {
                if let Ok(hash) = hash.try_into() {
                    self.parameter_sets.insert((strategy_id, hash), id);
                }
            }
        }
        // Declared as parents are made, before the runs: the first declaration of a strategy's
        // metric stands, and a run declaring the other direction is refused (`conflict`).
        let mut undeclared: Vec<MetricDirection> = Vec::new();
        for run in runs {
            let strategy_id = self.of_strategy(run);
            for (name, objective) in &run.directions {
                let key = (strategy_id, name.clone());
                if !self.directions.contains_key(&key)
                    && !undeclared
                        .iter()
                        .any(|d| d.strategy_id == strategy_id && &d.name == name)
                {
                    undeclared.push(MetricDirection {
                        strategy_id,
                        name: name.clone(),
                        lower_is_better: *objective == Objective::Minimize,
                    });
                }
            }
        }
        if !undeclared.is_empty() {
            for declared in MetricDirection::declare(conn, &undeclared)? {
                self.directions.insert(
                    (declared.strategy_id, declared.name),
                    declared.lower_is_better,
                );
            }
        }
        Ok(())
    }

    fn of_strategy(&self, run: &ValidRun) -> StrategyId {
        self.strategies[&(run.strategy_name.clone(), run.strategy_version.clone())].0
    }

    /// A direction `run` declares against the one its strategy's metric has.
    fn conflict(&self, run: &ValidRun) -> Option<WriteError> {
        let strategy_id = self.of_strategy(run);
        run.directions.iter().find_map(|(name, objective)| {
            let lower = *self.directions.get(&(strategy_id, name.clone()))?;
            (lower != (*objective == Objective::Minimize)).then(|| WriteError::Direction {
                metric: name.clone(),
                strategy: run.strategy_name.clone(),
                declared: if lower { "minimise" } else { "maximise" },
            })
        })
    }

    /// The parents of a run that `resolve` has seen.
    fn of(&self, run: &ValidRun) -> Used {
        let (strategy_id, spelled_otherwise) =
            self.strategies[&(run.strategy_name.clone(), run.strategy_version.clone())];
        Used {
            strategy_id,
            spelled_otherwise,
            parameter_set_id: self.parameter_sets[&(strategy_id, run.params_hash)],
            sweep_id: run.sweep.as_ref().map(|name| self.sweeps[name]),
            metric_set_id: (!run.metrics.is_empty()).then(|| self.metric_sets[&metric_names(run)]),
        }
    }
}

/// Runs written in one transaction at most, and the document bytes a group may hold. Many
/// runs per commit and per COPY is what brings recording near raw COPY's speed: one commit
/// (one WAL flush) and one COPY per table for the group instead of per run. The bytes bound
/// keeps a group of large documents to a few of them.
pub const GROUP_RUNS: usize = 64;
pub const GROUP_BYTES: usize = 8 << 20;

/// How one group is written: the worker's parents, the batch's layout and `--replace`, and
/// the group's turn at the run id sequence.
#[derive(Debug)]
pub struct Writer<'a, 't> {
    pub parents: &'a mut Parents,
    pub layout: Layout,
    pub replace: bool,
    pub ticket: Ticket<'t>,
}

/// Records `runs`, outcomes in their order: those not recorded yet all in one transaction,
/// with one COPY per table. A group is all or nothing, so when it fails for any reason (a
/// constraint one run breaks, a deadlock, a serialisation failure) its runs are written again
/// one by one, each in its own transaction: a run that cannot be recorded fails alone, and
/// the others are recorded.
pub fn write_group(
    conn: &mut PgConnection,
    runs: &[&ValidRun],
    w: &mut Writer,
) -> Vec<Result<Written, WriteError>> {
    let mut keys: Vec<&str> = runs.iter().map(|r| r.run_key.as_str()).collect();
    keys.sort_unstable();
    // The same key twice in a group: the second is compared with the first once it is
    // committed, as it would be in a later group.
    let repeated = keys.windows(2).any(|w| w[0] == w[1]);
    if runs.len() > 1 && !repeated {
        match write_together(conn, runs, w) {
            Ok(outcomes) => return outcomes,
            Err(e) => tracing::debug!(
                "a group of {} runs was not recorded ({e}); recording them one by one",
                runs.len()
            ),
        }
    }
    runs.iter().map(|run| write_run(conn, run, w)).collect()
}

/// Records `run` unless it is there already: a group of one.
pub fn write_run(
    conn: &mut PgConnection,
    run: &ValidRun,
    w: &mut Writer,
) -> Result<Written, WriteError> {
    let mut attempts = 0;
    let mut pruned = 0;
    loop {
        if let Some((id, found)) = existing(conn, run, w.layout)? {
            return settle(conn, run, id, found, w);
        }
        w.parents.resolve(conn, &[run])?;
        if let Some(conflict) = w.parents.conflict(run) {
            return Err(conflict);
        }
        let ids = w.ticket.ids(conn, 1)?;
        let (parents, layout) = (&*w.parents, w.layout);
        let inserted = match conn.transaction(|conn| insert(conn, &[run], parents, layout, &ids)) {
            // A parent this recorder knew was pruned meanwhile (`btdb delete --prune` of the
            // last runs that used it): found, or made, again.
            Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _))
                if pruned < 2 =>
            {
                pruned += 1;
                *w.parents = Parents::default();
                continue;
            }
            inserted => inserted?,
        };
        match inserted.into_iter().next().flatten() {
            Some(id) => return Ok(Written::Recorded(id)),
            // Another recorder committed this key between the check and the insert: its run is
            // there to compare with now.
            None if attempts == 0 => attempts += 1,
            None => return Err(WriteError::Raced(run.run_key.clone())),
        }
    }
}

/// The group's runs already recorded are compared, the others inserted together.
fn write_together(
    conn: &mut PgConnection,
    runs: &[&ValidRun],
    w: &mut Writer,
) -> QueryResult<Vec<Result<Written, WriteError>>> {
    let keys: Vec<&str> = runs.iter().map(|r| r.run_key.as_str()).collect();
    let found: HashMap<String, (RunId, Vec<u8>)> = Run::found(conn, &keys, w.layout)?
        .into_iter()
        .map(|(key, id, hash)| (key, (id, hash)))
        .collect();
    let mut fresh: Vec<&ValidRun> = runs
        .iter()
        .filter(|r| !found.contains_key(&r.run_key))
        .copied()
        .collect();
    let mut refused: HashMap<&str, WriteError> = HashMap::new();
    let inserted = if fresh.is_empty() {
        Vec::new()
    } else {
        w.parents.resolve(conn, &fresh)?;
        fresh.retain(|run| match w.parents.conflict(run) {
            Some(conflict) => {
                refused.insert(run.run_key.as_str(), conflict);
                false
            }
            None => true,
        });
        if fresh.is_empty() {
            Vec::new()
        } else {
            let ids = w.ticket.ids(conn, fresh.len())?;
            let (parents, layout) = (&*w.parents, w.layout);
            conn.transaction(|conn| insert(conn, &fresh, parents, layout, &ids))?
        }
    };
    let mut recorded: HashMap<&str, RunId> = fresh
        .iter()
        .zip(inserted)
        .filter_map(|(run, got)| Some((run.run_key.as_str(), got?)))
        .collect();
    let mut outcomes = Vec::with_capacity(runs.len());
    for run in runs {
        let outcome = if let Some((id, hash)) = found.get(&run.run_key) {
            let compared = compare(conn, run, *id, hash);
            settle(conn, run, *id, compared, w)
        } else if let Some(conflict) = refused.remove(run.run_key.as_str()) {
            Err(conflict)
        } else if let Some(id) = recorded.remove(run.run_key.as_str()) {
            Ok(Written::Recorded(id))
        } else {
            // Committed by another recorder meanwhile: compared like any run found.
            write_run(conn, run, w)
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The stored run under `run`'s key, if any, compared with it.
fn existing(
    conn: &mut PgConnection,
    run: &ValidRun,
    layout: Layout,
) -> QueryResult<Option<(RunId, Compared)>> {
    let found = Run::found(conn, &[run.run_key.as_str()], layout)?;
    Ok(found
        .into_iter()
        .next()
        .map(|(_, id, hash)| (id, compare(conn, run, id, &hash))))
}

/// What a comparison with the stored run `old` comes to: the same run; the same run moved
/// into the sweep this one names (in none, or in another, before); or other content, refused,
/// unless `replace` asks for the stored run to be replaced by `run`: deleted with its rows,
/// and `run` recorded, in one transaction (a new id; the key stays).
fn settle(
    conn: &mut PgConnection,
    run: &ValidRun,
    old: RunId,
    compared: Compared,
    w: &mut Writer,
) -> Result<Written, WriteError> {
    let field = match compared {
        Compared::Same => return Ok(Written::AlreadyPresent(old)),
        Compared::InOtherSweep => {
            w.parents.resolve(conn, &[run])?;
            let sweep = w.parents.of(run).sweep_id;
            // The hash follows the sweep, so that the next import finds the run the same.
            return match Run::move_to_sweep(conn, old, sweep, &run.content_hash)? {
                0 => Err(WriteError::Raced(run.run_key.clone())),
                _ => Ok(Written::Moved(old)),
            };
        }
        Compared::Differs(field) => field,
    };
    if !w.replace {
        return Err(WriteError::Conflict {
            key: run.run_key.clone(),
            field,
        });
    }
    w.parents.resolve(conn, &[run])?;
    if let Some(conflict) = w.parents.conflict(run) {
        return Err(conflict);
    }
    // Taken before the old run's rows are locked, so that no lock is held while waiting.
    let ids = w.ticket.ids(conn, 1)?;
    let (parents, layout) = (&*w.parents, w.layout);
    let inserted = conn.transaction(|conn| {
        let gone = crate::query::delete::remove_run_blocking(conn, old)?;
        // On Citus no trigger notes the group the old run leaves, and its key is claimed in
        // run_keys: freed here, as `btdb delete` frees it.
        if layout == Layout::Distributed {
            for run in &gone {
                Run::free_key(conn, &run.run_key)?;
            }
            let groups: Vec<(StrategyId, &str)> = gone
                .iter()
                .filter(|r| r.completed)
                .map(|r| (r.strategy_id, r.dataset.as_str()))
                .collect();
            if !groups.is_empty() {
                crate::query::summary::note_blocking(conn, &groups)?;
            }
        }
        let inserted = insert(conn, &[run], parents, layout, &ids)?;
        // A note is the analyst's, not the document's: the replacement keeps it.
        if let (Some(Some(id)), Some(note)) = (
            inserted.first(),
            gone.iter().find_map(|r| r.note.as_deref()),
        ) {
            Run::set_note(conn, *id, note)?;
        }
        QueryResult::Ok(inserted)
    })?;
    match inserted.into_iter().next().flatten() {
        Some(id) => Ok(Written::Replaced(id)),
        None => Err(WriteError::Raced(run.run_key.clone())),
    }
}

/// The stored run `id` against `run`, read back only when the hashes differ (rare: a conflict,
/// a sweep given on recording again, or floats a former parser read a bit off). A run given
/// without a sweep is the same as its stored self in a sweep: recording a file again does not
/// take its runs out of the sweep they were put in.
fn compare(conn: &mut PgConnection, run: &ValidRun, id: RunId, hash: &[u8]) -> Compared {
    if hash == run.content_hash {
        return Compared::Same;
    }
    let Some(stored) = crate::query::export::stored_document(conn, id)
        .ok()
        .flatten()
        .and_then(|doc| document::parse(&doc.to_string()).ok())
        .and_then(|doc| document::validate(doc, None).ok())
    else {
        return Compared::Differs(None);
    };
    // Compared as if given in the stored run's sweep: the sweep alone never conflicts.
    let moved = run.sweep.is_some() && stored.sweep != run.sweep;
    let mut given = run.clone();
    given.sweep.clone_from(&stored.sweep);
    if !document::run::same_but_for_last_bits(&stored, &given) {
        Compared::Differs(document::run::first_difference(&stored, &given))
    } else if moved {
        Compared::InOtherSweep
    } else {
        Compared::Same
    }
}

/// The runs' rows, with one statement per table, their parents already resolved: `None` for
/// a run whose key another recorder committed meanwhile (nothing of it is written).
fn insert(
    conn: &mut PgConnection,
    runs: &[&ValidRun],
    parents: &Parents,
    layout: Layout,
    ids: &[RunId],
) -> QueryResult<Vec<Option<RunId>>> {
    let used: Vec<Used> = runs.iter().map(|run| parents.of(run)).collect();
    // Ids (`ids`, rising) in the order the runs were read; rows in run_key order, the order in
    // which every recorder takes the unique index's locks.
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_unstable_by(|&a, &b| runs[a].run_key.cmp(&runs[b].run_key));
    let rows: Vec<NewRun> = order
        .iter()
        .map(|&i| {
            let (run, used) = (runs[i], &used[i]);
            NewRun {
                id: ids[i],
                run_key: &run.run_key,
                content_hash: &run.content_hash,
                strategy_id: used.strategy_id,
                parameter_set_id: used.parameter_set_id,
                sweep_id: used.sweep_id,
                dataset: &run.dataset,
                status: run.status,
                period_start: run.period_start,
                period_end: run.period_end,
                initial_capital: run.initial_capital.as_ref(),
                periods_per_year: run.periods_per_year,
                tags: &run.tags,
                supplied_metrics: &run.supplied_metrics,
                strategy_spelling: used.spelled_otherwise.then_some(run.strategy_name.as_str()),
                trial: run.trial,
                started_at: run.started_at,
                finished_at: run.finished_at,
                directions: (!run.directions.is_empty()).then(|| {
                    serde_json::Value::Object(
                        run.directions
                            .iter()
                            .map(|(name, objective)| (name.clone(), objective.as_str().into()))
                            .collect(),
                    )
                }),
                search_space: run.search_space.as_ref(),
                metric_set_id: used.metric_set_id,
                metric_values: used
                    .metric_set_id
                    .map(|_| run.metrics.values().copied().collect()),
            }
        })
        .collect();
    let inserted: HashMap<String, RunId> =
        Run::insert_new(conn, &rows, layout)?.into_iter().collect();

    let (mut metrics, mut trades, mut points) = (Vec::new(), Vec::new(), Vec::new());
    let mut intermediate = Vec::new();
    let mut out = Vec::with_capacity(runs.len());
    for (run, used) in runs.iter().zip(&used) {
        let Some(&run_id) = inserted.get(&run.run_key) else {
            out.push(None);
            continue;
        };
        metrics.extend(run.metrics.iter().map(|(name, value)| NewMetric {
            run_id,
            name,
            value: *value,
            strategy_id: used.strategy_id,
            parameter_set_id: used.parameter_set_id,
            dataset: &run.dataset,
            completed: run.status == RunStatus::Completed,
        }));
        trades.extend(run.trades.iter().zip(0..).map(|(t, seq)| NewTrade {
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
            entry_tag: t.entry_tag.as_deref(),
            exit_reason: t.exit_reason.as_deref(),
            leverage: t.leverage.as_ref().map(Numeric),
        }));
        points.extend(
            run.equity
                .iter()
                .zip(0..)
                .map(|((ts, equity), seq)| NewEquityPoint {
                    run_id,
                    seq,
                    ts: *ts,
                    equity: Numeric(equity),
                }),
        );
        intermediate.extend(
            run.intermediate
                .iter()
                .map(|&(step, value)| IntermediateValue {
                    run_id,
                    step,
                    value,
                }),
        );
        out.push(Some(run_id));
    }
    if !intermediate.is_empty() {
        IntermediateValue::copy_in(conn, &intermediate)?;
    }
    if !metrics.is_empty() {
        Metric::copy_in(conn, &metrics)?;
    }
    if !trades.is_empty() {
        Trade::copy_in(conn, &trades)?;
    }
    if !points.is_empty() {
        EquityPoint::copy_in(conn, &points)?;
    }
    // Last, so that the note's lock is held only while the transaction commits.
    if layout.notes_changes() {
        let groups: Vec<(StrategyId, &str)> = runs
            .iter()
            .zip(&used)
            .zip(&out)
            .filter(|((run, _), id)| id.is_some() && run.status == RunStatus::Completed)
            .map(|((run, used), _)| (used.strategy_id, run.dataset.as_str()))
            .collect();
        if !groups.is_empty() {
            crate::query::summary::note_blocking(conn, &groups)?;
        }
    }
    Ok(out)
}
