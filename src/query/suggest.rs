//! "Did you mean" for names a user typed: metrics, parameters, strategies, sweeps.

use anyhow::Result;
use diesel_async::AsyncPgConnection;

use diesel::prelude::*;

use crate::db::explain::load;
use crate::models::{Metric, MetricName, Sweep};
use crate::schema::{metrics, strategies};

/// The names a form offers as it is typed in (`<datalist>`): every strategy, data set, sweep
/// and metric.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub strategies: Vec<String>,
    pub datasets: Vec<String>,
    pub sweeps: Vec<String>,
    pub metrics: Vec<String>,
}

impl Known {
    /// Four small queries. Data sets come from the kept summaries (a few rows per strategy
    /// and data set, on the coordinator on Citus), not from every run.
    pub async fn load(conn: &mut AsyncPgConnection) -> Result<Self> {
        let strategies = load(conn, || {
            strategies::table
                .select(strategies::name)
                .distinct()
                .order(strategies::name)
        })
        .await?;
        let datasets: Vec<Dataset> = load(conn, || diesel::sql_query(DATASETS)).await?;
        Ok(Self {
            strategies,
            datasets: datasets.into_iter().map(|d| d.dataset).collect(),
            sweeps: load(conn, Sweep::names).await?,
            metrics: metric_names(conn).await?,
        })
    }
}

/// The data sets of the summaries, in order: a loose index scan of their key (name, data
/// set, strategy), one probe per metric and data set, where `DISTINCT` read every row (3.3 ms
/// of a listing page's 6.5 at 1,000,000 runs: 32,000 rows).
const DATASETS: &str = "WITH RECURSIVE pairs(name, dataset) AS ( \
         (SELECT name, dataset FROM metric_summaries ORDER BY name, dataset LIMIT 1) \
         UNION ALL \
         SELECT next.name, next.dataset FROM pairs p \
         CROSS JOIN LATERAL (SELECT m.name, m.dataset FROM metric_summaries m \
                             WHERE (m.name, m.dataset) > (p.name, p.dataset) \
                             ORDER BY m.name, m.dataset LIMIT 1) next) \
     SELECT DISTINCT dataset FROM pairs ORDER BY dataset";

#[derive(QueryableByName)]
struct Dataset {
    #[diesel(sql_type = diesel::sql_types::Text)]
    dataset: String,
}

/// Metric names that completed runs have, in order: a loose index scan of `metrics_rank_idx`
/// (one probe per distinct name), for "did you mean" messages.
pub async fn metric_names(conn: &mut AsyncPgConnection) -> Result<Vec<String>> {
    let names: Vec<MetricName> = load(conn, Metric::names).await?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

/// Fails with the close matches when no completed run has metric `name`.
pub async fn ensure_metric(conn: &mut AsyncPgConnection, name: &str) -> Result<()> {
    require_metric(conn, name, &[], || {
        format!("no completed run has metric `{name}`")
    })
    .await
}

/// Fails with `missing()` and the close matches unless `name` is among `also` or a completed
/// run has metric `name`: one probe of the metrics' index where it has, every name (for the
/// hint) only where not. Listing the names took a loose scan of the index, up to four times
/// a web page.
pub async fn require_metric(
    conn: &mut AsyncPgConnection,
    name: &str,
    also: &[&str],
    missing: impl FnOnce() -> String,
) -> Result<()> {
    if also.contains(&name) {
        return Ok(());
    }
    // The first name from `name` on in the index's order: one descent of the index whatever
    // the planner guesses (an EXISTS was planned as a scan of the table, which a name no run
    // has reads whole).
    let first: Vec<String> = load(conn, || {
        metrics::table
            .filter(metrics::completed.eq(true))
            .filter(metrics::name.ge(name.to_owned()))
            .order(metrics::name)
            .select(metrics::name)
            .limit(1)
    })
    .await?;
    if first.first().map(String::as_str) == Some(name) {
        return Ok(());
    }
    let mut known: Vec<String> = also.iter().map(|&a| a.to_owned()).collect();
    known.extend(metric_names(conn).await?);
    require(name, &known, missing)
}

/// Fails with `missing()` and the close matches when `wanted` is not among `known`.
pub fn require(
    wanted: &str,
    known: &[String],
    missing: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if known.iter().any(|k| k == wanted) {
        return Ok(());
    }
    anyhow::bail!("{}{}", missing(), hint(wanted, known))
}

/// `; did you mean `a`, `b`?` listing the known names closest to `wanted`, or `; known: …` when
/// none is close; empty when nothing is known.
pub fn hint(wanted: &str, known: &[String]) -> String {
    if known.is_empty() {
        return String::new();
    }
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .map(|name| {
            let lower = name.to_lowercase();
            // One name inside the other is close, unless the inner one is too short to mean it.
            let inside = |a: &str, b: &str| b.chars().count() >= 3 && a.contains(b);
            let score = if inside(&lower, &wanted_lower) || inside(&wanted_lower, &lower) {
                0
            } else {
                distance(&wanted_lower, &lower)
            };
            (score, name)
        })
        .collect();
    scored.sort();
    // Close: within a third of the name's length, at least one edit.
    let limit = (wanted.chars().count() / 3).max(1);
    let close: Vec<String> = scored
        .iter()
        .filter(|(score, _)| *score <= limit)
        .take(3)
        .map(|(_, name)| format!("`{name}`"))
        .collect();
    if close.is_empty() {
        let all: Vec<String> = scored
            .iter()
            .take(10)
            .map(|(_, n)| format!("`{n}`"))
            .collect();
        let more = if known.len() > 10 { ", …" } else { "" };
        format!("; known: {}{more}", all.join(", "))
    } else {
        format!("; did you mean {}?", close.join(", "))
    }
}

/// Edit distance in characters, a swap of neighbours counting as one edit (optimal string
/// alignment): `fsat` is one typo from `fast`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn close_names_come_first() {
        let known = names(&["sharpe", "sortino", "max_drawdown", "total_return"]);
        assert_eq!(hint("sharp", &known), "; did you mean `sharpe`?");
        assert_eq!(hint("Sharpe_ratio", &known), "; did you mean `sharpe`?");
        assert_eq!(hint("drawdown", &known), "; did you mean `max_drawdown`?");
        let params = names(&["k", "lookback"]);
        assert_eq!(hint("lookbak", &params), "; did you mean `lookback`?");
    }

    #[test]
    fn far_names_list_what_is_known() {
        let known = names(&["b", "a"]);
        assert_eq!(hint("zzzzzz", &known), "; known: `a`, `b`");
        assert_eq!(hint("x", &[]), "");
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
        assert_eq!(distance("fsat", "fast"), 1);
    }
}
