//! `btdb db`: the embedded cluster's life cycle, migrations and connection URL.

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};

use super::GlobalArgs;
use crate::db::cluster::{self, Cluster, Status, Stopped};
use crate::db::config::{ConnConfig, Environment};
use crate::db::roles::{self, Access};
use crate::db::{self, Db, SchemaUse, layout, replica, url};
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Create the embedded cluster if needed and start it.
    Start,
    /// Stop the embedded cluster (a fast shutdown: open sessions are ended).
    Stop,
    /// Say whether the database is reachable and where its schema stands; changes nothing.
    Status,
    /// Apply pending schema migrations, as the role that owns (or will own) the schema. Other
    /// commands only check that the schema is this btdb's; the embedded cluster is migrated on
    /// first use.
    Migrate {
        /// Distribute the tables over Citus (docs/scale-out.md); without it, they are
        /// distributed whenever the server has the `citus` extension. Run on the coordinator.
        #[arg(long)]
        citus: bool,
    },
    /// Let an existing role read (rank, compare, runs, show, explain, doctor), also record, or
    /// also delete: `btdb db grant reader alice`, `btdb db grant writer ci_bot`, `btdb db grant
    /// curator carol`. Run as the schema's owner; covers the tables later migrations add. No
    /// role may truncate or change the schema.
    Grant {
        /// reader, writer or curator.
        #[arg(value_enum)]
        access: Access,
        /// The role (it must exist: CREATE ROLE name LOGIN PASSWORD '…').
        role: String,
    },
    /// Print the database URL (for psql and other tools), the password hidden.
    Url,
    /// Move the embedded cluster to the newest installed PostgreSQL with pg_upgrade (both
    /// versions' server binaries must be installed). The old data directory is kept beside the
    /// new one, as `data.pgN`, and stays the cluster unless the upgrade succeeds.
    Upgrade,
}

/// A line on standard output, through the one output path.
macro_rules! say {
    ($($arg:tt)*) => {
        report::print(&format!("{}\n", format_args!($($arg)*)))?
    };
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let options = global.db_options(SchemaUse::Inspect);
    let embedded = || -> Result<Cluster> {
        if options.database_url.is_some() {
            bail!(
                "DATABASE_URL is set: btdb manages only its embedded cluster; unset it to use that"
            );
        }
        Cluster::new(cluster::default_home()?)
    };
    match args.action {
        Action::Start => {
            let cluster = embedded()?;
            cluster.ensure_running()?;
            say!("running: {}", cluster.url(cluster::DATABASE));
        }
        Action::Stop => {
            let cluster = embedded()?;
            let data = cluster.data_dir();
            match cluster.stop()? {
                Stopped::Cleanly => say!("stopped: {}", data.display()),
                Stopped::NotRunning => say!("not running: {}", data.display()),
                Stopped::Uncleanly => {
                    say!("not running: {}", data.display());
                    tracing::warn!(
                        "the server had ended without shutting down (killed, or crashed: see \
                         {}); its next start recovers the data from the write-ahead log",
                        cluster.log_file().display()
                    );
                }
            }
        }
        Action::Status => match &options.database_url {
            Some(database_url) => {
                let db = Db::connect(&options).await?;
                say!("reachable: {} ({})", db.target(), url::redact(database_url));
                say!("schema: {}", db.schema());
                if db.layout() == db::Layout::Distributed {
                    say!("layout: distributed over Citus (docs/scale-out.md)");
                }
                if let Some(read_url) = &options.read_url {
                    let lsn = replica::primary_position(&mut *db.conn().await?).await?;
                    let config = ConnConfig::parse(read_url, &Environment::current())
                        .context("--read-url")?;
                    let mut standby = db::connect(&config, options.connect_timeout).await?;
                    let replay = replica::replay(&mut standby, &lsn).await?;
                    if replay.in_recovery {
                        say!(
                            "standby: {}: {} bytes behind the primary{}",
                            config.describe(),
                            replay.behind_bytes,
                            replay
                                .last_replayed_age
                                .map(|a| format!(", last replayed transaction {a:.1}s old"))
                                .unwrap_or_default()
                        );
                    } else {
                        say!(
                            "standby: {}: not a standby (it accepts writes)",
                            config.describe()
                        );
                    }
                }
            }
            None => {
                let cluster = embedded()?;
                let state = match cluster.status()? {
                    Status::Running => "running",
                    Status::Stopped => "stopped",
                    Status::NotCreated => "not created (the first command creates it)",
                };
                say!("embedded cluster: {state}");
                say!("home: {}", cluster.home().display());
                say!("url: {}", cluster.url(cluster::DATABASE));
            }
        },
        Action::Migrate { citus } => {
            let db = Db::connect(&global.db_options(SchemaUse::Migrate)).await?;
            match db.applied_migrations() {
                [] => say!("schema up to date: {}", db.target()),
                applied => {
                    for version in applied {
                        say!("applied {version}");
                    }
                }
            }
            if layout::distribute(&mut *db.conn().await?, citus, db.target()).await? {
                say!(
                    "distributed the tables over the Citus cluster of {}",
                    db.target()
                );
            }
        }
        Action::Grant { access, role } => {
            let db = Db::connect(&global.db_options(SchemaUse::Read)).await?;
            roles::grant(&mut *db.conn().await?, access, &role, db.layout()).await?;
            let name = access.to_possible_value().map(|v| v.get_name().to_owned());
            say!(
                "granted {} to `{role}` on {}",
                name.unwrap_or_default(),
                db.target()
            );
        }
        Action::Upgrade => {
            if let Some(database_url) = &options.database_url {
                bail!(
                    "db upgrade moves the embedded cluster only; `{}` is a server of its own, \
                     upgraded by whoever runs it (pg_upgrade, or the provider's upgrade)",
                    url::redact(database_url)
                );
            }
            let (from, to) = embedded()?.upgrade()?;
            // A fresh look-up: the binaries are now the new version's.
            let cluster = embedded()?;
            cluster.ensure_running()?;
            // pg_upgrade carries no planner statistics over.
            let db = Db::connect(&global.db_options(SchemaUse::Inspect)).await?;
            diesel_async::SimpleAsyncConnection::batch_execute(&mut *db.conn().await?, "ANALYZE")
                .await
                .context("analysing the upgraded database")?;
            say!(
                "upgraded from PostgreSQL {from} to {to}; the old cluster is kept in `{}` until \
                 you remove it",
                cluster
                    .data_dir()
                    .with_extension(format!("pg{from}"))
                    .display()
            );
        }
        Action::Url => match &options.database_url {
            Some(database_url) => say!("{}", url::redact(database_url)),
            None => say!("{}", embedded()?.url(cluster::DATABASE)),
        },
    }
    Ok(())
}
