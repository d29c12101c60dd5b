//! The harness cleans up after test processes: a test's scratch directory goes when the test
//! is done, and what killed processes left (scratch directories, databases) goes on the next
//! run.

mod common;

use diesel_async::SimpleAsyncConnection;

/// A process id no process has (beyond Linux's pid_max).
const GONE: u32 = 99_999_999;

#[test]
fn a_scratch_directory_goes_when_its_test_is_done() {
    let dir = common::scratch_dir("harness");
    std::fs::write(dir.join("file"), b"x").expect("write");
    let path = dir.to_path_buf();
    assert!(path.is_dir());
    drop(dir);
    assert!(!path.exists(), "left behind: {}", path.display());
}

#[test]
fn scratch_directories_of_gone_processes_are_swept_and_live_ones_kept() {
    let root = common::scratch_dir("sweep-root");
    let gone = root.join(format!("scratch-docs-{GONE}-0"));
    let mine = root.join(format!("scratch-docs-{}-0", std::process::id()));
    let other = root.join("not-a-scratch-directory");
    for dir in [&gone, &mine, &other] {
        std::fs::create_dir_all(dir.join("inner")).expect("mkdir");
    }
    common::sweep_scratch(&root);
    assert!(!gone.exists(), "a dead process's directory stayed");
    assert!(mine.is_dir(), "a live process's directory went");
    assert!(other.is_dir());
}

#[tokio::test(flavor = "multi_thread")]
async fn databases_of_gone_processes_are_dropped_and_live_ones_kept() {
    let db = common::TestDb::new().await;
    let admin = common::admin();
    let mut conn = btdb::db::establish(&admin, std::time::Duration::from_secs(30))
        .await
        .expect("admin");
    let stale = format!("btdb_test_{GONE}_0");
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {stale}"))
        .await
        .expect("drop");
    conn.batch_execute(&format!("CREATE DATABASE {stale}"))
        .await
        .expect("create");
    common::sweep_databases(&admin, "btdb_test_").await;
    let left = common::count(
        &mut conn,
        &format!("SELECT count(*) AS n FROM pg_database WHERE datname = '{stale}'"),
    )
    .await;
    assert_eq!(left, 0, "the stale database stayed");
    // This process's own database is in use, and stays.
    let name = db
        .url()
        .rsplit('/')
        .next()
        .expect("path")
        .split('?')
        .next()
        .expect("name")
        .to_owned();
    let mine = common::count(
        &mut conn,
        &format!("SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"),
    )
    .await;
    assert_eq!(mine, 1, "{name} went");
}
