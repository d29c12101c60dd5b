//! `sweeps`: named batches of runs.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::SweepId;
use crate::schema::sweeps;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = sweeps, check_for_backend(diesel::pg::Pg))]
pub struct Sweep {
    pub id: SweepId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// What an analyst wrote of the sweep (`btdb note --sweep`).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = sweeps)]
pub struct NewSweep<'a> {
    pub name: &'a str,
}

impl Sweep {
    pub fn by_name(name: &str) -> sweeps::BoxedQuery<'_, diesel::pg::Pg> {
        sweeps::table.filter(sweeps::name.eq(name)).into_boxed()
    }

    /// Every sweep name, for suggestions when one is misspelt.
    pub fn names<'a>() -> sweeps::BoxedQuery<'a, diesel::pg::Pg, diesel::sql_types::Text> {
        sweeps::table
            .select(sweeps::name)
            .order(sweeps::name)
            .into_boxed()
    }

    /// The sweep with this name, created if it does not exist yet.
    pub fn find_or_create(conn: &mut PgConnection, name: &str) -> QueryResult<Self> {
        super::find_or_create(
            conn,
            |conn| {
                diesel::insert_into(sweeps::table)
                    .values(NewSweep { name })
                    .on_conflict(sweeps::name)
                    .do_nothing()
                    .returning(Self::as_returning())
                    .get_result(conn)
            },
            |conn| {
                Self::by_name(name)
                    .select(Self::as_select())
                    .get_result(conn)
            },
        )
    }
}
