//! `btdb serve`: the read commands as web pages and JSON, read-only.

use std::net::SocketAddr;

use anyhow::Result;

use super::GlobalArgs;
use crate::db::SchemaUse;
use crate::serve::{self, Options};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on. Anything but a loopback address needs --token.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS:PORT")]
    pub bind: SocketAddr,

    /// The secret every request must carry (as `Authorization: Bearer TOKEN`, or the cookie
    /// the /login form sets); at least 16 characters.
    #[arg(long, env = "BTDB_SERVE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Answer every request from the database instead of keeping answers until the data
    /// changes (to measure what the cache saves, or to rule it out).
    #[arg(long)]
    pub no_cache: bool,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let options = Options {
        bind: args.bind,
        token: args.token.filter(|t| !t.is_empty()),
        cache: !args.no_cache,
    };
    serve::serve(options, global.db_options(SchemaUse::Read), stopped()).await
}

/// Completes on SIGINT or SIGTERM.
async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("stopping: finishing the requests under way");
}
