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

    /// A name browsers reach this server by (e.g. btdb.example.internal), beside its address
    /// (and localhost on loopback); repeat it for several. Requests naming any other host are
    /// refused, so that no other site's page can read the runs through a name it points here.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,

    /// Answer every request from the database instead of keeping answers until the data
    /// changes (to measure what the cache saves, or to rule it out).
    #[arg(long)]
    pub no_cache: bool,

    /// Hours a browser stays logged in after the login form (with --token); a restart or
    /// the page's Log out ends a session sooner.
    #[arg(long, default_value_t = 12.0, value_name = "HOURS", value_parser = hours)]
    pub session_hours: f64,

    /// Memory the kept answers may take in all, e.g. 64MiB or 1GB (KiB/MiB/GiB count by 1024,
    /// KB/MB/GB by 1000, a bare number is bytes); the oldest go first to make room.
    #[arg(long, default_value = "256MiB", value_name = "SIZE", value_parser = size)]
    pub cache_size: usize,
}

/// Hours, more than none and at most a year.
fn hours(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(h) if h > 0.0 && h <= 8_760.0 => Ok(h),
        _ => Err(format!(
            "`{text}` is not a number of hours between 0 and 8760"
        )),
    }
}

/// `SIZE`: a whole number of bytes, or of KB, MB, GB (1000s) or KiB, MiB, GiB (1024s).
fn size(text: &str) -> Result<usize, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "`{other}` is no unit of size: use B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("`{text}` is not a size such as 256MiB"))
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let options = Options {
        bind: args.bind,
        token: args.token.filter(|t| !t.is_empty()),
        cache_bytes: if args.no_cache { 0 } else { args.cache_size },
        hosts: args.allow_hosts,
        session_life: std::time::Duration::from_secs_f64(args.session_hours * 3_600.0),
    };
    let mut db = global.db_options(SchemaUse::Read);
    // A page makes several round trips, and the server renders between them: four
    // connections left the CPUs a quarter idle under load (BENCHMARKS.md, "The web view at 500
    // users").
    db.pool_size = global.pool_size_or(SERVE_POOL_SIZE);
    serve::serve(options, db, stopped()).await
}

/// Connections `btdb serve` opens at most unless --pool-size says otherwise.
const SERVE_POOL_SIZE: u32 = 12;

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

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_with_their_units() {
        assert_eq!(size("256MiB"), Ok(256 << 20));
        assert_eq!(size("1GB"), Ok(1_000_000_000));
        assert_eq!(size("4096"), Ok(4096));
        assert_eq!(size("0"), Ok(0));
        assert!(
            size("12 parsecs")
                .unwrap_err()
                .contains("`parsecs` is no unit")
        );
        assert!(size("MiB").unwrap_err().contains("not a size"));
        assert!(size("99999999999999999999GiB").is_err());
    }
}
