//! A query planned afresh at every execution instead of prepared once and kept.
//!
//! Diesel keeps a prepared statement per query shape on a connection, and after five
//! executions PostgreSQL may settle on the statement's generic plan. A lookup first run while
//! its table is empty gets a sequential scan as that plan, and keeps it while the table grows
//! (until an autoanalyze happens to replan it): recording into a fresh database checked each
//! group's keys by scanning every run recorded so far. An unnamed statement is planned with
//! its values and the table's current size.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `query`, never kept as a prepared statement.
#[derive(Debug, Clone, Copy)]
pub struct Uncached<Q>(pub Q);

impl<Q: Query> Query for Uncached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Uncached<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        self.0.walk_ast(out)
    }
}

impl<Q> QueryId for Uncached<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, Conn> RunQueryDsl<Conn> for Uncached<Q> {}
