//! The house's arrows point one way: `cli, serve → answers → query, ingest, report → models,
//! metrics → db`. A module may import only from the layers below its own.

use std::path::{Path, PathBuf};

/// Each layer with the crate modules it may not import: those above it, and a front end's
/// neighbour.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("serve", &["cli"]),
    ("answers", &["cli", "serve"]),
    ("query", &["cli", "serve", "answers"]),
    ("ingest", &["cli", "serve", "answers"]),
    ("report", &["cli", "serve", "answers"]),
    (
        "models",
        &["cli", "serve", "answers", "query", "ingest", "report"],
    ),
    (
        "metrics",
        &["cli", "serve", "answers", "query", "ingest", "report"],
    ),
    (
        "db",
        &["cli", "serve", "answers", "query", "ingest", "report"],
    ),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (layer, above) in FORBIDDEN {
        let dir = src.join(layer);
        let mut files = Vec::new();
        if dir.is_dir() {
            sources(&dir, &mut files);
        } else {
            files.push(src.join(format!("{layer}.rs")));
        }
        assert!(!files.is_empty() && files[0].exists(), "no layer `{layer}`");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("reading a source");
            for (n, line) in text.lines().enumerate() {
                for module in *above {
                    if line.contains(&format!("crate::{module}::"))
                        || line.contains(&format!("crate::{module};"))
                        || line.contains(&format!("crate::{module}}}"))
                    {
                        wrong.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports from above:\n{}",
        wrong.join("\n")
    );
}
