//! The house's arrows point one way: `cli, serve → answers, import → query, ingest, report →
//! document → models, metrics → db`. A module may import only from the layers below its own.
//! And every read goes through a `db::Reader`, the one place a query learns whether it runs on
//! one server or on Citus.

use std::path::{Path, PathBuf};

/// Each layer with the crate modules it may not import: those above it, and a front end's
/// neighbour.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("serve", &["cli"]),
    ("answers", &["cli", "serve", "import"]),
    // Importers translate other tools' output to run documents; only `btdb import` runs them.
    ("import", &["cli", "serve", "answers"]),
    ("query", &["cli", "serve", "answers", "import"]),
    ("ingest", &["cli", "serve", "answers", "import"]),
    ("report", &["cli", "serve", "answers", "import"]),
    // The run document: read by ingest, query (export) and cli (schema); it reads models and
    // metrics.
    (
        "document",
        &[
            "cli", "serve", "answers", "import", "query", "ingest", "report",
        ],
    ),
    (
        "models",
        &[
            "cli", "serve", "answers", "import", "query", "ingest", "report", "document",
        ],
    ),
    (
        "metrics",
        &[
            "cli", "serve", "answers", "import", "query", "ingest", "report", "document",
        ],
    ),
    (
        "db",
        &[
            "cli", "serve", "answers", "import", "query", "ingest", "report", "document",
        ],
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

/// Files that may take a bare connection from the pool: schema upkeep, roles, health, the
/// answer cache's listener. Everything else reads through a `Reader`.
const BARE_CONNECTIONS: &[&str] = &[
    "cli/db.rs",
    "cli/doctor.rs",
    "cli/record.rs",
    "serve/cache.rs",
];

/// Files that may ask the database handle for its layout rather than a reader: `db status`
/// says it, and the server decides whether answers can be cached.
const LAYOUT_SAID: &[&str] = &["cli/db.rs", "serve/mod.rs"];

#[test]
fn every_read_goes_through_a_reader_which_alone_knows_the_layout() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for layer in ["cli", "serve", "answers", "query", "report", "demo"] {
        let mut files = Vec::new();
        sources(&src.join(layer), &mut files);
        for file in files {
            let name = file
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&file).expect("reading a source");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                let at = || format!("{name}:{}: {}", n + 1, line.trim());
                // A layout handed around beside a connection is how a read once ran one
                // server's SQL on Citus: it comes from the reader that runs the query.
                if code.contains(": Layout") {
                    wrong.push(format!("{} (a Layout passed by hand)", at()));
                }
                if code.contains(".layout()")
                    && !code.contains("conn.layout()")
                    && !code.contains("reader.layout()")
                    && !LAYOUT_SAID.contains(&name.as_str())
                {
                    wrong.push(format!("{} (the layout not from a reader)", at()));
                }
                if code.contains(".conn().await") && !BARE_CONNECTIONS.contains(&name.as_str()) {
                    wrong.push(format!("{} (a bare connection: use db.reader())", at()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "reads around the reader:\n{}",
        wrong.join("\n")
    );
}
