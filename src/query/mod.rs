//! Read models: query builders that load a page of rows with everything shown beside them in a
//! constant number of queries.

pub mod run_detail;
