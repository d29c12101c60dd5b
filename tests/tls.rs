//! btdb against a server that takes TLS only: a cluster of the test's own with `ssl = on`, a
//! certificate authority and server certificate made here, and a pg_hba.conf that allows only
//! `hostssl` on 127.0.0.1 (and client certificates for one role).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use btdb::db::cluster::Cluster;
use diesel_async::SimpleAsyncConnection;

/// Stops the clusters however the test ends, standbys (listed last) first.
struct Running(Vec<Cluster>);

impl Drop for Running {
    fn drop(&mut self) {
        for cluster in self.0.iter().rev() {
            let _ = cluster.stop();
        }
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl (Debian: apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate authority `name`.crt/.key, and `leaf`.crt/.key signed by it for `subject`.
fn certificates(dir: &Path, ca: &str, leaf: Option<(&str, &str, &str)>) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.crt"),
        ],
    );
    if let Some((name, subject, san)) = leaf {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                subject,
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        std::fs::write(dir.join(format!("{name}.ext")), san).expect("extensions");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-out",
                &format!("{name}.crt"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

fn btdb(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .output()
        .expect("running btdb")
}

fn ok(url: &str, args: &[&str]) -> String {
    let out = btdb(url, args);
    assert!(
        out.status.success(),
        "btdb {args:?} at {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(url: &str, args: &[&str]) -> String {
    let out = btdb(url, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "btdb {args:?} at {url}: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(!err.contains("s3cret"), "the password was printed: {err}");
    err
}

/// A certificate authority and the server and client certificates it signs, another
/// authority, and a pg_hba.conf that takes TCP connections over TLS only.
struct Tls {
    home: common::Scratch,
    certs: PathBuf,
    hba: PathBuf,
}

impl Tls {
    fn new(name: &str) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let home = common::scratch_dir(name);
        let certs = home.join("certs");
        std::fs::create_dir_all(&certs).expect("certs dir");
        let san = "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
        certificates(&certs, "ca", Some(("server", "/CN=localhost", san)));
        certificates(&certs, "other_ca", None);
        openssl(
            &certs,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=certuser",
                "-keyout",
                "client.key",
                "-out",
                "client.csr",
            ],
        );
        std::fs::write(certs.join("client.ext"), "basicConstraints=CA:FALSE\n").expect("ext");
        openssl(
            &certs,
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                "client.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "client.crt",
                "-extfile",
                "client.ext",
            ],
        );
        for name in ["ca.crt", "server.crt", "other_ca.crt", "client.crt"] {
            std::fs::set_permissions(certs.join(name), std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
        std::fs::set_permissions(&certs, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(
            certs.join("client.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
        // The socket is for setting up (and for a standby's copy); TCP is TLS only.
        let hba = home.join("pg_hba.conf");
        std::fs::write(
            &hba,
            "local all all trust\n\
             local replication all trust\n\
             hostssl all certuser 127.0.0.1/32 cert\n\
             hostssl all all 127.0.0.1/32 trust\n",
        )
        .expect("pg_hba.conf");
        std::fs::set_permissions(&hba, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        Self { home, certs, hba }
    }

    fn path(&self, name: &str) -> String {
        self.certs.join(name).to_str().expect("path").to_owned()
    }

    /// A cluster under `name` taking TLS only on a free loopback port.
    fn cluster(&self, name: &str) -> Cluster {
        let cluster = common::cluster_at(&self.home.join(name))
            .with_port(common::free_port())
            .with_setting("listen_addresses", "127.0.0.1")
            .with_setting("ssl", "on")
            .with_setting("ssl_cert_file", &self.path("server.crt"))
            .with_setting("ssl_key_file", &self.path("server.key"))
            .with_setting("ssl_ca_file", &self.path("ca.crt"))
            .with_setting("hba_file", self.hba.to_str().expect("path"))
            .with_setting("fsync", "off");
        cluster
            .hand_over(&self.certs.join("server.key"))
            .expect("server key");
        cluster
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_only_server_takes_require_and_verify_full_and_refuses_the_rest() {
    let tls = Tls::new("tls");
    let path = |name: &str| tls.path(name);
    let cluster = tls.cluster("cluster");
    let port = cluster.port();
    cluster.ensure_running().expect("starting the TLS cluster");
    let cluster = Running(vec![cluster]);

    // Set up over the socket, which never uses TLS: a database, its schema, a client role.
    let socket = cluster.0[0].url("btdb");
    let mut admin = btdb::db::establish(&socket, std::time::Duration::from_secs(10))
        .await
        .expect("socket");
    for sql in ["CREATE DATABASE tls_db", "CREATE ROLE certuser LOGIN"] {
        admin.batch_execute(sql).await.expect(sql);
    }
    ok(&cluster.0[0].url("tls_db"), &["db", "migrate"]);
    ok(
        &cluster.0[0].url("tls_db"),
        &["db", "grant", "reader", "certuser"],
    );

    let tcp =
        |host: &str, query: &str| format!("postgres://btdb:s3cret@{host}:{port}/tls_db?{query}");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    let require = tcp("127.0.0.1", "sslmode=require");
    let full = tcp(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", path("ca.crt")),
    );
    let full_by_address = tcp(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", path("ca.crt")),
    );
    // Both pools, over TLS: the COPY writers (libpq) and the readers (tokio-postgres).
    assert!(ok(&require, &["record", fixture]).contains("recorded 25"));
    let again = ok(&full, &["record", fixture]);
    assert!(again.contains("already present 25"), "{again}");
    let id = {
        let page: serde_json::Value =
            serde_json::from_str(&ok(&full, &["runs", "--format", "json", "--limit", "1"]))
                .expect("json");
        page["runs"][0]["id"].to_string()
    };
    for url in [&require, &full, &full_by_address] {
        for args in [
            &["rank", "--deflated"][..],
            &["compare", "--strategy", "alpha", "--x", "fast"],
            &["runs", "--where", "sharpe > 0"],
            &["show", &id],
            &["explain", "rank"],
            &["doctor"],
            &["db", "status"],
        ] {
            ok(url, args);
        }
    }
    // The connection is encrypted, and btdb names itself to the server.
    let mut conn = btdb::db::establish(&require, std::time::Duration::from_secs(10))
        .await
        .expect("require");
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
        #[diesel(sql_type = diesel::sql_types::Text)]
        app: String,
    }
    let seen: Ssl = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT ssl, application_name::text AS app FROM pg_stat_ssl JOIN pg_stat_activity \
             USING (pid) WHERE pid = pg_backend_pid()",
        ),
        &mut conn,
    )
    .await
    .expect("pg_stat_ssl");
    assert!(seen.ssl);
    assert_eq!(seen.app, "btdb");

    // Another authority's certificate does not verify.
    let wrong_ca = tcp(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", path("other_ca.crt")),
    );
    for args in [&["rank"][..], &["record", fixture]] {
        let err = fails(&wrong_ca, args);
        assert!(
            err.contains("cannot connect to database `tls_db` on `localhost:")
                && err.contains("sslmode=verify-full")
                && err.contains("certificate verify failed"),
            "{err}"
        );
    }
    // The server takes no plaintext.
    let err = fails(&tcp("127.0.0.1", "sslmode=disable"), &["rank"]);
    assert!(
        err.contains("sslmode=disable") && err.contains("no encryption"),
        "{err}"
    );
    // A missing root certificate is named.
    let err = fails(
        &tcp(
            "localhost",
            "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt",
        ),
        &["rank"],
    );
    assert!(
        err.contains("cannot read sslrootcert `/nonexistent/ca.crt`"),
        "{err}"
    );

    // A role the server authenticates by its client certificate.
    let certuser = |query: &str| {
        format!(
            "postgres://certuser@localhost:{port}/tls_db?sslmode=verify-full&sslrootcert={}{query}",
            path("ca.crt")
        )
    };
    ok(
        &certuser(&format!(
            "&sslcert={}&sslkey={}",
            path("client.crt"),
            path("client.key")
        )),
        &["rank"],
    );
    let err = fails(&certuser(""), &["rank"]);
    assert!(err.contains("certificate"), "{err}");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_ranks_on_a_tls_only_server_through_its_replica() {
    let tls = Tls::new("tls-replica");
    let primary = tls.cluster("primary");
    primary.ensure_running().expect("primary");
    let standby = tls.cluster("standby");
    standby.replicate_from(&primary).expect("pg_basebackup");
    standby.ensure_running().expect("standby");
    let running = Running(vec![primary.clone(), standby.clone()]);

    // The owner migrates over the socket, grants a reader, and records over TLS.
    let mut admin = btdb::db::establish(&primary.url("btdb"), std::time::Duration::from_secs(10))
        .await
        .expect("socket");
    admin
        .batch_execute("CREATE ROLE analyst LOGIN")
        .await
        .expect("role");
    ok(&primary.url("btdb"), &["db", "migrate"]);
    ok(&primary.url("btdb"), &["db", "grant", "reader", "analyst"]);
    let over_tls = |role: &str, cluster: &Cluster| {
        format!(
            "postgres://{role}:s3cret@localhost:{}/btdb?sslmode=verify-full&sslrootcert={}",
            cluster.port(),
            tls.path("ca.crt")
        )
    };
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    ok(&over_tls("btdb", &primary), &["record", "-q", fixture]);

    // The reader: the primary's URL for the WAL position, the standby's for the reads.
    let (p, s) = (over_tls("analyst", &primary), over_tls("analyst", &standby));
    let read = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
            .args(args)
            .args(["--read-your-writes", "--format", "json"])
            .env("DATABASE_URL", &p)
            .env("BTDB_READ_URL", &s)
            .env_remove("RUST_LOG")
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT")
            .output()
            .expect("running btdb");
        assert!(
            out.status.success(),
            "btdb {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let page = read(&["runs", "--limit", "1000"]);
    assert_eq!(page["runs"].as_array().expect("runs").len(), 25);
    let ranked = read(&["rank", "--metric", "sharpe", "--deflated"]);
    assert!(
        ranked.to_string().contains("\"alpha\""),
        "the standby's ranking lacks the recorded strategy: {ranked}"
    );

    // Those reads were the standby's, over TLS, as the reader.
    let db = btdb::db::Db::connect(&btdb::db::DbOptions {
        database_url: Some(p.clone()),
        read_url: Some(s.clone()),
        ..btdb::db::DbOptions::default()
    })
    .await
    .expect("reading through the standby");
    #[derive(diesel::QueryableByName)]
    struct Seen {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        standby: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
        #[diesel(sql_type = diesel::sql_types::Text)]
        role: String,
    }
    let seen: Seen = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT pg_is_in_recovery() AS standby, ssl, current_user::text AS role \
             FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ),
        &mut *db.conn().await.expect("conn"),
    )
    .await
    .expect("pg_stat_ssl");
    assert!(
        seen.standby && seen.ssl,
        "standby {}, ssl {}",
        seen.standby,
        seen.ssl
    );
    assert_eq!(seen.role, "analyst");

    // The reader still cannot record, on the primary either.
    let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["record", fixture])
        .env("DATABASE_URL", &p)
        .env_remove("BTDB_READ_URL")
        .output()
        .expect("running btdb");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the role `analyst` may not record"), "{err}");
    drop(running);
}
