//! Runs named by id or run_key and narrowed by the run filters: what `delete` and `export`
//! take.

use anyhow::{Result, bail};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;

use super::filter::{RUNS, Resolved};
use crate::db::explain::load;
use crate::models::RunId;
use crate::schema::runs;

/// Which runs a command takes: the named ones (by id or run_key), narrowed by the filter; or, when
/// none is named, every run the filter selects.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub filter: Resolved,
    pub ids: Vec<RunId>,
    pub keys: Vec<String>,
}

impl Selection {
    /// The selected runs' ids, oldest first. A named run that does not exist is an error: a
    /// mistyped id must not pass unnoticed.
    pub async fn runs(&self, conn: &mut AsyncPgConnection) -> Result<Vec<RunId>> {
        let named = !self.ids.is_empty() || !self.keys.is_empty();
        if named {
            let found: Vec<(RunId, String)> = load(conn, || {
                runs::table
                    .filter(
                        runs::id
                            .eq_any(self.ids.clone())
                            .or(runs::run_key.eq_any(self.keys.clone())),
                    )
                    .select((runs::id, runs::run_key))
            })
            .await?;
            let missing: Vec<String> = self
                .ids
                .iter()
                .filter(|id| !found.iter().any(|(f, _)| f == *id))
                .map(|id| format!("id {id}"))
                .chain(
                    self.keys
                        .iter()
                        .filter(|key| !found.iter().any(|(_, k)| k == *key))
                        .map(|key| format!("run_key `{key}`")),
                )
                .collect();
            if !missing.is_empty() {
                bail!(
                    "no run with {}",
                    missing.into_iter().take(10).collect::<Vec<_>>().join(", ")
                );
            }
        }
        let ids = load(conn, || {
            let mut query = runs::table.select(runs::id).into_boxed();
            for predicate in self.filter.predicates(RUNS) {
                query = query.filter(predicate);
            }
            if named {
                query = query.filter(
                    runs::id
                        .eq_any(self.ids.clone())
                        .or(runs::run_key.eq_any(self.keys.clone())),
                );
            }
            query.order(runs::id)
        })
        .await?;
        Ok(ids)
    }
}
