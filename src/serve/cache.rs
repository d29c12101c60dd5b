//! Answers kept in memory until the data under them changes.
//!
//! Every statement that changes `runs` or `metrics` announces itself on the channel
//! `btdb_changes` when its transaction commits (a trigger of migration 11, so any process's
//! writes count). The server LISTENs on a session of its own to the primary and drops every
//! answer when told. An answer computed while a change commits is not kept: each is stored
//! only if no announcement came between the start of its query and its end (the generation
//! below). While the listening session is down, nothing is cached, since a change could go
//! unheard. Reading from a standby, answers stay off from an announcement until the standby
//! has replayed the primary's WAL up to where it was when the announcement arrived.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};
use axum::body::Bytes;
use axum::http::HeaderValue;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;

use crate::db::{Db, DbOptions, replica};

/// The channel the trigger announces changes on.
pub const CHANNEL: &str = "btdb_changes";

/// What `btdb serve` keeps at most unless told (`--cache-size`).
pub const DEFAULT_BYTES: usize = 256 << 20;

/// What keeping an answer costs beyond its key and bytes: the map's and the queue's entries,
/// the key's second copy's header, the answer's headers.
const ENTRY_OVERHEAD: usize = 256;

/// How often the listening session is checked when nothing is announced: a session lost
/// without a word (a dropped network) is found within this.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// One answer as sent: the headers that describe its body, and the body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub content_type: Option<HeaderValue>,
    /// A download's file name (the runs CSV).
    pub disposition: Option<HeaderValue>,
    pub body: Bytes,
}

impl Answer {
    /// What keeping it under `key` costs in memory, near enough: the key (in the map and in
    /// the queue), the body and the headers, and a fixed overhead.
    fn cost(&self, key: &str) -> usize {
        let header = |h: &Option<HeaderValue>| h.as_ref().map_or(0, HeaderValue::len);
        2 * key.len()
            + self.body.len()
            + header(&self.content_type)
            + header(&self.disposition)
            + ENTRY_OVERHEAD
    }
}

#[derive(Debug, Default)]
struct State {
    /// Bumped by every announcement and every change of `live`.
    generation: u64,
    /// Whether answers may be kept and served: the listener is up and the standby, if any,
    /// has caught up.
    live: bool,
    answers: HashMap<String, Answer>,
    /// The kept keys, oldest first: the first to go when a new answer needs the room.
    order: VecDeque<String>,
    /// What the kept answers cost, by [`Answer::cost`]; never above `limit`.
    bytes: usize,
    limit: usize,
}

impl State {
    /// Drops every answer, and any being computed from before (see [`Ticket`]).
    fn drop_all(&mut self) {
        self.generation += 1;
        self.answers.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

/// The cache; cheap to share.
#[derive(Debug, Clone)]
pub struct AnswerCache(Arc<Mutex<State>>);

/// How much the cache holds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Usage {
    pub live: bool,
    pub answers: usize,
    pub bytes: usize,
    pub limit: usize,
}

/// The generation an answer's query started in.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl AnswerCache {
    /// A cache that keeps answers costing at most `limit` bytes in all (0 keeps none).
    pub fn new(limit: usize) -> Self {
        Self(Arc::new(Mutex::new(State {
            limit,
            ..State::default()
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept answer for `key`, if any may be served.
    pub fn get(&self, key: &str) -> Option<Answer> {
        let state = self.state();
        state.live.then(|| state.answers.get(key).cloned())?
    }

    /// Taken before computing an answer.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.state().generation)
    }

    /// Keeps `answer` unless something changed since `ticket` was taken, making room by
    /// dropping the oldest answers; one that would take more than the whole limit is not kept.
    pub fn put(&self, key: String, ticket: Ticket, mut answer: Answer) {
        let mut state = self.state();
        let cost = answer.cost(&key);
        if !state.live || state.generation != ticket.0 || cost > state.limit {
            return;
        }
        // Two requests for the same answer computed it at once: the second replaces it.
        if let Some(old) = state.answers.remove(&key) {
            state.bytes -= old.cost(&key);
            state.order.retain(|k| *k != key);
        }
        while state.bytes + cost > state.limit {
            let Some(oldest) = state.order.pop_front() else {
                break;
            };
            if let Some(old) = state.answers.remove(&oldest) {
                state.bytes -= old.cost(&oldest);
            }
        }
        // A body collected from a response may sit in a larger allocation (a serialiser's
        // spare capacity): kept in one of its own size, it costs what is counted.
        answer.body = Bytes::copy_from_slice(&answer.body);
        state.bytes += cost;
        state.order.push_back(key.clone());
        state.answers.insert(key, answer);
    }

    /// Drops every answer; `live` says whether new ones may be kept from now on.
    fn reset(&self, live: bool) {
        let mut state = self.state();
        state.live = live;
        state.drop_all();
    }

    /// Drops every answer after a change made through this server (a note): the page it goes
    /// back to must show the change, whether or not its announcement has been heard yet.
    pub fn forget(&self) {
        self.state().drop_all();
    }

    /// Whether answers are kept, how many and what they cost (`/api/status`).
    pub fn usage(&self) -> Usage {
        let state = self.state();
        Usage {
            live: state.live,
            answers: state.answers.len(),
            bytes: state.bytes,
            limit: state.limit,
        }
    }
}

/// Keeps the cache honest for as long as the server runs: listens for announcements on the
/// primary, reconnecting after a failure (with the cache off meanwhile).
pub async fn follow(cache: AnswerCache, options: DbOptions, reads: Db) {
    let mut delay = Duration::from_millis(100);
    loop {
        let outcome = match Db::primary_session(&options).await {
            Ok(Some(session)) => listen(&cache, session, &reads).await,
            Ok(None) => {
                tracing::warn!(
                    "no --database-url beside --read-url: btdb cannot hear of new runs, so it \
                     caches no answer"
                );
                return;
            }
            Err(e) => Err(e),
        };
        cache.reset(false);
        if let Err(e) = outcome {
            tracing::warn!("answer cache off until the primary answers again: {e:#}");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Listens on `session` until it fails; the cache is live while it does.
async fn listen(cache: &AnswerCache, mut session: AsyncPgConnection, reads: &Db) -> Result<()> {
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut session)
        .await?;
    cache.reset(true);
    tracing::debug!("answer cache on: listening for changes");
    loop {
        let heard = {
            let mut stream = std::pin::pin!(session.notifications_stream());
            tokio::select! {
                heard = stream.next() => Some(heard),
                () = tokio::time::sleep(HEARTBEAT) => None,
            }
        };
        match heard {
            None => {
                tokio::time::timeout(
                    HEARTBEAT,
                    diesel::sql_query("SELECT 1").execute(&mut session),
                )
                .await
                .map_err(|_| anyhow!("the listening session did not answer within 5s"))??;
            }
            Some(None) => return Err(anyhow!("the listening session closed")),
            Some(Some(Err(e))) => return Err(e.into()),
            Some(Some(Ok(_))) if reads.reads_standby() => {
                cache.reset(false);
                let position = replica::primary_position(&mut session).await?;
                caught_up(reads, &position).await;
                cache.reset(true);
            }
            Some(Some(Ok(_))) => cache.reset(true),
        }
    }
}

/// Waits until the standby has replayed the primary's `position`.
async fn caught_up(reads: &Db, position: &str) {
    loop {
        let behind = match reads.conn().await {
            Ok(mut conn) => replica::replay(&mut conn, position)
                .await
                .map(|r| r.behind_bytes),
            Err(e) => Err(e),
        };
        match behind {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => tracing::debug!("waiting for the standby: {e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &'static str) -> Answer {
        Answer {
            content_type: Some(HeaderValue::from_static("text/plain")),
            disposition: None,
            body: Bytes::from_static(text.as_bytes()),
        }
    }

    #[test]
    fn nothing_is_kept_while_not_listening() {
        let cache = AnswerCache::new(DEFAULT_BYTES);
        cache.put("a".into(), cache.ticket(), answer("1"));
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn an_answer_whose_query_overlapped_a_change_is_not_kept() {
        let cache = AnswerCache::new(DEFAULT_BYTES);
        cache.reset(true);
        let before = cache.ticket();
        cache.reset(true);
        cache.put("a".into(), before, answer("old"));
        assert!(cache.get("a").is_none());
        cache.put("a".into(), cache.ticket(), answer("new"));
        assert_eq!(cache.get("a").expect("kept").body, "new");
        cache.reset(false);
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn a_change_made_here_drops_what_was_kept_and_what_is_being_computed() {
        let cache = AnswerCache::new(DEFAULT_BYTES);
        cache.reset(true);
        cache.put("a".into(), cache.ticket(), answer("old"));
        let computing = cache.ticket();
        cache.forget();
        assert!(cache.get("a").is_none());
        cache.put("b".into(), computing, answer("old"));
        assert!(cache.get("b").is_none());
        cache.put("a".into(), cache.ticket(), answer("new"));
        assert_eq!(cache.get("a").expect("still kept after").body, "new");
    }

    #[test]
    fn the_oldest_answers_make_room_and_the_bytes_never_pass_the_limit() {
        let body = "x".repeat(1000);
        let big = |text: &str| Answer {
            content_type: None,
            disposition: None,
            body: Bytes::from(text.to_owned()),
        };
        let one = big(&body).cost("/k00");
        let cache = AnswerCache::new(3 * one);
        cache.reset(true);
        for i in 0..10 {
            cache.put(format!("/k{i:02}"), cache.ticket(), big(&body));
            let usage = cache.usage();
            assert!(usage.bytes <= usage.limit, "{usage:?}");
        }
        assert_eq!(cache.usage().answers, 3);
        assert!(cache.get("/k09").is_some() && cache.get("/k07").is_some());
        assert!(cache.get("/k06").is_none());
        // The same key again replaces its answer rather than counting it twice.
        cache.put("/k09".into(), cache.ticket(), big(&body));
        assert_eq!(cache.usage().bytes, 3 * one);
        // An answer larger than the whole limit is not kept, and drops nothing.
        cache.put("/huge".into(), cache.ticket(), big(&"y".repeat(4 * one)));
        assert!(cache.get("/huge").is_none());
        assert_eq!(cache.usage().answers, 3);
        // A limit of 0 keeps nothing.
        let none = AnswerCache::new(0);
        none.reset(true);
        none.put("/a".into(), none.ticket(), answer("1"));
        assert!(none.get("/a").is_none());
    }
}
