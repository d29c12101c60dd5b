//! `strategies`: a strategy name and version; names compare case-insensitively.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use serde::Serialize;

use super::StrategyId;
use crate::schema::strategies;

diesel::define_sql_function!(
    /// SQL `lower(text)`, matching the expression index on strategies.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
);

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = strategies, check_for_backend(diesel::pg::Pg))]
pub struct Strategy {
    pub id: StrategyId,
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = strategies)]
pub struct NewStrategy<'a> {
    pub name: &'a str,
    pub version: &'a str,
}

impl Strategy {
    /// Strategies whose name matches `name` case-insensitively, any version, oldest first.
    pub fn by_name(name: &str) -> strategies::BoxedQuery<'_, diesel::pg::Pg> {
        strategies::table
            .filter(lower(strategies::name).eq(lower(name)))
            .order(strategies::id)
            .into_boxed()
    }

    /// The strategy with this name (any case) and version, created if it does not exist yet.
    pub fn find_or_create(conn: &mut PgConnection, new: NewStrategy<'_>) -> QueryResult<Self> {
        super::find_or_create(
            conn,
            // No conflict target: the unique index is on an expression, which Diesel cannot
            // name.
            |conn| {
                diesel::insert_into(strategies::table)
                    .values(new)
                    .on_conflict_do_nothing()
                    .returning(Self::as_returning())
                    .get_result(conn)
            },
            |conn| {
                Self::by_name(new.name)
                    .filter(strategies::version.eq(new.version))
                    .select(Self::as_select())
                    .get_result(conn)
            },
        )
    }
}
