//! Where the database comes from (docs/database.md), the connection pool and
//! schema migrations.

pub mod aggregate;
pub mod cluster;
pub mod config;
pub mod error;
pub mod explain;
pub mod layout;
pub mod migrate;
pub mod pg_bin;
pub mod replica;
pub mod roles;
pub mod statements;
pub mod timing;
pub mod uncached;
pub mod url;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use diesel::ConnectionError;
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolableConnection, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tracing::{debug, info, warn};

use cluster::Cluster;
use config::{ConnConfig, Environment};
pub use layout::Layout;
pub use migrate::{SchemaState, SchemaUse};
use timing::{QueryStats, QueryTimer};

/// How to reach the database and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// A server given by URL; `None` means the embedded default cluster.
    pub database_url: Option<String>,
    pub pool_size: u32,
    /// How long to wait for a new connection, and for a free one from the pool.
    pub connect_timeout: Duration,
    /// Statements slower than this are logged as warnings.
    pub slow_query: Duration,
    /// Where every connection adds its statement count and time.
    pub stats: Arc<QueryStats>,
    /// The server cancels any statement running longer (PostgreSQL's statement_timeout).
    pub statement_timeout: Option<Duration>,
    /// What the command needs of the schema: only `Migrate` applies migrations to a server
    /// given by URL; the embedded cluster, which btdb owns, is migrated on first use.
    pub schema: SchemaUse,
    /// A hot standby that commands using the schema for `Read` read from instead.
    pub read_url: Option<String>,
    /// Before reading from the standby, wait up to this long for it to replay what the
    /// primary had written.
    pub read_your_writes: Option<Duration>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            database_url: None,
            pool_size: 4,
            connect_timeout: Duration::from_secs(10),
            slow_query: Duration::from_secs(1),
            stats: Arc::default(),
            statement_timeout: None,
            schema: SchemaUse::default(),
            read_url: None,
            read_your_writes: None,
        }
    }
}

type Writers = diesel::r2d2::ConnectionManager<diesel::PgConnection>;

/// Synchronous connections for recording, whose COPY is Diesel's (diesel-async has none).
#[derive(Debug, Clone)]
pub struct WriterPool {
    pool: diesel::r2d2::Pool<Writers>,
    /// Why the last attempt to open or check a connection failed: r2d2's timeout does not
    /// always say (a failed check on checkout is not kept), and r2d2 would otherwise log
    /// every attempt as an error.
    last_error: LastError,
    layout: Layout,
}

/// A connection with the layout of the database it reads, resolved once when btdb connected:
/// every query whose SQL differs between one server and Citus is built from a `Reader`, never
/// from a layout passed beside a connection, so that no read can run one layout's SQL on the
/// other. It is the connection too (it dereferences to one) for queries alike on both.
pub struct Reader<'a> {
    conn: PooledConnection<'a, AsyncPgConnection>,
    layout: Layout,
}

impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl Reader<'_> {
    /// How the tables this connection reads are laid out.
    pub fn layout(&self) -> Layout {
        self.layout
    }
}

impl std::ops::Deref for Reader<'_> {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

impl WriterPool {
    /// The layout of the tables these connections write.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// A connection; waits up to the connect timeout, then fails with the last cause.
    pub fn get(&self) -> Result<diesel::r2d2::PooledConnection<Writers>> {
        self.pool.get().map_err(|e| {
            let message = e.to_string();
            let last = self.last_error.0.lock().unwrap_or_else(|p| p.into_inner());
            match last.as_deref() {
                Some(cause) if !message.contains(cause) => {
                    anyhow!("{message}; the last attempt failed: {cause}")
                }
                _ => anyhow!(message),
            }
        })
    }
}

/// A migrated database and a pool of connections to it.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool<AsyncPgConnection>,
    /// Where both pools connect; its Debug form hides the password.
    config: ConnConfig,
    options: DbOptions,
    /// Host and database, for messages (never the password).
    target: String,
    applied: Vec<String>,
    schema: SchemaState,
    layout: Layout,
    stats: Arc<QueryStats>,
    /// Why the pool last failed to open or keep a connection: bb8 says only "timed out".
    last_error: LastError,
}

/// No connection could be had: the server is down, unreachable or full. Front ends tell it
/// apart from a mistake in what was asked (`btdb serve` answers 503, not 400).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// The pool's last connection error, kept for the message of a wait that times out.
#[derive(Debug, Clone, Default)]
struct LastError(Arc<std::sync::Mutex<Option<String>>>);

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for LastError {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        debug!("a writer connection attempt failed: {error}");
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }
}

impl bb8::ErrorSink<diesel_async::pooled_connection::PoolError> for LastError {
    fn sink(&self, error: diesel_async::pooled_connection::PoolError) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<diesel_async::pooled_connection::PoolError>> {
        Box::new(self.clone())
    }
}

impl Db {
    /// Connects (starting the embedded cluster when no URL is given), checks the schema
    /// against this btdb's migrations (applying them where `options.schema` or the embedded
    /// cluster says so) and builds the pool.
    pub async fn connect(options: &DbOptions) -> Result<Self> {
        let standby = options
            .read_url
            .as_ref()
            .filter(|_| options.schema == SchemaUse::Read);
        let embedded = options.database_url.is_none() && standby.is_none();
        let (config, mut conn) = match standby {
            None => open_primary(options).await?,
            Some(read_url) => {
                // Reading one's writes: the primary's position now, replayed before reading.
                let position = match options.read_your_writes {
                    Some(_) => {
                        let (_, mut primary) = open_primary(options).await?;
                        Some(replica::primary_position(&mut primary).await?)
                    }
                    None => None,
                };
                let config =
                    ConnConfig::parse(read_url, &Environment::current()).context("--read-url")?;
                let mut conn = connect(&config, options.connect_timeout).await?;
                if let (Some(lsn), Some(wait)) = (position, options.read_your_writes) {
                    replica::wait_for(&mut conn, &lsn, wait)
                        .await
                        .with_context(|| format!("reading from {}", config.describe()))?;
                }
                (config, conn)
            }
        };
        let target = config.describe();
        let stats = options.stats.clone();
        // Migrations are timed too: `--timings` counts every statement of the command.
        conn.set_instrumentation(QueryTimer::new(stats.clone(), options.slow_query));
        let check = async |conn: &mut AsyncPgConnection| {
            migrate::state(conn)
                .await
                .with_context(|| format!("checking the schema of {target}"))
        };
        // The embedded cluster migrates itself on first use; once it is current, one query
        // says so, and the migration transaction (five statements) is not run.
        let state = match options.schema {
            SchemaUse::Migrate => None,
            _ => Some(check(&mut conn).await?),
        };
        let migrating = options.schema == SchemaUse::Migrate
            || (embedded
                && options.schema != SchemaUse::Inspect
                && matches!(state, Some((SchemaState::Behind { .. }, _))));
        let (mut conn, applied) = if migrating {
            migrate::run_pending(conn)
                .await
                .with_context(|| format!("migrating {target}"))?
        } else {
            (conn, Vec::new())
        };
        let (schema, layout) = match state {
            Some(state) if !migrating => state,
            _ => check(&mut conn).await?,
        };
        if let Some(problem) = schema.problem(options.schema) {
            bail!("{problem} ({target})");
        }
        if let SchemaState::Ahead { at, knows } = &schema {
            warn!(
                "the database is at migration {at}, newer than this btdb knows ({knows}); reading on"
            );
        }
        let limit = limit_statements(options.statement_timeout);
        if let Some(limit) = &limit {
            conn.batch_execute(limit).await?;
        }
        if !applied.is_empty() {
            info!(count = applied.len(), "applied pending migrations");
        }
        let last_error = LastError::default();
        let mut manager_config = ManagerConfig::default();
        // A connection is handed out without a round trip: one whose server went away has
        // seen its socket end and is closed, and is replaced. The default asked `SELECT 1` at
        // every checkout, up to four round trips of a web page.
        manager_config.recycling_method = RecyclingMethod::CustomFunction(Box::new(|conn| {
            let broken = PoolableConnection::is_broken(conn);
            Box::pin(async move {
                match broken {
                    true => Err(diesel::result::Error::BrokenTransactionManager),
                    false => Ok(()),
                }
            })
        }));
        let timeout = options.connect_timeout;
        let (pool_stats, slow, pool_limit) = (stats.clone(), options.slow_query, limit.clone());
        let pool_config = config.clone();
        manager_config.custom_setup = Box::new(move |_| {
            let config = pool_config.clone();
            let stats = pool_stats.clone();
            let limit = pool_limit.clone();
            Box::pin(async move {
                let mut conn = connect(&config, timeout)
                    .await
                    .map_err(|e| ConnectionError::BadConnection(format!("{e:#}")))?;
                if let Some(limit) = &limit {
                    conn.batch_execute(limit)
                        .await
                        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                }
                conn.set_instrumentation(QueryTimer::new(stats, slow));
                Ok(conn)
            })
        });
        // The manager's URL only reaches `custom_setup`, which connects from `config` instead.
        let manager = AsyncDieselConnectionManager::new_with_config(target.clone(), manager_config);
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .connection_timeout(options.connect_timeout)
            .error_sink(Box::new(last_error.clone()))
            .build_unchecked(manager);
        // The connection that migrated is a good one: keep it rather than dial again.
        pool.add(conn)
            .map_err(|_| anyhow!("the connection pool has no room for a first connection"))?;
        debug!(%target, pool_size = options.pool_size, "connected");
        Ok(Self {
            pool,
            config,
            options: options.clone(),
            target,
            applied,
            schema,
            layout,
            stats,
            last_error,
        })
    }

    /// How the tables were laid out when connecting (`btdb db migrate` may distribute them).
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Where the schema stood against this btdb's migrations when connecting.
    pub fn schema(&self) -> &SchemaState {
        &self.schema
    }

    /// A connection for the commands' queries, which knows the layout of what it reads (see
    /// [`Reader`]); waits up to the connect timeout for a free one.
    pub async fn reader(&self) -> Result<Reader<'_>> {
        Ok(Reader {
            conn: self.conn().await?,
            layout: self.layout,
        })
    }

    /// A bare connection from the pool, for what does not depend on the layout (schema
    /// upkeep, roles, health); reads go through [`Db::reader`]. Waits up to the connect
    /// timeout for a free one.
    pub async fn conn(&self) -> Result<PooledConnection<'_, AsyncPgConnection>> {
        self.pool.get().await.map_err(|e| {
            let last = self.last_error.0.lock().unwrap_or_else(|p| p.into_inner());
            anyhow::Error::new(Unavailable(match last.as_deref() {
                Some(cause) => format!(
                    "no connection to {} available: {e}; the last attempt failed: {cause}",
                    self.target
                ),
                None => format!("no connection to {} available: {e}", self.target),
            }))
        })
    }

    /// A connection of its own to the primary, for LISTEN; `None` when only a standby is
    /// named (`--read-url` without `--database-url`), which cannot LISTEN.
    pub async fn primary_session(options: &DbOptions) -> Result<Option<AsyncPgConnection>> {
        if options.read_url.is_some() && options.database_url.is_none() {
            return Ok(None);
        }
        Ok(Some(open_primary(options).await?.1))
    }

    /// Whether reads go to a standby (`--read-url`).
    pub fn reads_standby(&self) -> bool {
        self.options.read_url.is_some() && self.options.schema == SchemaUse::Read
    }

    /// A pool of up to `size` synchronous connections for recording; they open as needed.
    pub fn writers(&self, size: u32) -> Result<WriterPool> {
        let last_error = LastError::default();
        let pool = diesel::r2d2::Pool::builder()
            .error_handler(Box::new(last_error.clone()))
            .max_size(size.max(1))
            .min_idle(Some(0))
            .connection_timeout(self.options.connect_timeout)
            .connection_customizer(Box::new(Instrumented {
                stats: self.stats.clone(),
                slow: self.options.slow_query,
                limit: limit_statements(self.options.statement_timeout),
            }))
            .build(diesel::r2d2::ConnectionManager::new(self.config.libpq()))
            .with_context(|| format!("connecting to {}", self.target))?;
        Ok(WriterPool {
            pool,
            last_error,
            layout: self.layout,
        })
    }

    /// The migrations this connect applied, oldest first.
    pub fn applied_migrations(&self) -> &[String] {
        &self.applied
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// Statements run and time spent in them, over every connection of this `Db`.
    pub fn stats(&self) -> &QueryStats {
        &self.stats
    }
}

/// Times the statements of the synchronous writer connections too.
#[derive(Debug)]
struct Instrumented {
    stats: Arc<QueryStats>,
    slow: Duration,
    limit: Option<String>,
}

impl diesel::r2d2::CustomizeConnection<diesel::PgConnection, diesel::r2d2::Error> for Instrumented {
    fn on_acquire(&self, conn: &mut diesel::PgConnection) -> Result<(), diesel::r2d2::Error> {
        diesel::Connection::set_instrumentation(
            conn,
            QueryTimer::new(self.stats.clone(), self.slow),
        );
        match &self.limit {
            Some(limit) => diesel::connection::SimpleConnection::batch_execute(conn, limit)
                .map_err(diesel::r2d2::Error::QueryError),
            None => Ok(()),
        }
    }
}

/// The statement that sets a connection's statement timeout; none without a limit, so that a
/// timeout the server or role sets stays in force and no connection pays a round trip for it.
fn limit_statements(timeout: Option<Duration>) -> Option<String> {
    timeout.map(|t| format!("SET statement_timeout = {}", t.as_millis().max(1)))
}

/// A connection to the primary: the server DATABASE_URL names, or the embedded cluster
/// (started when it is not running).
async fn open_primary(options: &DbOptions) -> Result<(ConnConfig, AsyncPgConnection)> {
    Ok(match &options.database_url {
        Some(url) => {
            let config = ConnConfig::parse(url, &Environment::current())?;
            let conn = connect(&config, options.connect_timeout).await?;
            (config, conn)
        }
        None => {
            let cluster = Cluster::new(cluster::default_home()?)?;
            // The embedded cluster's URL says everything: no variable may redirect it.
            let config = ConnConfig::parse(&cluster.url(cluster::DATABASE), &Environment::none())?;
            // Usually the cluster runs already: try it before spawning pg_ctl to find out.
            let conn = match connect(&config, options.connect_timeout).await {
                Ok(conn) => conn,
                Err(_) => {
                    cluster.ensure_running()?;
                    connect(&config, options.connect_timeout).await?
                }
            };
            (config, conn)
        }
    })
}

/// One connection to the server `url` names (the environment filling what it leaves out).
pub async fn establish(url: &str, timeout: Duration) -> Result<AsyncPgConnection> {
    connect(&ConnConfig::parse(url, &Environment::current())?, timeout).await
}

/// One connection, with TLS as `config.sslmode` says, and an error that says where it tried
/// to go and why it failed.
///
/// Connects through tokio-postgres directly rather than `AsyncPgConnection::establish`, which
/// flattens the error to its first line ("error connecting to server") and drops the cause.
pub async fn connect(config: &ConnConfig, timeout: Duration) -> Result<AsyncPgConnection> {
    let target = config.describe();
    let tls = if config.uses_tls() {
        Some(config.tls()?)
    } else {
        None
    };
    let connect = async {
        let pg = config.tokio();
        let mut conn = match tls {
            Some(tls) => {
                let (client, connection) = pg.connect(tls).await?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await?
            }
            None => {
                let (client, connection) = pg.connect(tokio_postgres::NoTls).await?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await?
            }
        };
        // btdb's reads are index walks of milliseconds, but a row estimate above
        // `jit_above_cost` (a 1,000-run page's metrics: 16,000 rows, estimated 89,000) makes
        // the server compile the query first: 2 to 5 ms that never pay back. A SET, not a
        // startup option, so that poolers which refuse `options` still accept btdb.
        conn.batch_execute("SET jit = off").await?;
        anyhow::Ok(conn)
    };
    let how = if config.hosts.iter().any(|h| !h.starts_with('/')) {
        format!(" with sslmode={}", config.sslmode.as_str())
    } else {
        String::new()
    };
    match tokio::time::timeout(timeout, connect).await {
        Ok(result) => result.with_context(|| format!("cannot connect to {target}{how}")),
        Err(_) => Err(anyhow!(
            "cannot connect to {target}{how}: no answer within {}s",
            timeout.as_secs_f64()
        )),
    }
}
