//! EXPLAIN of any Diesel query, with its bound values, and a reading of the resulting plan.
//!
//! Tests use it to prove that each index serves its query; `btdb explain` will print it.

use anyhow::{Context, Result};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Json;
use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

/// `EXPLAIN (FORMAT JSON[, ANALYZE, BUFFERS]) <query>`.
#[derive(Debug, Clone, Copy)]
pub struct Explain<Q> {
    query: Q,
    analyze: bool,
}

impl<Q> Explain<Q> {
    pub fn new(query: Q) -> Self {
        Self {
            query,
            analyze: false,
        }
    }

    /// Runs the query too and reports actual rows, times and buffers.
    pub fn analyze(mut self) -> Self {
        self.analyze = true;
        self
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql(if self.analyze {
            "EXPLAIN (FORMAT JSON, ANALYZE, BUFFERS) "
        } else {
            "EXPLAIN (FORMAT JSON) "
        });
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    // Not cached as a prepared statement: each plan is asked for once.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Json;
}

/// The plan PostgreSQL chose for `query`.
pub async fn plan<'q, Q>(conn: &mut AsyncPgConnection, query: Q) -> Result<Plan>
where
    Explain<Q>: LoadQuery<'q, AsyncPgConnection, Value> + 'q,
{
    let json: Value = Explain::new(query)
        .get_result(conn)
        .await
        .context("EXPLAIN")?;
    Plan::from_json(json)
}

/// One plan as EXPLAIN (FORMAT JSON) returns it.
#[derive(Debug, Clone)]
pub struct Plan {
    root: Value,
}

/// A node of a plan, flattened: what it does and to which relation or index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub node_type: String,
    pub relation: Option<String>,
    pub index: Option<String>,
}

impl Plan {
    pub fn from_json(json: Value) -> Result<Self> {
        let root = json
            .get(0)
            .and_then(|p| p.get("Plan"))
            .cloned()
            .context("EXPLAIN returned no plan")?;
        Ok(Self { root })
    }

    /// Every node, depth first.
    pub fn nodes(&self) -> Vec<Node> {
        let mut nodes = Vec::new();
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_owned);
            nodes.push(Node {
                node_type: text("Node Type").unwrap_or_default(),
                relation: text("Relation Name"),
                index: text("Index Name"),
            });
            if let Some(children) = node.get("Plans").and_then(Value::as_array) {
                stack.extend(children.iter().rev());
            }
        }
        nodes
    }

    /// Whether some node reads `index`, and how ("Index Scan", "Index Only Scan", ...).
    pub fn index_scan(&self, index: &str) -> Option<String> {
        self.nodes()
            .into_iter()
            .find(|n| n.index.as_deref() == Some(index))
            .map(|n| n.node_type)
    }

    /// The tables (and partitions) the plan reads.
    pub fn relations(&self) -> Vec<String> {
        let mut rels: Vec<String> = self
            .nodes()
            .into_iter()
            .filter_map(|n| n.relation)
            .collect();
        rels.sort();
        rels.dedup();
        rels
    }

    pub fn json(&self) -> &Value {
        &self.root
    }
}
