//! `btdb demo` end to end: documents written, recorded once, ranked, checked out of sample, and
//! a heatmap drawn; a second run duplicates nothing.

mod common;

use common::TestDb;
use common::cli::ok;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_records_ranks_and_draws_and_running_it_twice_duplicates_nothing() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("demo");
    let out = dir.to_str().expect("path");

    let first: Value =
        serde_json::from_str(&ok(&db, &["demo", "--out", out, "--format", "json"])).expect("json");
    assert_eq!(first["documents"], 216);
    assert_eq!(first["recorded"], 216);
    assert_eq!(first["failed"], 0);
    let ranking = first["ranking"].as_array().expect("ranking");
    assert_eq!(ranking.len(), 3);
    for row in ranking {
        assert!(row["deflated"]["probability"].is_number(), "{row}");
        assert_eq!(row["best_run"]["dataset"], "SYNA-1d-IS");
    }
    for (strategy, check) in first["out_of_sample"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (c[0].as_str().unwrap_or_default(), &c[1]))
    {
        let sets = match strategy {
            "sma_cross" => 30,
            "momentum" => 8,
            _ => 16,
        };
        assert_eq!(check["parameter_sets"], sets, "{strategy}");
        // One PBO per strategy, over the same parameter sets.
        let pbo = first["overfitting"]
            .as_array()
            .expect("overfitting")
            .iter()
            .find(|p| p[0] == strategy)
            .map(|p| &p[1])
            .expect("a PBO per strategy");
        assert_eq!(pbo["parameter_sets"], sets, "{strategy}");
        let p = pbo["probability"].as_f64().expect("probability");
        assert!((0.0..=1.0).contains(&p), "{strategy}: {p}");
    }
    let svg = std::fs::read_to_string(dir.join("sma_cross_heatmap.svg")).expect("heatmap");
    assert!(
        svg.contains("mean sharpe by fast and slow"),
        "heatmap title"
    );
    let lines = std::fs::read_to_string(dir.join("runs/momentum.jsonl")).expect("documents");
    assert_eq!(lines.lines().count(), 8 * 4);

    let second: Value =
        serde_json::from_str(&ok(&db, &["demo", "--out", out, "--format", "json"])).expect("json");
    assert_eq!(second["recorded"], 0);
    assert_eq!(second["already_present"], 216);
    // The same report (the variance behind the deflated Sharpe ratio may differ in its last
    // bits: the server sums in scan order).
    for (a, b) in ranking
        .iter()
        .zip(second["ranking"].as_array().expect("ranking"))
    {
        assert_eq!(a["best_run"]["id"], b["best_run"]["id"]);
        let (p, q) = (&a["deflated"]["probability"], &b["deflated"]["probability"]);
        let (p, q) = (p.as_f64().expect("p"), q.as_f64().expect("q"));
        assert!((p - q).abs() < 1e-12, "{p} vs {q}");
    }
    assert_eq!(common::record::counts(&db.db().await).await.runs, 216);

    // Every command the demo suggests next runs as printed, from where the demo ran, though
    // nothing put `btdb` on the PATH.
    let shown = common::cli::btdb(&db, &["demo", "--out", out], None);
    let stderr = common::cli::text(&shown.stderr);
    let next: Vec<&str> = stderr
        .lines()
        .skip_while(|l| *l != "next:")
        .skip(1)
        .map(str::trim)
        .collect();
    assert_eq!(next.len(), 5, "{stderr}");
    for line in next {
        let mut words = line.split_whitespace();
        let program = match words.next() {
            Some("btdb") => env!("CARGO_BIN_EXE_btdb").to_owned(),
            Some(path) => path.to_owned(),
            None => panic!("empty suggestion"),
        };
        let run = std::process::Command::new(&program)
            .args(words.map(|w| w.replace("equity.svg", &format!("{out}/equity.svg"))))
            .env("DATABASE_URL", db.url())
            .output()
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            run.status.success(),
            "{line}: {}",
            common::cli::text(&run.stderr)
        );
    }
}
