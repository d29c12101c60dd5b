//! Query timing through Diesel's instrumentation: every statement's duration at debug level, a
//! warning for slow ones, and totals that `--timings` prints and tests count.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use tracing::{debug, warn};

/// Totals over every connection of one `Db`.
#[derive(Debug, Default)]
pub struct QueryStats {
    queries: AtomicU64,
    nanos: AtomicU64,
}

impl QueryStats {
    /// Statements executed so far.
    pub fn count(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Time spent waiting for the server, summed over statements.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }

    fn add(&self, elapsed: Duration) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// One connection's instrumentation, feeding the shared totals.
#[derive(Debug)]
pub struct QueryTimer {
    stats: Arc<QueryStats>,
    slow: Duration,
    // A connection may pipeline statements: they finish in the order they started.
    started: VecDeque<Instant>,
}

impl QueryTimer {
    pub fn new(stats: Arc<QueryStats>, slow: Duration) -> Self {
        Self {
            stats,
            slow,
            started: VecDeque::new(),
        }
    }
}

impl Instrumentation for QueryTimer {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started.push_back(Instant::now()),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let Some(start) = self.started.pop_front() else {
                    return;
                };
                let elapsed = start.elapsed();
                self.stats.add(elapsed);
                let ms = elapsed.as_secs_f64() * 1e3;
                // The statement text carries bound values but never the connection URL.
                if elapsed >= self.slow {
                    warn!(ms = format_args!("{ms:.1}"), sql = %Clipped(query), "slow query");
                } else {
                    debug!(ms = format_args!("{ms:.3}"), failed = error.is_some(), sql = %Clipped(query), "query");
                }
            }
            _ => {}
        }
    }
}

/// A statement's text for a log line: its first 2,000 characters, since a long `--where`
/// makes statements of hundreds of kilobytes. Formatted only when the line is logged.
struct Clipped<T>(T);

impl<T: std::fmt::Display> std::fmt::Display for Clipped<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MAX: usize = 2000;
        let text = self.0.to_string();
        match text.char_indices().nth(MAX) {
            Some((cut, _)) => write!(
                f,
                "{}… ({} more characters)",
                &text[..cut],
                text[cut..].chars().count()
            ),
            None => f.write_str(&text),
        }
    }
}
