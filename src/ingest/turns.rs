//! Ids in the order the documents were read, though groups are written side by side: each
//! group takes its runs' ids in its turn, turns going in the order the groups were formed.
//!
//! A group takes its ids before it opens the transaction that writes them, so that it holds
//! no lock while it waits for its turn: a group waiting never blocks one ahead of it.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};

use diesel::PgConnection;
use diesel::result::QueryResult;

use crate::models::{Run, RunId};

/// The turns of one batch's groups.
#[derive(Debug, Default)]
pub struct Turns {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Tickets handed out so far.
    issued: u64,
    /// The ticket whose turn it is.
    current: u64,
    /// Tickets after the current one given up already (groups that took no ids).
    finished: BTreeSet<u64>,
}

impl Turns {
    /// The next group's ticket: to be taken as the group is formed, so that tickets follow the
    /// input.
    pub fn ticket(&self) -> Ticket<'_> {
        let mut state = self.lock();
        let number = state.issued;
        state.issued += 1;
        Ticket {
            turns: self,
            number,
            taken: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_for(&self, number: u64) {
        let mut state = self.lock();
        while state.current != number {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn finish(&self, number: u64) {
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.current == number {
            state.current += 1;
            while state.finished.remove(&state.current) {
                state.current += 1;
            }
        } else {
            state.finished.insert(number);
        }
        drop(guard);
        self.changed.notify_all();
    }
}

/// A group's place in the order of ids. Dropped unused (the group recorded nothing new), it
/// gives its turn up.
#[derive(Debug)]
pub struct Ticket<'a> {
    turns: &'a Turns,
    number: u64,
    taken: bool,
}

impl Ticket<'_> {
    /// `n` run ids from the sequence, rising: the group's first call waits for the groups
    /// read before it to take theirs; later calls (runs written again one by one) follow
    /// whatever was taken meanwhile.
    pub fn ids(&mut self, conn: &mut PgConnection, n: usize) -> QueryResult<Vec<RunId>> {
        if self.taken {
            return Run::next_ids(conn, n);
        }
        self.turns.wait_for(self.number);
        let ids = Run::next_ids(conn, n);
        self.taken = true;
        self.turns.finish(self.number);
        ids
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.turns.finish(self.number);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Tickets given up out of order still let the next turn come.
    #[test]
    fn turns_pass_tickets_given_up_early() {
        let turns = Turns::default();
        let (a, b, c) = (turns.ticket(), turns.ticket(), turns.ticket());
        drop(c);
        drop(b);
        assert_eq!(turns.lock().current, 0);
        drop(a);
        let state = turns.lock();
        assert_eq!((state.current, state.finished.len()), (3, 0));
    }

    /// A later ticket waits until the earlier one has had its turn.
    #[test]
    fn a_later_ticket_waits_for_the_earlier() {
        let turns = Turns::default();
        let early = turns.ticket();
        let late = turns.ticket();
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| turns.wait_for(late.number));
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waiting.is_finished(), "the later ticket went first");
            drop(early);
            waiting.join().expect("the later ticket's turn came");
        });
        drop(late);
        assert_eq!(turns.lock().current, 2);
    }
}
