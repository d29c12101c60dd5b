//! Any bytes through the run document parser and validator, as `btdb record` feeds one line of
//! JSON Lines: never a panic, a valid run always has a key and a content hash, and every
//! metric it supplies is the f64 nearest to the number as written, bit for bit.

#![no_main]

use btdb::document;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = document::parse(text) else {
        return;
    };
    let Ok(run) = document::validate(doc, Some("fuzz")) else {
        return;
    };
    assert!(!run.run_key.is_empty());
    // The numbers' own text, read by Rust's correctly rounded parser.
    let written: serde_json::Value = serde_json::from_str(text).expect("parsed once already");
    for name in &run.supplied_metrics {
        let text = written["metrics"][name.as_str()].to_string();
        let nearest: f64 = text.parse().expect("a JSON number");
        assert_eq!(run.metrics[name].to_bits(), nearest.to_bits(), "{name}: {text}");
    }
});
