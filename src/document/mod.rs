//! The run document, version 1: the contract of docs/run-document.md in one place. What a
//! document may hold and how it is read (`fields`), the rules and defaults that make it a run
//! (`validate`), the run it makes and how two compare (`run`), and its canonical form, whose
//! SHA-256 is the run's identity (`canonical`):
//! the content hash that idempotency compares and that keys a document without a `run_key`.
//! Changing the canonical form re-keys every stored run, so `tests/document.rs` pins the hash
//! of a fixed document.

pub mod canonical;
pub mod fields;
pub mod run;
pub mod validate;

pub use fields::{JSON_SCHEMA, RunDocument, parse};
pub use run::{ValidRun, ValidTrade};
pub use validate::{Invalid, validate};
