//! Which way a ranking of one metric runs: as the strategies' runs declared it (an Optuna study
//! that minimises its objective), else as `metrics::direction` has it.

use anyhow::{Result, bail};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;

use crate::db::explain::load;
use crate::metrics::{Direction, direction};
use crate::models::{MetricDirection, StrategyId};
use crate::schema::strategies;

/// The direction of `metric` over the strategies `ids` (every one when `None`). Strategies
/// that declared opposite directions cannot be ranked together: that is an error naming
/// one of each, unless the caller chooses the order itself.
pub async fn of_metric(
    conn: &mut AsyncPgConnection,
    metric: &str,
    ids: Option<Vec<StrategyId>>,
) -> Result<Direction> {
    let declared: Vec<(MetricDirection, String)> = load(conn, || {
        MetricDirection::of_metric(metric, ids.clone())
            .inner_join(strategies::table)
            .select((MetricDirection::as_select(), strategies::name))
            .order(strategies::name)
    })
    .await?;
    let lower = declared.iter().find(|(d, _)| d.lower_is_better);
    let higher = declared.iter().find(|(d, _)| !d.lower_is_better);
    match (lower, higher) {
        (Some((_, low)), Some((_, high))) => bail!(
            "`{metric}` is minimised by strategy `{low}` and maximised by `{high}`: rank one of \
             them (--strategy), or choose the order (--asc or --desc)"
        ),
        (Some(_), None) => Ok(Direction::LowerIsBetter),
        (None, Some(_)) => Ok(Direction::HigherIsBetter),
        (None, None) => Ok(direction(metric)),
    }
}
