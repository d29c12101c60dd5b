//! EXPLAIN of any Diesel query, with its bound values, and a reading of the resulting plan.
//!
//! Every query of the read models goes through `load`, which, inside `capture`, also records
//! the plan of each query it runs: tests prove with it that every query a command runs is served
//! by an index, and `btdb explain` prints it.

use std::future::Future;
use std::sync::Mutex;

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
    /// "Forward" or "Backward" for index scans.
    pub direction: Option<String>,
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
                direction: text("Scan Direction"),
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

/// One query a command ran and its plan.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The statement with its bound values, as `diesel::debug_query` prints it.
    pub sql: String,
    pub plan: Plan,
    /// EXPLAIN's whole answer: planning and execution times, with ANALYZE.
    pub json: Value,
    /// Which way the command chose to answer, where it has several (`rank`'s summaries or
    /// aggregate), as the query itself does not say.
    pub path: Option<String>,
}

struct Capture {
    analyze: bool,
    plans: Mutex<Vec<Captured>>,
    /// The path of the next query captured.
    path: Mutex<Option<String>>,
}

/// Names the way the next query answers, for `btdb explain`; nothing outside it.
pub fn path(text: &str) {
    let _ = CAPTURE.try_with(|c| {
        *c.path.lock().unwrap_or_else(|p| p.into_inner()) = Some(text.to_owned());
    });
}

tokio::task_local! {
    static CAPTURE: Capture;
}

/// Runs `work`, recording the plan of every query it runs through `load` (with actual rows,
/// times and buffers when `analyze`).
pub async fn capture<F: Future>(analyze: bool, work: F) -> (F::Output, Vec<Captured>) {
    let state = Capture {
        analyze,
        plans: Mutex::new(Vec::new()),
        path: Mutex::new(None),
    };
    CAPTURE
        .scope(state, async {
            let output = work.await;
            let plans = CAPTURE
                .with(|c| std::mem::take(&mut *c.plans.lock().unwrap_or_else(|p| p.into_inner())));
            (output, plans)
        })
        .await
}

/// Whether plans are being captured (`btdb explain`): a query read otherwise than by [`load`]
/// would go unexplained.
pub fn capturing() -> bool {
    CAPTURE.try_with(|_| ()).is_ok()
}

/// Loads the query that `query()` builds; inside `capture`, explains it first. (A builder rather
/// than a query: Diesel's boxed queries cannot be shared, so EXPLAIN gets a query of its own.)
pub async fn load<'q, Q, U>(
    conn: &mut AsyncPgConnection,
    query: impl Fn() -> Q,
) -> diesel::QueryResult<Vec<U>>
where
    Q: QueryFragment<Pg> + LoadQuery<'q, AsyncPgConnection, U> + 'q,
    Explain<Q>: LoadQuery<'q, AsyncPgConnection, Value>,
    U: Send + 'q,
{
    if let Ok(analyze) = CAPTURE.try_with(|c| c.analyze) {
        let sql = diesel::debug_query::<Pg, _>(&query()).to_string();
        let explain = if analyze {
            Explain::new(query()).analyze()
        } else {
            Explain::new(query())
        };
        let json: Value = explain.get_result(conn).await?;
        let plan = Plan::from_json(json.clone())
            .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
        CAPTURE.with(|c| {
            let path = c.path.lock().unwrap_or_else(|p| p.into_inner()).take();
            c.plans
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Captured {
                    sql,
                    plan,
                    json,
                    path,
                });
        });
    }
    query().load(conn).await
}

/// Loads the query `query(item)` builds for each of `items`, all sent before the first answer
/// is read (one round trip for all rather than one each), answers in the order of `items`;
/// inside `capture`, one after another, each explained.
pub async fn load_each<'c, 'q, T, Q, U>(
    conn: &'c mut AsyncPgConnection,
    items: &[T],
    query: impl Fn(&T) -> Q,
) -> diesel::QueryResult<Vec<Vec<U>>>
where
    Q: QueryFragment<Pg>
        + LoadQuery<'q, AsyncPgConnection, U>
        + LoadQuery<'q, &'c AsyncPgConnection, U>
        + 'q,
    Explain<Q>: LoadQuery<'q, AsyncPgConnection, Value>,
    U: Send + 'q,
{
    if capturing() {
        let mut answers = Vec::with_capacity(items.len());
        for item in items {
            answers.push(load(conn, || query(item)).await?);
        }
        return Ok(answers);
    }
    // The connection pipelines statements polled together (diesel-async's `&AsyncPgConnection`).
    let shared: &'c AsyncPgConnection = &*conn;
    futures_util::future::try_join_all(items.iter().map(|item| {
        let mut conn = shared;
        let query = query(item);
        async move { query.load(&mut conn).await }
    }))
    .await
}

impl Captured {
    /// The plan as an indented tree: each node with what it reads and, after ANALYZE, its
    /// actual rows, time and buffers; then planning and execution time.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        render(self.plan.json(), 0, &mut out);
        let time = |key: &str| self.json.get(0)?.get(key)?.as_f64();
        if let Some(planning) = time("Planning Time") {
            out.push_str(&format!("planning {planning:.3} ms"));
            if let Some(execution) = time("Execution Time") {
                out.push_str(&format!(", execution {execution:.3} ms"));
            }
            out.push('\n');
        }
        out
    }
}

fn render(node: &Value, depth: usize, out: &mut String) {
    use std::fmt::Write as _;
    let text = |key: &str| node.get(key).and_then(Value::as_str);
    let number = |key: &str| node.get(key).and_then(Value::as_f64);
    let _ = write!(
        out,
        "{}{}",
        "  ".repeat(depth),
        text("Node Type").unwrap_or("?")
    );
    if text("Scan Direction") == Some("Backward") {
        out.push_str(" Backward");
    }
    if let Some(index) = text("Index Name") {
        let _ = write!(out, " using {index}");
    }
    if let Some(relation) = text("Relation Name") {
        let _ = write!(out, " on {relation}");
    }
    if let Some(rows) = number("Actual Rows") {
        let _ = write!(
            out,
            "  (rows {rows} × {} loops, {:.3} ms",
            number("Actual Loops").unwrap_or(1.0),
            number("Actual Total Time").unwrap_or(0.0)
        );
        let hit = number("Shared Hit Blocks").unwrap_or(0.0);
        let read = number("Shared Read Blocks").unwrap_or(0.0);
        if hit + read > 0.0 {
            let _ = write!(out, ", buffers hit {hit} read {read}");
        }
        out.push(')');
    } else if let Some(rows) = number("Plan Rows") {
        let _ = write!(out, "  (estimated rows {rows})");
    }
    for key in ["Index Cond", "Filter", "Hash Cond", "One-Time Filter"] {
        if let Some(condition) = text(key) {
            let _ = write!(out, "\n{}  {key}: {condition}", "  ".repeat(depth));
        }
    }
    out.push('\n');
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        render(child, depth + 1, out);
    }
}
