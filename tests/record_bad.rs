//! Every rule of docs/run-document.md, broken: a clear error naming file, line and field, and the database
//! unchanged. The cases are tests/fixtures/bad/, each with the error fragment it must produce
//! (cases.tsv).

mod common;

use std::path::Path;

use common::TestDb;
use common::record::{counts, record};

#[tokio::test(flavor = "multi_thread")]
async fn every_malformed_document_is_refused_with_its_error_and_writes_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    // Something recorded first, so that "unchanged" is tested on tables that are not empty.
    let good = record(
        &db,
        &[&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good")],
    )
    .await;
    assert!(good.recorded >= 3 && good.failed == 0, "{good:?}");
    let before = counts(&db).await;

    let manifest = std::fs::read_to_string(fixtures.join("cases.tsv")).unwrap();
    let cases: Vec<(&str, &str)> = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once('\t').expect("file<TAB>fragment"))
        .collect();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let mut wrong = Vec::new();
    for (file, fragment) in &cases {
        let path = fixtures.join(file);
        let summary = record(&db, &[&path]).await;
        let errors: Vec<String> = summary
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.origin, f.error))
            .collect();
        let located = errors
            .iter()
            .all(|e| e.starts_with(&*path.to_string_lossy()));
        if summary.recorded + summary.already_present > 0
            || !located
            || !errors.iter().any(|e| e.contains(fragment))
        {
            wrong.push(format!(
                "{file}: want `{fragment}`, got {errors:?} ({summary:?})"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(counts(&db).await, before, "a refused document wrote rows");
}
