//! Recording through the library, as `btdb record` does, and reading table sizes.

use std::path::{Path, PathBuf};

use btdb::db::Db;
use btdb::ingest::{self, RecordOptions, Summary};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

pub fn options() -> RecordOptions {
    RecordOptions {
        jobs: 2,
        fail_fast: false,
        sweep: None,
        max_document: 64 << 20,
        replace: false,
    }
}

/// Records `paths` with `options` on a blocking thread, like the command does.
pub async fn record_with(db: &Db, paths: &[&Path], options: RecordOptions) -> Summary {
    let writers = db.writers(options.jobs as u32).expect("writer pool");
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    tokio::task::spawn_blocking(move || {
        let inputs = ingest::source::expand(&paths)?;
        ingest::record(&writers, &inputs, &options, &|_| {}, &mut |_| {})
    })
    .await
    .expect("record thread")
    .expect("record")
}

/// tests/fixtures/rank recorded one run at a time, so that ids follow the file's order.
pub async fn rank_fixture() -> (super::TestDb, Db) {
    let test_db = super::TestDb::new().await;
    let db = test_db.db().await;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rank");
    let options = RecordOptions {
        jobs: 1,
        ..options()
    };
    let summary = record_with(&db, &[&fixture], options).await;
    assert_eq!(summary.failed, 0);
    (test_db, db)
}

pub async fn record(db: &Db, paths: &[&Path]) -> Summary {
    record_with(db, paths, options()).await
}

#[derive(QueryableByName, Debug, PartialEq, Eq, Clone, Copy)]
pub struct Counts {
    #[diesel(sql_type = BigInt)]
    pub strategies: i64,
    #[diesel(sql_type = BigInt)]
    pub parameter_sets: i64,
    #[diesel(sql_type = BigInt)]
    pub sweeps: i64,
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
    #[diesel(sql_type = BigInt)]
    pub metrics: i64,
    #[diesel(sql_type = BigInt)]
    pub trades: i64,
    #[diesel(sql_type = BigInt)]
    pub equity_points: i64,
}

/// Row counts of every table.
pub async fn counts(db: &Db) -> Counts {
    let mut conn = db.conn().await.expect("connection");
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM strategies) AS strategies,
                (SELECT count(*) FROM parameter_sets) AS parameter_sets,
                (SELECT count(*) FROM sweeps) AS sweeps,
                (SELECT count(*) FROM runs) AS runs,
                (SELECT count(*) FROM metrics) AS metrics,
                (SELECT count(*) FROM trades) AS trades,
                (SELECT count(*) FROM equity_points) AS equity_points",
    )
    .get_result(&mut conn)
    .await
    .expect("counting rows")
}

/// A file of a test's own with this content.
pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("writing a test file");
    path
}
