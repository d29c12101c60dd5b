//! `metric_directions`: the way a strategy's metric ranks where a run's document declared it
//! (an Optuna study that minimises its objective). Undeclared metrics rank as
//! `metrics::direction` says.

use diesel::pg::Pg;
use diesel::prelude::*;

use super::StrategyId;
use crate::metrics::Direction;
use crate::schema::metric_directions;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = metric_directions, check_for_backend(diesel::pg::Pg))]
pub struct MetricDirection {
    pub strategy_id: StrategyId,
    pub name: String,
    pub lower_is_better: bool,
}

impl MetricDirection {
    pub fn direction(&self) -> Direction {
        if self.lower_is_better {
            Direction::LowerIsBetter
        } else {
            Direction::HigherIsBetter
        }
    }

    /// Declares `rows` where nothing is declared yet, then reads back what is declared for
    /// them: a row read back that differs from the one given is a run declaring the other
    /// direction.
    pub fn declare(
        conn: &mut PgConnection,
        rows: &[MetricDirection],
    ) -> QueryResult<Vec<MetricDirection>> {
        diesel::insert_into(metric_directions::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)?;
        let mut declared = Vec::with_capacity(rows.len());
        for row in rows {
            declared.extend(
                metric_directions::table
                    .filter(metric_directions::name.eq(&row.name))
                    .filter(metric_directions::strategy_id.eq(row.strategy_id))
                    .select(Self::as_select())
                    .first(conn)
                    .optional()?,
            );
        }
        Ok(declared)
    }

    /// What is declared for metric `name`, over the strategies `ids` or all.
    pub fn of_metric(
        name: &str,
        ids: Option<Vec<StrategyId>>,
    ) -> metric_directions::BoxedQuery<
        'static,
        Pg,
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Self, Pg>>,
    > {
        let query = metric_directions::table
            .filter(metric_directions::name.eq(name.to_owned()))
            .select(Self::as_select())
            .into_boxed();
        match ids {
            Some(ids) => query.filter(metric_directions::strategy_id.eq_any(ids)),
            None => query,
        }
    }
}
