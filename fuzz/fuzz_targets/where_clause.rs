//! Any text through the `--where` parser: an expression or an error pointing inside the text,
//! never a panic.

#![no_main]

use btdb::query::where_parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = where_parse::parse(text) {
        assert!(e.column >= 1 && e.column <= text.chars().count() + 1);
    }
});
