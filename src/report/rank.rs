//! `rank`'s tables: strategies with their best runs, or single runs.

use super::{Cell, Table};
use crate::query::rank::{By, RunRank, StrategyRank};

/// Strategies ranked by `by` of `metric`; the deflated columns appear when the ranking has
/// them. The columns stay the same under any filter, so that CSV read by position never
/// shifts: `runs` is `-` (empty in CSV) where the ranking did not count them.
pub fn strategy_table(ranked: &[StrategyRank], by: By, metric: &str) -> Table {
    let deflated = ranked.iter().any(|r| r.deflated.is_some());
    let score = format!("{} {metric}", by.as_str());
    let mut header = vec!["rank", score.as_str(), "runs", "strategy", "best run"];
    if by != By::Best {
        header.push("best");
    }
    header.extend(["dataset", "params"]);
    if deflated {
        header.extend(["trials", "expected max", "deflated"]);
    }
    let mut table = Table::new(header);
    for r in ranked {
        let mut row: Vec<Cell> = vec![
            Cell::Int(r.rank as i64),
            r.score.into(),
            r.runs.map_or_else(|| "-".into(), Cell::Int),
            r.strategy.to_string().into(),
            r.best_run.id.0.into(),
        ];
        if by != By::Best {
            row.push(r.best_value.into());
        }
        row.extend([
            r.best_run.dataset.clone().into(),
            r.best_run.params.to_string().into(),
        ]);
        if let Some(d) = &r.deflated {
            row.extend([
                Cell::Int(d.trials),
                Cell::maybe(d.expected_max_sharpe),
                Cell::maybe(d.probability),
            ]);
        }
        table.push(row);
    }
    table
}

/// Single runs ranked by `metric` (`rank --runs`).
pub fn run_table(ranked: &[RunRank], metric: &str) -> Table {
    let psr = ranked.iter().any(|r| r.confidence.is_some());
    let mut header = vec!["rank", metric, "run", "strategy", "dataset", "params"];
    if psr {
        header.extend(["psr", "min track record (years)"]);
    }
    let mut table = Table::new(header);
    for r in ranked {
        let mut row: Vec<Cell> = vec![
            Cell::Int(r.rank as i64),
            r.value.into(),
            r.run.id.0.into(),
            r.run.strategy.to_string().into(),
            r.run.dataset.clone().into(),
            r.run.params.to_string().into(),
        ];
        if let Some(c) = &r.confidence {
            row.push(Cell::maybe(c.psr));
            row.push(Cell::maybe(c.min_track_record.map(|t| t.years)));
        }
        table.push(row);
    }
    table
}
