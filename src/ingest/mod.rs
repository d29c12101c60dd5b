//! Recording run documents: read, validate, write, many runs per transaction (each run whole
//! or not at all).

pub mod source;
mod turns;
pub mod write;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use anyhow::{Result, anyhow};
use diesel::result::Error as DieselError;
use serde::Serialize;

use crate::db::WriterPool;
use crate::db::error::{self, ServerError};
use crate::document::{self, ValidRun};
use crate::models::RunId;
use source::{Flow, Input, Item, Origin};
use turns::{Ticket, Turns};
use write::{Parents, WriteError, Writer, Written};

/// How `btdb record` goes about its work.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Runs written at once, each on a connection of its own.
    pub jobs: usize,
    /// Stop reading at the first failed run.
    pub fail_fast: bool,
    /// The sweep of runs whose document names none.
    pub sweep: Option<String>,
    /// The largest document accepted, in bytes.
    pub max_document: usize,
    /// A run recorded under the same key with other content is replaced (deleted with its
    /// rows, and this one recorded, in one transaction) instead of refused.
    pub replace: bool,
}

/// What happened to one document.
#[derive(Debug, Clone)]
pub enum Outcome {
    Recorded {
        origin: Origin,
        run_key: String,
        id: RunId,
    },
    AlreadyPresent {
        origin: Origin,
        run_key: String,
        id: RunId,
    },
    /// Recorded in place of the run its key had (`replace`).
    Replaced {
        origin: Origin,
        run_key: String,
        id: RunId,
    },
    /// There already, in another sweep or in none, and moved into the sweep given.
    Moved {
        origin: Origin,
        run_key: String,
        id: RunId,
    },
    Failed(Failure),
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// File, then `:line` or `[index]`.
    pub origin: String,
    pub error: String,
}

/// The closing count of a batch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub recorded: u64,
    pub already_present: u64,
    pub failed: u64,
    /// Runs recorded in place of the other content their key had (`replace`).
    pub replaced: u64,
    /// Of the runs already present, those moved into the sweep given.
    pub moved: u64,
    pub failures: Vec<Failure>,
}

impl Summary {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Recorded { .. } => self.recorded += 1,
            Outcome::AlreadyPresent { .. } => self.already_present += 1,
            Outcome::Replaced { .. } => self.replaced += 1,
            Outcome::Moved { .. } => {
                self.already_present += 1;
                self.moved += 1;
            }
            Outcome::Failed(failure) => {
                self.failed += 1;
                self.failures.push(failure.clone());
            }
        }
    }
}

/// Records every document of `inputs` (from `source::expand`): a reader thread streams
/// documents to `jobs` workers, which take them in groups, parse and validate each, and write
/// a group's runs in one transaction (`write::write_group`). `on_bytes` hears of input read
/// and `on_outcome` of each document's fate, as they happen. Once the runs are committed, the
/// ranking summaries are brought up to date.
///
/// Errors that concern one document fail that document only; losing the database stops the
/// batch and is returned as the error.
pub fn record(
    writers: &WriterPool,
    inputs: &[Input],
    options: &RecordOptions,
    on_bytes: &(dyn Fn(u64) + Sync),
    on_outcome: &mut dyn FnMut(&Outcome),
) -> Result<Summary> {
    let stop = AtomicBool::new(false);
    let fatal: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    // Once the database is lost, the documents no run will be recorded of: those of the
    // groups under way, those waiting for a worker, and those of the files not read yet.
    let lost = AtomicBool::new(false);
    let abandoned = AtomicU64::new(0);
    let unread = AtomicBool::new(false);
    let (doc_tx, doc_rx) = mpsc::sync_channel::<Item>(options.jobs * 4);
    let doc_rx = Mutex::new(doc_rx);
    // Groups take their runs' ids in the order they were formed: ids follow the input.
    let turns = Turns::default();
    let (out_tx, out_rx) = mpsc::channel::<Outcome>();
    let mut summary = Summary::default();

    std::thread::scope(|scope| {
        let reader_out = out_tx.clone();
        let (stop_ref, lost_ref, abandoned_ref, unread_ref) = (&stop, &lost, &abandoned, &unread);
        scope.spawn(move || {
            for input in inputs {
                let read = source::read(input, options.max_document, on_bytes, &mut |item| {
                    if lost_ref.load(Ordering::Relaxed) {
                        // Counted, to say how many runs were not recorded; standard input
                        // may never end, so it is left unread.
                        if matches!(input, Input::Stdin) {
                            unread_ref.store(true, Ordering::Relaxed);
                            return Flow::Stop;
                        }
                        abandoned_ref.fetch_add(1, Ordering::Relaxed);
                        return Flow::Continue;
                    }
                    if stop_ref.load(Ordering::Relaxed) || doc_tx.send(item).is_err() {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                });
                if let Err(e) = read {
                    let failure = Failure {
                        origin: input.name(),
                        error: format!("{e:#}"),
                    };
                    let _ = reader_out.send(Outcome::Failed(failure));
                }
                if stop_ref.load(Ordering::Relaxed) && !lost_ref.load(Ordering::Relaxed) {
                    break;
                }
            }
        });
        for _ in 0..options.jobs {
            let out = out_tx.clone();
            let (doc_rx, turns, stop, fatal, lost, abandoned) =
                (&doc_rx, &turns, &stop, &fatal, &lost, &abandoned);
            scope.spawn(move || {
                let work = || {
                    // The first fatal error stops every thread and is what `record` returns.
                    let halt = |e: anyhow::Error| {
                        stop.store(true, Ordering::Relaxed);
                        fatal
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                    };
                    let mut conn = match writers.get() {
                        Ok(conn) => conn,
                        Err(e) => return halt(e),
                    };
                    let mut parents = Parents::default();
                    loop {
                        let (group, ticket) = receive_group(doc_rx, turns);
                        if group.is_empty() || stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let documents = group.len();
                        let writer = Writer {
                            parents: &mut parents,
                            layout: writers.layout(),
                            replace: options.replace,
                            ticket,
                        };
                        let (outcomes, lost_now) = process(&mut conn, writer, group, options);
                        if lost_now.is_some() {
                            lost.store(true, Ordering::Relaxed);
                            let dropped = documents - outcomes.len();
                            abandoned.fetch_add(dropped as u64, Ordering::Relaxed);
                        }
                        for outcome in outcomes {
                            if options.fail_fast && matches!(outcome, Outcome::Failed(_)) {
                                stop.store(true, Ordering::Relaxed);
                            }
                            if out.send(outcome).is_err() {
                                return;
                            }
                        }
                        if let Some(e) = lost_now {
                            return halt(e);
                        }
                    }
                };
                work();
                // However this worker ended, the reader must not block on a full channel that
                // nobody empties: discard what is left until it sees the stop and closes it.
                loop {
                    let discarded = receive_group(doc_rx, turns).0.len();
                    if discarded == 0 {
                        break;
                    }
                    if lost.load(Ordering::Relaxed) {
                        abandoned.fetch_add(discarded as u64, Ordering::Relaxed);
                    }
                }
            });
        }
        drop(out_tx);
        for outcome in out_rx {
            summary.add(&outcome);
            on_outcome(&outcome);
        }
    });
    if let Some(e) = fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
        if !lost.into_inner() {
            return Err(e);
        }
        // One line for the whole batch, not one per run that could not be written.
        let abandoned = abandoned.into_inner();
        let rest = if unread.into_inner() {
            " and the rest of standard input"
        } else {
            ""
        };
        // (Counted here, not by report's words: report reads ingest, not the other way.)
        let runs = |n: u64| format!("{n} run{}", if n == 1 { "" } else { "s" });
        return Err(anyhow!(
            "{e:#}; recorded {} before it, not recorded {}{rest}: the same command records \
             them once the database is back",
            runs(summary.recorded),
            runs(abandoned),
        ));
    }
    if summary.recorded + summary.replaced > 0 {
        fold(writers);
    }
    Ok(summary)
}

/// Folds the batch's runs into the ranking summaries, once they are committed. Rankings are
/// exact without it (they count runs not yet folded from the runs themselves), only slower
/// until the next fold: a failure is a warning, not a failed batch.
fn fold(writers: &WriterPool) {
    let folded = writers
        .get()
        .and_then(|mut conn| Ok(crate::query::summary::summarize_blocking(&mut conn)?));
    if let Err(e) = folded {
        let hint = if error::kind_in(&e) == Some(ServerError::InsufficientPrivilege) {
            "; the schema's owner can allow it with `btdb db grant writer ROLE`"
        } else {
            ""
        };
        tracing::warn!(
            "the ranking summaries were not brought up to date ({e:#}){hint}; rankings stay \
             exact, counting these runs from the runs themselves until a later fold"
        );
    }
}

/// How long a worker waits for more documents to fill its group once it has one: the reader
/// is usually ahead, and a trickle of runs (`record -` fed slowly) must not wait long.
const GATHER: Duration = Duration::from_millis(2);

/// The next group of documents: one, waited for, then whatever else comes within `GATHER`, up
/// to the group's bounds; and its ticket, taken while the documents are held, so that tickets
/// follow the input. Empty once the reader is done.
fn receive_group<'t>(
    documents: &Mutex<mpsc::Receiver<Item>>,
    turns: &'t Turns,
) -> (Vec<Item>, Ticket<'t>) {
    let documents = documents.lock().unwrap_or_else(|p| p.into_inner());
    let ticket = turns.ticket();
    let Ok(first) = documents.recv() else {
        return (Vec::new(), ticket);
    };
    let mut bytes = first.size();
    let mut group = vec![first];
    while group.len() < write::GROUP_RUNS && bytes < write::GROUP_BYTES {
        match documents.recv_timeout(GATHER) {
            Ok(item) => {
                bytes += item.size();
                group.push(item);
            }
            Err(_) => break,
        }
    }
    (group, ticket)
}

/// A group of documents, from text to database: their outcomes in order, and the error that
/// ends the batch if the database went away (the outcomes then stop at the runs before it).
fn process(
    conn: &mut diesel::PgConnection,
    mut writer: Writer,
    items: Vec<Item>,
    options: &RecordOptions,
) -> (Vec<Outcome>, Option<anyhow::Error>) {
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(items.len());
    let mut valid = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match prepare(item, options) {
            Ok((origin, run)) => {
                outcomes.push(None);
                valid.push((i, origin, run));
            }
            Err(failed) => {
                outcomes.push(Some(failed));
                // With --fail-fast, documents after a bad one are not recorded, even in its
                // group; a run that fails only when written fails with its group's others
                // recorded.
                if options.fail_fast {
                    break;
                }
            }
        }
    }
    let runs: Vec<&ValidRun> = valid.iter().map(|(_, _, run)| run).collect();
    let written = write::write_group(conn, &runs, &mut writer);
    let mut lost = None;
    for ((i, origin, run), result) in valid.into_iter().zip(written) {
        outcomes[i] = Some(match result {
            Ok(Written::Recorded(id)) => Outcome::Recorded {
                origin,
                run_key: run.run_key,
                id,
            },
            Ok(Written::AlreadyPresent(id)) => Outcome::AlreadyPresent {
                origin,
                run_key: run.run_key,
                id,
            },
            Ok(Written::Replaced(id)) => Outcome::Replaced {
                origin,
                run_key: run.run_key,
                id,
            },
            Ok(Written::Moved(id)) => Outcome::Moved {
                origin,
                run_key: run.run_key,
                id,
            },
            Err(WriteError::Database(e)) if connection_lost(&e, conn) => {
                lost = Some(anyhow!(
                    "the database connection was lost while recording {origin}: {}",
                    e.to_string().trim_end()
                ));
                break;
            }
            Err(e) => failed(&origin, e.to_string()),
        });
    }
    let outcomes = match lost {
        // Nothing after the lost run is known to be recorded: report the runs before it.
        Some(_) => outcomes.into_iter().map_while(|o| o).collect(),
        None => outcomes.into_iter().flatten().collect(),
    };
    (outcomes, lost)
}

/// One document parsed and validated, or why it cannot be recorded.
fn prepare(item: Item, options: &RecordOptions) -> Result<(Origin, ValidRun), Outcome> {
    let (origin, text) = match item {
        Item::Document { origin, text } => (origin, text),
        Item::Broken { origin, message } => return Err(failed(&origin, message)),
    };
    let doc = match document::parse(&text) {
        Ok(doc) => doc,
        Err(e) => {
            // Report the line in the file where that is known, else the column in the document.
            let (origin, place) = match origin.line {
                Some(line) if e.line > 1 => (
                    Origin {
                        line: Some(line + e.line as u64 - 1),
                        ..origin
                    },
                    String::new(),
                ),
                _ => (origin, format!("column {}: ", e.column)),
            };
            let field = e.path.map(|p| format!("{p}: ")).unwrap_or_default();
            return Err(failed(&origin, format!("{place}{field}{}", e.message)));
        }
    };
    match document::validate(doc, options.sweep.as_deref()) {
        Ok(run) => Ok((origin, run)),
        Err(invalid) => Err(failed(&origin, invalid.to_string())),
    }
}

fn failed(origin: &Origin, error: String) -> Outcome {
    Outcome::Failed(Failure {
        origin: origin.to_string(),
        error,
    })
}

/// Errors that end the batch rather than fail one run: no later run would fare better. A
/// connection that broke without saying so (a killed server leaves libpq with "no connection
/// to the server", which Diesel does not name) is found by asking it: one that no longer
/// answers is lost.
fn connection_lost(e: &DieselError, conn: &mut diesel::PgConnection) -> bool {
    use diesel::r2d2::R2D2Connection;
    match error::kind(e) {
        Some(ServerError::ConnectionLost | ServerError::SessionLost) => true,
        Some(_) => false,
        None => matches!(e, DieselError::DatabaseError(..)) && conn.ping().is_err(),
    }
}
