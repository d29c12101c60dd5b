//! Any text through the `--where` parser and on into SQL: an expression or an error pointing
//! inside the text, never a panic, and every expression the parser accepts becomes a statement
//! (the step that, like Diesel's query builder, walks the tree recursively).

#![no_main]

use btdb::query::filter::{RUNS, Resolved};
use btdb::query::where_parse;
use btdb::schema::runs;
use diesel::prelude::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match where_parse::parse(text) {
        Err(e) => assert!(e.column >= 1 && e.column <= text.chars().count() + 1),
        Ok(expr) => {
            let filter = Resolved {
                condition: Some(expr),
                ..Resolved::default()
            };
            let mut query = runs::table.select(runs::id).into_boxed();
            for predicate in filter.predicates(RUNS) {
                query = query.filter(predicate);
            }
            let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
            assert!(sql.starts_with("SELECT"));
        }
    }
});
