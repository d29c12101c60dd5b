//! `btdb db`: the embedded cluster's life cycle, migrations and connection URL.

use anyhow::{Result, bail};
use clap::Subcommand;

use super::GlobalArgs;
use crate::db::cluster::{self, Cluster, Status};
use crate::db::{Db, url};

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
    /// Say whether the database is reachable and its schema up to date.
    Status,
    /// Apply pending schema migrations (every command also does this on connect).
    Migrate,
    /// Print the database URL (for psql and other tools), the password hidden.
    Url,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let options = global.db_options();
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
            println!("running: {}", cluster.url(cluster::DATABASE));
        }
        Action::Stop => {
            let cluster = embedded()?;
            if cluster.stop()? {
                println!("stopped: {}", cluster.data_dir().display());
            } else {
                println!("not running: {}", cluster.data_dir().display());
            }
        }
        Action::Status => match &options.database_url {
            Some(database_url) => {
                let db = Db::connect(&options).await?;
                println!("reachable: {} ({})", db.target(), url::redact(database_url));
            }
            None => {
                let cluster = embedded()?;
                let state = match cluster.status()? {
                    Status::Running => "running",
                    Status::Stopped => "stopped",
                    Status::NotCreated => "not created (the first command creates it)",
                };
                println!("embedded cluster: {state}");
                println!("home: {}", cluster.home().display());
                println!("url: {}", cluster.url(cluster::DATABASE));
            }
        },
        Action::Migrate => {
            let db = Db::connect(&options).await?;
            match db.applied_migrations() {
                [] => println!("schema up to date: {}", db.target()),
                applied => {
                    for version in applied {
                        println!("applied {version}");
                    }
                }
            }
        }
        Action::Url => match &options.database_url {
            Some(database_url) => println!("{}", url::redact(database_url)),
            None => println!("{}", embedded()?.url(cluster::DATABASE)),
        },
    }
    Ok(())
}
