//! A local Citus cluster for the distributed tests: a coordinator and two workers, each a
//! private cluster like the embedded one, on loopback ports derived from the checkout's path
//! (so that test processes share them and two checkouts do not collide). Started on first use
//! and left running, like the test cluster.
//!
//! Citus is found as `citus.so` in the library directory beside the server binaries of
//! `BTDB_CITUS_PG_BIN`, or of any PostgreSQL installed; without it, `CitusDb::new` returns
//! `None` and says once why the distributed tests are skipped.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

use btdb::db::cluster::Cluster;
use btdb::db::{Db, DbOptions, SchemaUse, establish, layout, pg_bin};
use diesel_async::SimpleAsyncConnection;

use super::TIMEOUT;

/// The server binaries next to an installed Citus, or why there are none.
static CITUS_BIN: LazyLock<Result<PathBuf, String>> = LazyLock::new(|| {
    let has_citus = |bin: &PathBuf| {
        bin.parent()
            .is_some_and(|root| root.join("lib/citus.so").is_file())
    };
    if let Some(dir) = std::env::var_os("BTDB_CITUS_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_citus(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "BTDB_CITUS_PG_BIN `{}` has no ../lib/citus.so",
                dir.display()
            ))
        };
    }
    pg_bin::installed()
        .into_iter()
        .map(|(_, dir)| dir)
        .find(has_citus)
        .ok_or_else(|| {
            "no citus.so beside any PostgreSQL's server binaries (Citus is not in Debian: \
             docs/scale-out.md builds it; or set BTDB_CITUS_PG_BIN to the binaries beside it)"
                .to_owned()
        })
});

/// The three nodes, started, and the coordinator's maintenance URL.
static NODES: LazyLock<Option<Vec<Cluster>>> = LazyLock::new(|| {
    let bin = match &*CITUS_BIN {
        Ok(bin) => bin.clone(),
        Err(why) => {
            super::say_skipped(&format!("the distributed tests need Citus: {why}"));
            return None;
        }
    };
    let base = super::ROOT.join("citus");
    // A port range of the checkout's own, like the test cluster's directory.
    let tag = super::fnv(base.as_os_str().as_encoded_bytes().iter().copied(), 0);
    let first = 20_000 + (tag % 2_000) as u16 * 3;
    let nodes: Vec<Cluster> = ["coordinator", "worker-1", "worker-2"]
        .iter()
        .zip(first..)
        .map(|(name, port)| {
            super::cluster_at(&base.join(name))
                .with_bin_dir(&bin)
                .with_port(port)
                .with_setting("listen_addresses", "127.0.0.1")
                .with_setting("shared_preload_libraries", "citus")
                .with_setting("max_prepared_transactions", "100")
                // Loopback nodes of one machine: no TLS between them.
                .with_setting("citus.node_conninfo", "sslmode=disable")
                .with_setting("max_connections", "300")
                .with_setting("fsync", "off")
                .with_setting("synchronous_commit", "off")
                .with_setting("full_page_writes", "off")
        })
        .collect();
    for node in &nodes {
        node.ensure_running().expect("starting a Citus node");
    }
    let admins: Vec<String> = nodes.iter().map(|node| node.url("postgres")).collect();
    super::run_apart(async move {
        for admin in admins {
            super::sweep_databases(&admin, "btdb_citus_").await;
        }
    })
    .expect("sweeping the Citus nodes");
    Some(nodes)
});

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Advisory lock key held while a test database is set up on the nodes.
const SETUP_LOCK: i64 = 0x0062_7464_6263_6974;

/// A database of a test's own on every node of the local Citus cluster, btdb's schema migrated
/// and distributed; dropped when the value is.
pub struct CitusDb {
    name: String,
    url: String,
    nodes: Vec<Cluster>,
}

impl CitusDb {
    /// `None`, having said why, when Citus is not installed.
    pub async fn new() -> Option<Self> {
        Self::holding(&[]).await
    }

    /// The same, with `files` recorded (one run at a time) before the tables are distributed,
    /// as a team moving its existing database would.
    pub async fn holding(files: &[&str]) -> Option<Self> {
        let nodes = NODES.as_ref()?.clone();
        let name = format!(
            "btdb_citus_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        // Adding a node copies roles and settings to it, which are shared by all its databases:
        // two test processes doing so at once collide ("tuple concurrently updated"). A session
        // lock in the coordinator's maintenance database keeps them one at a time.
        let mut setup = establish(&nodes[0].url("postgres"), TIMEOUT)
            .await
            .expect("connecting to the coordinator");
        setup
            .batch_execute(&format!("SELECT pg_advisory_lock({SETUP_LOCK})"))
            .await
            .expect("the Citus setup lock");
        for node in &nodes {
            let mut admin = establish(&node.url("postgres"), TIMEOUT)
                .await
                .expect("connecting to a Citus node");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("creating a database on a Citus node");
            let mut conn = establish(&node.url(&name), TIMEOUT)
                .await
                .expect("connecting to a Citus node's database");
            conn.batch_execute("CREATE EXTENSION citus")
                .await
                .expect("CREATE EXTENSION citus");
        }
        let url = nodes[0].url(&name);
        let mut coordinator = establish(&url, TIMEOUT).await.expect("coordinator");
        let mut add = format!(
            "SELECT citus_set_coordinator_host('127.0.0.1', {});",
            nodes[0].port()
        );
        for worker in &nodes[1..] {
            add.push_str(&format!(
                "SELECT citus_add_node('127.0.0.1', {});",
                worker.port()
            ));
        }
        coordinator
            .batch_execute(&add)
            .await
            .expect("adding the workers");
        let db = Db::connect(&DbOptions {
            database_url: Some(url.clone()),
            schema: SchemaUse::Migrate,
            ..DbOptions::default()
        })
        .await
        .expect("migrating on the coordinator");
        for file in files {
            let out = super::cli::btdb_at(&url, &["record", "--jobs", "1", file], None);
            assert!(
                out.status.success(),
                "recording {file} before distributing: {}",
                super::cli::text(&out.stderr)
            );
        }
        let target = db.target().to_owned();
        let distributed = layout::distribute(&mut db.conn().await.expect("conn"), true, &target)
            .await
            .expect("distributing the tables");
        assert!(distributed, "a fresh database is distributed");
        setup
            .batch_execute(&format!("SELECT pg_advisory_unlock({SETUP_LOCK})"))
            .await
            .expect("the Citus setup lock");
        Some(Self { name, url, nodes })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for CitusDb {
    fn drop(&mut self) {
        let admins: Vec<String> = self.nodes.iter().map(|node| node.url("postgres")).collect();
        super::drop_database(&admins, &self.name);
    }
}
