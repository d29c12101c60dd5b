//! The ranking summaries (migration 12) answer exactly what the runs say, whether or not the
//! latest changes are folded in yet: every aggregate is checked against counts, means,
//! medians and extremes worked out here from the raw values, after changes made by SQL behind
//! btdb's back, and with a change committed while a fold ran.

mod common;

use std::collections::BTreeMap;

use btdb::query::filter::Resolved;
use btdb::query::rank::{By, Ranking};
use diesel::sql_types::{BigInt, Double, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// One strategy's completed values of the metric, worked out in Rust.
#[derive(Debug)]
struct Exact {
    runs: i64,
    mean: f64,
    median: f64,
    lowest: f64,
    highest: f64,
}

#[derive(diesel::QueryableByName)]
struct Value {
    #[diesel(sql_type = BigInt)]
    strategy_id: i64,
    #[diesel(sql_type = Double)]
    value: f64,
}

async fn exact(
    conn: &mut AsyncPgConnection,
    metric: &str,
    dataset: Option<&str>,
) -> BTreeMap<i64, Exact> {
    let rows: Vec<Value> = diesel::sql_query(
        "SELECT strategy_id, value FROM metrics \
         WHERE name = $1 AND completed AND ($2 = '' OR dataset = $2)",
    )
    .bind::<Text, _>(metric)
    .bind::<Text, _>(dataset.unwrap_or(""))
    .load(conn)
    .await
    .expect("values");
    let mut values: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for row in rows {
        values.entry(row.strategy_id).or_default().push(row.value);
    }
    values
        .into_iter()
        .map(|(strategy, mut v)| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let median = if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            };
            let exact = Exact {
                runs: n as i64,
                mean: v.iter().sum::<f64>() / n as f64,
                median,
                lowest: v[0],
                highest: v[n - 1],
            };
            (strategy, exact)
        })
        .collect()
}

#[derive(diesel::QueryableByName)]
struct Trial {
    #[diesel(sql_type = BigInt)]
    strategy_id: i64,
    #[diesel(sql_type = BigInt)]
    parameter_set_id: i64,
    #[diesel(sql_type = Double)]
    sharpe: f64,
    #[diesel(sql_type = Double)]
    periods_per_year: f64,
}

/// Per strategy, the deflated Sharpe ratio's trials worked out in Rust: parameter sets tried,
/// and the sample variance of the Sharpe ratios per period.
async fn exact_trials(
    conn: &mut AsyncPgConnection,
    dataset: Option<&str>,
) -> BTreeMap<i64, (i64, Option<f64>)> {
    let rows: Vec<Trial> = diesel::sql_query(
        "SELECT m.strategy_id, m.parameter_set_id, m.value AS sharpe, r.periods_per_year \
         FROM metrics m JOIN runs r ON r.id = m.run_id \
         WHERE m.name = 'sharpe' AND m.completed AND ($1 = '' OR m.dataset = $1)",
    )
    .bind::<Text, _>(dataset.unwrap_or(""))
    .load(conn)
    .await
    .expect("trials");
    let mut per: BTreeMap<i64, (std::collections::BTreeSet<i64>, Vec<f64>)> = BTreeMap::new();
    for row in rows {
        let entry = per.entry(row.strategy_id).or_default();
        entry.0.insert(row.parameter_set_id);
        entry.1.push(row.sharpe / row.periods_per_year.sqrt());
    }
    per.into_iter()
        .map(|(strategy, (sets, v))| {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let variance = (v.len() > 1)
                .then(|| v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0));
            (strategy, (sets.len() as i64, variance))
        })
        .collect()
}

/// The trials the summaries give equal those worked out from the runs.
async fn assert_exact_trials(
    conn: &mut btdb::db::Reader<'_>,
    filter: &Resolved,
    dataset: Option<&str>,
    what: &str,
) {
    let want = exact_trials(conn, dataset).await;
    let ids: Vec<_> = want
        .keys()
        .map(|&id| btdb::models::StrategyId(id))
        .collect();
    let got = btdb::query::summary::trials(conn, filter, &ids)
        .await
        .expect("trials");
    assert_eq!(got.len(), want.len(), "{what}: trials");
    for trials in got {
        let (sets, variance) = want[&trials.strategy_id.0];
        assert_eq!(trials.parameter_sets, sets, "{what}: parameter sets");
        match (trials.variance, variance) {
            (Some(got), Some(want)) => assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1e-6),
                "{what}: variance {got} against {want}"
            ),
            (got, want) => assert_eq!(got, want, "{what}: variance"),
        }
    }
}

/// Every order, pooled and on one data set, equals what the values say.
async fn assert_exact(conn: &mut btdb::db::Reader<'_>, when: &str) {
    for dataset in [None, Some("IS-2020"), Some("OOS-2021")] {
        let filter = Resolved {
            dataset: dataset.map(str::to_owned),
            ..Resolved::default()
        };
        assert_exact_trials(conn, &filter, dataset, &format!("{when} on {dataset:?}")).await;
        let want = exact(conn, "sharpe", dataset).await;
        let want_trials = exact_trials(conn, dataset).await;
        for by in By::ALL {
            let ranking = Ranking {
                metric: "sharpe".into(),
                by,
                descending: true,
                filter: Resolved {
                    dataset: dataset.map(str::to_owned),
                    ..Resolved::default()
                },
                // Best and worst count their runs, from the summaries, only with --min-runs.
                min_runs: Some(1),
                top: None,
            };
            let ranked = ranking.strategies(conn, true).await.expect("rank");
            let what = format!("{when}: {} on {dataset:?}", by.as_str());
            assert_eq!(ranked.len(), want.len(), "{what}");
            for row in &ranked {
                let e = &want[&row.strategy.id.0];
                let score = match by {
                    By::Best => e.highest,
                    By::Worst => e.lowest,
                    By::Mean => e.mean,
                    By::Median => e.median,
                    By::Count => e.runs as f64,
                };
                let tolerance = 1e-12 * score.abs().max(1.0);
                assert!(
                    (row.score - score).abs() <= tolerance,
                    "{what}: {} scored {} against {score}",
                    row.strategy.name,
                    row.score
                );
                assert_eq!(row.runs, Some(e.runs), "{what}: {}", row.strategy.name);
                let deflated = row.deflated.as_ref().expect("deflated");
                assert_eq!(
                    deflated.trials, want_trials[&row.strategy.id.0].0,
                    "{what}: {} trials",
                    row.strategy.name
                );
            }
            // Best first, whichever path answered.
            assert!(
                ranked.windows(2).all(|w| w[0].score >= w[1].score),
                "{what}: order"
            );
        }
    }
}

async fn pending(conn: &mut AsyncPgConnection) -> i64 {
    common::count(conn, "SELECT count(*) AS n FROM metric_summary_changes").await
}

async fn fold(conn: &mut AsyncPgConnection) {
    conn.batch_execute("SELECT btdb_summarize()")
        .await
        .expect("fold");
}

#[tokio::test(flavor = "multi_thread")]
async fn summaries_stay_exact_through_changes_not_folded_yet() {
    let (test_db, db) = common::record::rank_fixture().await;
    let mut conn = db.reader().await.expect("a reader");
    // `record` folded its runs.
    assert_eq!(pending(&mut conn).await, 0);
    assert_exact(&mut conn, "recorded").await;

    // Changed behind btdb's back: noted by the triggers, answered from the runs until folded.
    conn.batch_execute(
        "UPDATE metrics SET value = value + 10 \
         WHERE name = 'sharpe' AND run_id = (SELECT min(run_id) FROM metrics)",
    )
    .await
    .expect("update");
    assert!(pending(&mut conn).await > 0);
    assert_exact(&mut conn, "updated").await;
    conn.batch_execute(
        "DELETE FROM metrics WHERE run_id IN \
         (SELECT id FROM runs WHERE dataset = 'OOS-2021' ORDER BY id LIMIT 2)",
    )
    .await
    .expect("delete");
    assert_exact(&mut conn, "deleted").await;
    fold(&mut conn).await;
    assert_eq!(pending(&mut conn).await, 0);
    assert_exact(&mut conn, "folded").await;

    // A strategy's last completed runs go: its summaries go with them.
    conn.batch_execute(
        "DELETE FROM metrics WHERE strategy_id = (SELECT min(strategy_id) FROM metrics)",
    )
    .await
    .expect("delete a strategy's metrics");
    assert_exact(&mut conn, "strategy emptied").await;
    fold(&mut conn).await;
    assert_exact(&mut conn, "strategy emptied, folded").await;

    // A run's periods per year changed behind btdb's back change its strategy's trials.
    conn.batch_execute(
        "UPDATE runs SET periods_per_year = 365 \
         WHERE id IN (SELECT id FROM runs WHERE status = 'completed' ORDER BY id LIMIT 3)",
    )
    .await
    .expect("update periods");
    assert!(pending(&mut conn).await > 0);
    assert_exact(&mut conn, "periods changed").await;
    fold(&mut conn).await;
    assert_exact(&mut conn, "periods changed, folded").await;

    // A change commits while a fold runs and does not see it: its note outlives the fold.
    let mut writer = test_db.conn().await;
    writer
        .batch_execute(
            "BEGIN; UPDATE metrics SET value = value * 3 \
             WHERE name = 'sharpe' AND dataset = 'IS-2020'",
        )
        .await
        .expect("uncommitted change");
    fold(&mut conn).await;
    writer.batch_execute("COMMIT").await.expect("commit");
    assert!(pending(&mut conn).await > 0);
    assert_exact(&mut conn, "committed after a fold").await;
    fold(&mut conn).await;
    assert_eq!(pending(&mut conn).await, 0);
    assert_exact(&mut conn, "folded again").await;

    // TRUNCATE leaves nothing to rank, and no summary behind.
    conn.batch_execute("TRUNCATE metrics")
        .await
        .expect("truncate");
    assert_exact(&mut conn, "truncated").await;
    let kept = "SELECT (SELECT count(*) FROM metric_summaries) \
                + (SELECT count(*) FROM pooled_metric_summaries) AS n";
    assert_eq!(common::count(&mut conn, kept).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_note_filter_ranks_only_the_noted_runs() {
    let (_test_db, db) = common::record::rank_fixture().await;
    let mut conn = db.reader().await.expect("a reader");
    // One run of beta, the strategy with the lowest best sharpe on IS-2020 after gamma.
    conn.batch_execute(
        "UPDATE runs SET note = 'Look again' WHERE id = (SELECT min(r.id) FROM runs r \
         JOIN strategies s ON s.id = r.strategy_id WHERE s.name = 'beta')",
    )
    .await
    .expect("note");
    for by in By::ALL {
        let ranking = Ranking {
            metric: "sharpe".into(),
            by,
            descending: true,
            filter: Resolved {
                note: Some("look AGAIN".into()),
                ..Resolved::default()
            },
            min_runs: Some(1),
            top: Some(3),
        };
        let ranked = ranking.strategies(&mut conn, false).await.expect("rank");
        let names: Vec<_> = ranked.iter().map(|r| r.strategy.name.as_str()).collect();
        assert_eq!(names, ["beta"], "{}", by.as_str());
        assert_eq!(ranked[0].runs, Some(1), "{}", by.as_str());
    }
}
