//! `compare --pbo` against numpy, scipy and itertools on the same curves
//! (tests/golden/generate_pbo.py), and what it says of sweeps it cannot cross-validate.

mod common;

use common::TestDb;
use common::cli::{fails, ok};
use serde_json::Value;

fn golden() -> Value {
    common::golden::load("pbo.json")
}

fn close(actual: &Value, expected: &Value, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual}"));
    common::golden::assert_close(actual, expected, 1e-9, what);
}

/// The fixture's first document is the older run of set 0: it is recorded on its own first,
/// so that it is the earlier run however many workers record the rest at once.
async fn recorded() -> TestDb {
    let db = TestDb::new().await;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pbo/sweep.jsonl"
    );
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let first_try = text.lines().next().expect("first document");
    assert!(first_try.contains("pbo-0-first-try"), "fixture order");
    let dir = common::scratch_dir("pbo-first-try");
    let file = dir.join("first-try.jsonl");
    std::fs::write(&file, format!("{first_try}\n")).expect("first try");
    ok(&db, &["record", "-q", file.to_str().expect("path")]);
    ok(&db, &["record", "-q", fixture]);
    let _ = std::fs::remove_dir_all(&dir);
    db
}

#[tokio::test(flavor = "multi_thread")]
async fn pbo_matches_numpy_and_scipy() {
    let db = recorded().await;
    let golden = golden();
    for metric in ["sharpe", "mean"] {
        for s in ["4", "8"] {
            let out = ok(
                &db,
                &[
                    "compare",
                    "--strategy",
                    "pbo_sweep",
                    "--dataset",
                    "PBO-1d",
                    "--pbo",
                    "--partitions",
                    s,
                    "--pbo-metric",
                    metric,
                    "--format",
                    "json",
                ],
            );
            let got: Value = serde_json::from_str(&out).expect("json");
            let got = &got["pbo"];
            let want = &golden[format!("{metric}_{s}")];
            let what = format!("{metric}, {s} partitions");
            for field in ["partitions", "combinations", "parameter_sets", "periods"] {
                assert_eq!(got[field], want[field], "{what}: {field}");
            }
            close(&got["probability"], &want["probability"], &what);
            close(
                &got["probability_of_loss"],
                &want["probability_of_loss"],
                &what,
            );
            for part in ["slope", "intercept", "r2"] {
                close(&got["degradation"][part], &want["degradation"][part], &what);
            }
            let (logits, expected) = (
                got["logits"].as_array().expect("logits"),
                want["logits"].as_array().expect("logits"),
            );
            assert_eq!(logits.len(), expected.len());
            for (a, e) in logits.iter().zip(expected) {
                close(a, e, &what);
            }
            // The older run of one parameter set is set aside, and said so.
            assert_eq!(got["set_aside"], 1, "{what}");
        }
    }
    // --plot: the logits' histogram and one point per split in the degradation scatter.
    let dir = common::scratch_dir("pbo-plot");
    let svg = dir.join("pbo.svg");
    ok(
        &db,
        &[
            "compare",
            "--strategy",
            "pbo_sweep",
            "--dataset",
            "PBO-1d",
            "--pbo",
            "--partitions",
            "8",
            "--plot",
            svg.to_str().expect("path"),
        ],
    );
    let drawn = std::fs::read_to_string(&svg).expect("svg");
    assert!(
        drawn.contains("probability of backtest overfitting"),
        "title"
    );
    assert_eq!(drawn.matches("<circle").count(), 70, "one point per split");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn sweeps_that_cannot_be_cross_validated_are_named() {
    let db = recorded().await;
    let pbo = |extra: &[&str]| {
        let mut args = vec!["compare", "--strategy", "pbo_sweep", "--pbo"];
        args.extend_from_slice(extra);
        fails(&db, &args)
    };
    let err = pbo(&["--dataset", "PBO-1d", "--partitions", "7"]);
    assert!(
        err.contains("--partitions 7: must be even and between 4 and 24"),
        "{err}"
    );
    let err = pbo(&["--dataset", "PBO-1d", "--partitions", "26"]);
    assert!(err.contains("--partitions 26"), "{err}");
    let err = pbo(&["--dataset", "OTHER-1d"]);
    assert!(
        err.contains("1 parameter sets: the cross-validation compares at least 2"),
        "{err}"
    );
    let err = pbo(&["--dataset", "NOWHERE"]);
    assert!(err.contains("has no completed run on `NOWHERE`"), "{err}");

    // Too few aligned periods for the partitions, and runs with no curve or too little of it.
    let dir = common::scratch_dir("pbo-bad");
    let doc = |key: &str, lookback: u32, points: &[(u32, &str)]| {
        let equity: Vec<String> = points
            .iter()
            .map(|(day, v)| format!("[\"2024-01-{day:02}T00:00:00Z\", \"{v}\"]"))
            .collect();
        format!(
            "{{\"run_key\": \"{key}\", \"strategy\": \"short_sweep\", \"dataset\": \"S\", \
             \"params\": {{\"k\": {lookback}}}, \"equity\": [{}]}}\n",
            equity.join(", ")
        )
    };
    let days: Vec<(u32, &str)> = (1..=12)
        .map(|d| (d, if d % 2 == 0 { "101" } else { "100" }))
        .collect();
    let file = dir.join("short.jsonl");
    std::fs::write(
        &file,
        [
            doc("s1", 1, &days),
            doc("s2", 2, &days),
            doc("s3", 3, &days[..3]),
        ]
        .concat(),
    )
    .expect("fixture");
    ok(&db, &["record", "-q", file.to_str().expect("path")]);
    fn short<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "compare",
            "--strategy",
            "short_sweep",
            "--dataset",
            "S",
            "--pbo",
        ];
        args.extend_from_slice(extra);
        args
    }
    let err = fails(&db, &short(&[]));
    assert!(
        err.contains("1 runs share fewer than half of the longest curve's timestamps")
            && err.contains("--align intersect"),
        "{err}"
    );
    let err = fails(&db, &short(&["--align", "intersect", "--partitions", "8"]));
    assert!(
        err.contains("11 aligned returns: 8 partitions need at least 16")
            && err.contains("fewer --partitions"),
        "{err}"
    );
    let out = ok(
        &db,
        &short(&[
            "--align",
            "intersect",
            "--partitions",
            "4",
            "--format",
            "json",
        ]),
    );
    let got: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(got["pbo"]["dropped"].as_array().map(Vec::len), Some(1));
    assert_eq!(got["pbo"]["parameter_sets"], 2);
    assert!(
        got["pbo"]["logits"]
            .as_array()
            .expect("logits")
            .iter()
            .all(|l| l.is_f64())
    );

    let nocurve = dir.join("nocurve.jsonl");
    std::fs::write(
        &nocurve,
        "{\"run_key\": \"n1\", \"strategy\": \"bare\", \"dataset\": \"B\", \"params\": {\"k\": 1}}\n\
         {\"run_key\": \"n2\", \"strategy\": \"bare\", \"dataset\": \"B\", \"params\": {\"k\": 2}}\n",
    )
    .expect("fixture");
    ok(&db, &["record", "-q", nocurve.to_str().expect("path")]);
    let err = fails(
        &db,
        &["compare", "--strategy", "bare", "--dataset", "B", "--pbo"],
    );
    assert!(err.contains("runs without an equity curve"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
