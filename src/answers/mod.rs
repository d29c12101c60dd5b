//! What the read commands answer, for both front ends: each command's typed request (its
//! arguments, which clap reads from a command line and `serve` from a query string), the
//! function that computes its answer, and the answer's type, which is its JSON shape. `cli`
//! prints these answers, `serve` renders them as pages and JSON; neither knows the other.

pub mod compare;
pub mod filter;
pub mod frames;
pub mod rank;
pub mod runs;
pub mod show;
