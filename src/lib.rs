//! btdb: a PostgreSQL store for backtest results.
//!
//! The binary (`src/main.rs`) is a thin shell over this library: `cli` parses and dispatches,
//! `db` finds or starts the database and hands out pooled connections, `models` holds one file
//! per table with that table's queries. `serve` is a second front end beside `cli`: it reads
//! requests as the commands' arguments and renders their answers as pages and JSON.

pub mod answers;
pub mod cli;
pub mod db;
pub mod decimal;
pub mod demo;
pub mod document;
pub mod import;
pub mod ingest;
pub mod metrics;
pub mod models;
pub mod query;
pub mod report;
pub mod schema;
pub mod serve;
pub mod synth;
