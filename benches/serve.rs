//! `btdb serve` under load on the 1,000,000-run data set, over loopback HTTP/1.1 keep-alive
//! connections from a load generator in this process: `/api/rank` (by best) and the strategy
//! page at 32 connections, `/api/rank` at 500, each for `BTDB_LOAD_SECONDS` (default 30), with
//! the answer cache and, as the baseline of the same run, without it. Beside them, the
//! library's in-process time for the same answers. Reports requests/s, p50/p95/p99 and
//! failed requests. Run through `bash benches/serve.sh`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use btdb::answers::{compare, rank};
use btdb::db::{Db, DbOptions, SchemaUse};
use btdb::serve::params::Params;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const RANK: &str = "/api/rank?by=best";
const STRATEGY: &str = "/strategies/bench_1";

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

/// What one scenario measured.
struct Load {
    requests: usize,
    failed: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
}

impl Load {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies_ms.len() as f64)
            .ceil()
            .max(1.0) as usize;
        self.latencies_ms[rank.min(self.latencies_ms.len()) - 1]
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// `connections` keep-alive connections, each sending GET `path` and reading the whole answer
/// in a loop, for `time`.
async fn load(address: &str, path: &str, connections: usize, time: Duration) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (address, path, stop) = (address.to_owned(), path.to_owned(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(stream) = TcpStream::connect(&address).await else {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let mut stream = BufReader::new(stream);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    match exchange(&mut stream, &address, &path).await {
                        Ok(200) => latencies.push(sent.elapsed().as_secs_f64() * 1e3),
                        Ok(_) => failed += 1,
                        Err(_) => {
                            failed += 1;
                            break;
                        }
                    }
                }
            }
            (latencies, failed)
        }));
    }
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_ms = Vec::new();
    let mut failed = 0;
    for task in tasks {
        if let Ok((l, f)) = task.await {
            latencies_ms.extend(l);
            failed += f;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies_ms.sort_by(f64::total_cmp);
    Load {
        requests: latencies_ms.len(),
        failed,
        seconds,
        latencies_ms,
    }
}

/// One request and its whole answer; the status.
async fn exchange(stream: &mut BufReader<TcpStream>, host: &str, path: &str) -> Result<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    stream.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let mut length = 0;
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            bail!("closed");
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}

/// A `btdb serve` of the release build on the embedded cluster under BTDB_HOME.
struct Server {
    child: std::process::Child,
    address: String,
}

impl Server {
    fn start(extra: &[&str]) -> Result<Self> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_btdb"))
            .args(["-q", "serve", "--bind", "127.0.0.1:0", "--pool-size", "8"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        let address = line
            .trim()
            .strip_prefix("btdb serve: http://")
            .context("btdb serve did not start")?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self { child, address })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The library's own time for the answers the two pages give, median of `n`.
async fn in_process(n: usize) -> Result<(f64, f64)> {
    let db = Db::connect(&DbOptions {
        schema: SchemaUse::Read,
        ..DbOptions::default()
    })
    .await?;
    // Read as the server reads the pages' query strings.
    let rank_args: rank::Args = Params::parse(Some("by=best")).args(&[], &[])?;
    let compare_args: compare::Args =
        Params::parse(Some("strategy=bench_1&x=fast&y=slow")).args(&[], &[])?;
    let (mut ranks, mut compares) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let started = Instant::now();
        rank::answer(&rank_args, &mut db.reader().await?).await?;
        ranks.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        compare::answer(&compare_args, &db).await?;
        compares.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok((median(ranks), median(compares)))
}

async fn run() -> Result<()> {
    let seconds: u64 = std::env::var("BTDB_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let time = Duration::from_secs(seconds);
    let (rank_ms, compare_ms) = tokio::task::LocalSet::new()
        .run_until(in_process(30))
        .await?;
    println!(
        "in process (median of 30): rank by best {rank_ms:.2} ms, compare bench_1 by fast and slow {compare_ms:.2} ms"
    );
    println!(
        "{:<34} {:>6} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "scenario", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms", "failed"
    );
    for (cache, flags) in [("cache", &[][..]), ("no cache", &["--no-cache"][..])] {
        let server = Server::start(flags)?;
        // The first answer warms the cache (and the server's pool).
        for path in [RANK, STRATEGY] {
            load(&server.address, path, 1, Duration::from_millis(500)).await;
        }
        for (path, connections) in [(RANK, 32), (STRATEGY, 32), (RANK, 500)] {
            let result = load(&server.address, path, connections, time).await;
            println!(
                "{:<34} {:>6} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7}",
                format!("{path} ({cache})"),
                connections,
                result.rate(),
                result.percentile(50.0),
                result.percentile(95.0),
                result.percentile(99.0),
                result.failed
            );
        }
    }
    Ok(())
}
