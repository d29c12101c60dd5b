//! Ids of rows, one type per table, so that a strategy's id cannot be passed where a run's is
//! meant. Each is a `bigint` in the database and a plain number in JSON.

/// A row id of one table: `BIGINT` to Diesel, a number to serde and in text.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::AsExpression, diesel::FromSqlRow, serde::Serialize, serde::Deserialize,
        )]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl diesel::serialize::ToSql<diesel::sql_types::BigInt, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, diesel::pg::Pg>>::to_sql(
                    &self.0, out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::BigInt, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, diesel::pg::Pg>>::from_sql(
                    value,
                )
                .map(Self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }

        // The number alone, as the database holds it: bound values in `btdb explain`'s
        // statements (Diesel prints them with Debug) read as the SQL they stand for.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// `runs.id`, and the `run_id` of the rows a run owns.
    RunId
);
/// Ids are read as a range while it spans at most this many runs per run wanted.
const DENSE: i64 = 16;

impl RunId {
    /// The range `ids` span, when they are close (a page of a listing in recording order):
    /// the rows a run owns are then read as one range of their `run_id` index, the ids only
    /// filtering (`run_id + 0 = ANY(…)`). Ids far apart (runs picked from a sweep, a page sorted
    /// by a metric) would make that range most of the table: `None`, and they are matched by
    /// `run_id = ANY(…)`, whose thousands of probes the planner may otherwise trade for a scan
    /// of the whole table.
    pub fn dense_range(ids: &[RunId]) -> Option<(RunId, RunId)> {
        let low = ids.iter().min()?;
        let high = ids.iter().max()?;
        (high.0 - low.0 < DENSE * ids.len() as i64).then_some((*low, *high))
    }
}

id_type!(
    /// `strategies.id`.
    StrategyId
);
id_type!(
    /// `parameter_sets.id`.
    ParameterSetId
);
id_type!(
    /// `sweeps.id`.
    SweepId
);
id_type!(
    /// `metric_sets.id`.
    MetricSetId
);

#[cfg(test)]
mod tests {
    use super::RunId;

    #[test]
    fn an_id_prints_as_its_number_everywhere() {
        assert_eq!(format!("{:?} {}", RunId(7), RunId(7)), "7 7");
        assert_eq!(format!("{:?}", vec![RunId(1), RunId(2)]), "[1, 2]");
    }
}
