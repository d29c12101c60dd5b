//! Counts that stop early: `SELECT count(*) FROM (query LIMIT n)`, so that a count costs at
//! most `n` rows read whatever the filter matches.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::{QueryResult, RunQueryDsl};

use super::runs::COUNT_BOUND;

/// The rows of `query` counted up to one past `COUNT_BOUND`: more than the bound says "more".
#[derive(Debug, Clone, QueryId)]
pub struct BoundedCount<Q> {
    query: Q,
    limit: i64,
}

/// `query` (unordered, unlimited) counted no further than one row past `COUNT_BOUND`.
pub fn bounded_count<Q>(query: Q) -> BoundedCount<Q> {
    BoundedCount {
        query,
        limit: COUNT_BOUND + 1,
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for BoundedCount<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT count(*) FROM (");
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(") AS counted");
        Ok(())
    }
}

impl<Q> Query for BoundedCount<Q> {
    type SqlType = BigInt;
}

impl<Q, Conn> RunQueryDsl<Conn> for BoundedCount<Q> {}
