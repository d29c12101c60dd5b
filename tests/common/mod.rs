//! The test harness: one PostgreSQL cluster, a template database migrated once, and a fresh
//! database per test cloned from it and dropped afterwards.
//!
//! The cluster is `TEST_DATABASE_URL` (a superuser URL) when set, otherwise a private cluster
//! under the test root (see `ROOT`), created and started on first use and left running for the
//! next run (`bash tests/stop-clusters.sh` stops it); the databases of test processes that
//! ended without dropping theirs are dropped when a process first needs it. Tests run in
//! parallel, within one process and across processes.

#![allow(dead_code)]

pub mod bits;
pub mod browser;
pub mod citus;
pub mod cli;
pub mod figures;
pub mod golden;
pub mod record;
pub mod serve;
pub mod tools;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use btdb::db::cluster::Cluster;
use btdb::db::{Db, DbOptions, establish, migrate, url};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

const TEMPLATE: &str = "btdb_template";
/// Advisory lock key held while the template is checked or rebuilt.
const TEMPLATE_LOCK: i64 = 0x0062_7464_6274_706c;
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The URL of the cluster's maintenance database, and the template is current.
static ADMIN_URL: LazyLock<String> = LazyLock::new(|| {
    run_apart(async {
        let admin = admin_url();
        if std::env::var_os("TEST_DATABASE_URL").is_none() {
            // A server of ours alone: no other machine's tests have databases in it.
            sweep_databases(&admin, "btdb_test_").await;
        }
        ensure_template(&admin, TEMPLATE, &migrations_fingerprint(), None).await;
        admin
    })
    .expect("test database setup panicked")
});

/// Runs `work` to its end on a runtime of its own, on a thread of its own: set-up and drops
/// happen inside tests' runtimes, which cannot be blocked on, and migrations need a
/// multi-thread runtime.
pub fn run_apart<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> std::thread::Result<T> {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test runtime")
            .block_on(work)
    })
    .join()
}

fn admin_url() -> String {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return url;
    }
    let cluster = test_cluster();
    cluster.ensure_running().expect("starting the test cluster");
    cluster.url("postgres")
}

/// The private test cluster, tuned for speed over durability.
pub fn test_cluster() -> Cluster {
    cluster_at(&test_cluster_home())
        .with_setting("fsync", "off")
        .with_setting("synchronous_commit", "off")
        .with_setting("full_page_writes", "off")
        .with_setting("max_connections", "300")
}

pub fn cluster_at(home: &Path) -> Cluster {
    Cluster::new(home).expect("cluster home")
}

fn test_cluster_home() -> PathBuf {
    ROOT.join("cluster")
}

/// Where the test clusters and scratch directories live: `$TMPDIR/btdb-test-TAG`, outside the
/// checkout, so that copying the checkout never copies a running server's files, with a tag of
/// the checkout's own so that two checkouts never share one. `target/tmp/test-root` names it
/// for `tests/stop-clusters.sh`. Scratch directories left by test processes that are gone are
/// removed here, once per process.
static ROOT: LazyLock<PathBuf> = LazyLock::new(|| {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let tag = fnv(target.as_os_str().as_encoded_bytes().iter().copied(), 0);
    let outside = std::env::temp_dir().join(format!("btdb-test-{:08x}", tag as u32));
    std::fs::create_dir_all(&outside).expect("creating the test root");
    // The server runs as another account when the tests run as root: it must reach the root.
    let root = if cluster_at(&outside).server_can_reach(&outside) {
        outside
    } else {
        target.join("btdb-test")
    };
    std::fs::create_dir_all(&root).expect("creating the test root");
    let _ = std::fs::write(target.join("test-root"), format!("{}\n", root.display()));
    sweep_scratch(&root);
    root
});

/// Whether process `pid` of this machine still runs.
fn alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

/// Removes the scratch directories of test processes that ended without removing them (a
/// panic keeps a test's files to look at), stopping any cluster a test left running in one.
pub fn sweep_scratch(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("scratch-")
            .and_then(|rest| rest.split('-').nth_back(1))
        else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let dir = entry.path();
        for home in cluster_homes(&dir) {
            let _ = cluster_at(&home).stop();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Cluster homes up to two levels below `dir`.
fn cluster_homes(dir: &Path) -> Vec<PathBuf> {
    let mut homes = Vec::new();
    let mut level = vec![dir.to_path_buf()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for home in level {
            if home.join("pg/data/PG_VERSION").is_file() {
                homes.push(home.clone());
            }
            let children = std::fs::read_dir(&home).into_iter().flatten().flatten();
            next.extend(children.map(|e| e.path()).filter(|p| p.is_dir()));
        }
        level = next;
    }
    homes
}

/// Says on the test process's own stderr that tests were skipped and why: `eprintln!` inside
/// a test is captured, and shown only if the test fails.
pub fn say_skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

static SCRATCH: AtomicU32 = AtomicU32::new(0);

/// A directory of a test's own files (a cluster home, documents), removed when the test is
/// done with it, or kept (and named) when the test fails so that they can be looked at.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept the failed test's files in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A new scratch directory, its name starting with `name`.
pub fn scratch_dir(name: &str) -> Scratch {
    let dir = ROOT.join(format!(
        "scratch-{name}-{}-{}",
        std::process::id(),
        SCRATCH.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    Scratch(dir)
}

/// FNV-1a, enough to tell one migrations directory or fixture script from another.
fn fnv(bytes: impl IntoIterator<Item = u8>, mut hash: u64) -> u64 {
    for b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    hash
}

/// Fingerprint of the migrations directory: a template built from other migrations is rebuilt.
fn migrations_fingerprint() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("reading migrations")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let hash = files.iter().fold(1469598103934665603, |hash, file| {
        let name = file
            .strip_prefix(&root)
            .expect("below root")
            .as_os_str()
            .as_encoded_bytes();
        let hash = fnv(name.iter().copied(), hash);
        fnv(std::fs::read(file).expect("reading a migration"), hash)
    });
    format!("btdb migrations {hash:016x}")
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// Drops the databases named `PREFIX<pid>_<n>` whose test process is gone: killed, or stopped
/// before its values were dropped.
pub async fn sweep_databases(admin: &str, prefix: &str) {
    let Ok(mut conn) = establish(admin, TIMEOUT).await else {
        return;
    };
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind::<Text, _>(prefix)
            .load(&mut conn)
            .await
            .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname[prefix.len()..]
            .split('_')
            .next()
            .unwrap_or_default();
        if !pid.is_empty() && !alive(pid) {
            let _ = conn
                .batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
                .await;
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Comment {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    comment: Option<String>,
}

/// Makes sure `template` exists and matches `fingerprint`, else (re)builds it: migrated from
/// scratch when `fill` is `None`, otherwise cloned from the migrated template and filled by the
/// `fill` script. Serialised across processes by an advisory lock.
async fn ensure_template(admin: &str, template: &str, fingerprint: &str, fill: Option<&str>) {
    let mut conn = establish(admin, TIMEOUT)
        .await
        .expect("connecting to the test cluster");
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await
        .expect("template lock");
    let current: Option<Comment> = diesel::sql_query(
        "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
    )
    .bind::<Text, _>(template)
    .get_result(&mut conn)
    .await
    .ok();
    if current.and_then(|c| c.comment).as_deref() != Some(fingerprint) {
        // Separate statements: a multi-statement string is one transaction, which neither
        // DROP DATABASE nor CREATE DATABASE may run in.
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {template} WITH (FORCE)"))
            .await
            .expect("dropping the old template");
        let source = if fill.is_some() {
            TEMPLATE
        } else {
            "template0"
        };
        conn.batch_execute(&format!("CREATE DATABASE {template} TEMPLATE {source}"))
            .await
            .expect("creating a template database");
        let built = establish(
            &url::with_database(admin, template).expect("test URL"),
            TIMEOUT,
        )
        .await
        .expect("connecting to a template");
        match fill {
            None => drop(
                migrate::run_pending(built)
                    .await
                    .expect("migrating the template"),
            ),
            Some(script) => {
                let mut built = built;
                built
                    .batch_execute(script)
                    .await
                    .expect("filling a fixture");
                // Statistics and the visibility map, as autovacuum leaves them on a live database.
                built
                    .batch_execute("VACUUM ANALYZE")
                    .await
                    .expect("vacuuming a fixture");
            }
        }
        conn.batch_execute(&format!(
            "COMMENT ON DATABASE {template} IS '{fingerprint}'"
        ))
        .await
        .expect("marking the template");
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await
        .expect("template unlock");
}

/// A database of a test's own, dropped when the value is.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The test cluster's maintenance URL (the template made current first).
pub fn admin() -> String {
    ADMIN_URL.clone()
}

impl TestDb {
    /// A fresh database holding the migrated, empty schema.
    pub async fn new() -> Self {
        Self::create(TEMPLATE).await
    }

    /// A fresh database holding the schema filled by `script` (then vacuumed and analysed).
    /// The filled database is built once and kept as a template named after `name`, so tests
    /// sharing a fixture pay for it once.
    pub async fn with_fixture(name: &str, script: &str) -> Self {
        let template = format!("btdb_fixture_{name}");
        let fingerprint = format!(
            "{} {:016x}",
            migrations_fingerprint(),
            fnv(script.bytes(), 0)
        );
        ensure_template(&ADMIN_URL, &template, &fingerprint, Some(script)).await;
        Self::create(&template).await
    }

    /// A fresh database with no schema at all.
    pub async fn empty() -> Self {
        Self::create("template0").await
    }

    async fn create(template: &str) -> Self {
        let admin = ADMIN_URL.clone();
        let name = format!(
            "btdb_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = establish(&admin, TIMEOUT)
            .await
            .expect("connecting to the test cluster");
        conn.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("creating a test database");
        let url = url::with_database(&admin, &name).expect("test URL");
        Self { name, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        establish(&self.url, TIMEOUT)
            .await
            .expect("connecting to the test database")
    }

    /// The database through btdb's own connect path (pool, migrations check).
    pub async fn db(&self) -> Db {
        Db::connect(&DbOptions {
            database_url: Some(self.url.clone()),
            ..DbOptions::default()
        })
        .await
        .expect("btdb connecting to the test database")
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The `n` of a `SELECT count(*) AS n …`.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// A login role of this test's own (made afresh), and the URL that connects to `db` as it.
pub async fn login_role(db: &TestDb, conn: &mut AsyncPgConnection, name: &str) -> String {
    conn.batch_execute(&format!(
        "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN"
    ))
    .await
    .expect("creating a role");
    url::with_param(db.url(), "user", name).expect("test URL")
}

/// A loopback port free at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Drops `db`, then the login roles a test made: their privileges lived in it.
pub async fn drop_roles(db: TestDb, roles: &[&str]) {
    let admin = url::with_database(db.url(), "postgres").expect("test URL");
    drop(db);
    let mut admin = establish(&admin, TIMEOUT).await.expect("admin");
    for role in roles {
        admin
            .batch_execute(&format!("DROP ROLE {role}"))
            .await
            .expect("dropping a role");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_database(std::slice::from_ref(&ADMIN_URL), &self.name);
    }
}

/// Drops database `name` through each of the `admins` (maintenance URLs of its servers),
/// warning if it could not.
pub fn drop_database(admins: &[String], name: &str) {
    let (admins, owned) = (admins.to_vec(), name.to_owned());
    let dropped = run_apart(async move {
        for admin in admins {
            let mut conn = establish(&admin, TIMEOUT).await?;
            conn.batch_execute(&format!("DROP DATABASE IF EXISTS {owned} WITH (FORCE)"))
                .await?;
        }
        anyhow::Ok(())
    });
    if !matches!(dropped, Ok(Ok(()))) {
        eprintln!("warning: test database {name} was not dropped");
    }
}

/// Migration `dir` (a directory of migrations/) undone and applied again on the database at
/// `url`, in one transaction and one statement at a time as `btdb db migrate` applies it on
/// Citus: what a database recorded before the migration goes through. Blocking.
pub fn redo_migration(url: &str, dir: &str) {
    use diesel::Connection;
    let read = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir)
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let (down, up) = (read("down.sql"), read("up.sql"));
    let version: String = dir
        .split('_')
        .next()
        .unwrap_or(dir)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let mut conn = diesel::PgConnection::establish(url).expect("connecting");
    conn.transaction(|conn| {
        migrate::apply_statementwise(conn, &[("down", &down)])?;
        diesel::RunQueryDsl::execute(
            diesel::sql_query(
                "DELETE FROM __diesel_schema_migrations WHERE version IN ($1, 'down')",
            )
            .bind::<Text, _>(&version),
            conn,
        )?;
        migrate::apply_statementwise(conn, &[(&version, &up)])?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .unwrap_or_else(|e| panic!("migration {dir} again: {e}"));
}
