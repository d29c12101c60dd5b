//! Read models: query builders that load a page of rows with everything shown beside them in a
//! constant number of queries.

mod citus;
pub mod columns;
pub mod count;
pub mod delete;
pub mod direction;
pub mod export;
pub mod filter;
pub mod health;
pub mod note;
pub mod pbo;
pub mod rank;
pub mod run_detail;
pub mod runs;
pub mod selection;
pub mod strategy;
pub mod suggest;
pub mod summary;
pub mod sweep;
pub mod sweep_view;
pub mod where_parse;

use serde::Serialize;

use crate::models::{Strategy, StrategyId};

/// What was asked for by id or key does not exist (a web front end answers 404).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

/// A strategy as results name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::schema::strategies, check_for_backend(diesel::pg::Pg))]
pub struct StrategyRef {
    pub id: StrategyId,
    pub name: String,
    pub version: String,
}

impl From<Strategy> for StrategyRef {
    fn from(s: Strategy) -> Self {
        Self {
            id: s.id,
            name: s.name,
            version: s.version,
        }
    }
}

impl std::fmt::Display for StrategyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.version.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{} {}", self.name, self.version)
        }
    }
}
