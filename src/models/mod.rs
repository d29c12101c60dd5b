//! One file per table: the row type, its `New` type for inserts, and the table's own queries.
//!
//! Reading functions return the query itself, so that commands run it on a pooled async
//! connection and tests EXPLAIN it. Writing functions take a synchronous `PgConnection`: runs are
//! recorded through PostgreSQL's COPY, which Diesel offers on `PgConnection` and diesel-async
//! does not, and a run's writes share one transaction on one connection.

pub mod equity_point;
pub mod id;
pub mod intermediate_value;
pub mod metric;
pub mod metric_direction;
pub mod metric_set;
pub mod numeric;
pub mod parameter_kind;
pub mod parameter_set;
pub mod run;
pub mod strategy;
pub mod sweep;
pub mod trade;

pub use equity_point::EquityPoint;
pub use id::{MetricSetId, ParameterSetId, RunId, StrategyId, SweepId};
pub use intermediate_value::IntermediateValue;
pub use metric::{Metric, MetricName, MetricValue};
pub use metric_direction::MetricDirection;
pub use metric_set::{MetricSet, RunMetrics};
pub use parameter_kind::ParameterKind;
pub use parameter_set::ParameterSet;
pub use run::{Run, RunStatus};
pub use strategy::Strategy;
pub use sweep::Sweep;
pub use trade::{Trade, TradeSide};

/// A row found by its natural key, inserted first if it is not there. `insert` runs
/// `INSERT … ON CONFLICT DO NOTHING RETURNING …`, which waits for a concurrent insert of the
/// same key to commit and then returns no row; `find` then reads the row it found. Safe under any
/// number of concurrent recorders, with no lock beyond the unique index's.
///
/// Recording runs on a synchronous connection (its COPY is Diesel's), hence no `async`.
pub(crate) fn find_or_create<T>(
    conn: &mut diesel::PgConnection,
    insert: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T>,
    find: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    use diesel::OptionalExtension as _;
    match insert(conn).optional()? {
        Some(row) => Ok(row),
        None => find(conn),
    }
}

/// A Rust enum stored as one of a fixed set of strings in a `text` column with a CHECK.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            diesel::AsExpression, diesel::FromSqlRow, serde::Serialize, serde::Deserialize,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                match value.as_bytes() {
                    $(b if b == $text.as_bytes() => Ok(Self::$variant),)+
                    other => Err(format!(
                        "unexpected {} `{}`",
                        stringify!($name),
                        String::from_utf8_lossy(other)
                    )
                    .into()),
                }
            }
        }
    };
}
pub(crate) use text_enum;
