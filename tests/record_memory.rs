//! A 200 MB line and a 200 MB array element are refused with a clear error while the rest of
//! their file is recorded, and memory stays bounded by --max-document-size (64 MiB by
//! default), never by the document. Alone in its test binary, and the two cases one after the
//! other, so that the children's peak RSS is btdb's own at each step.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::TestDb;
use nix::sys::resource::{UsageWho, getrusage};

/// The document limit (64 MiB), the process's own memory (31 MiB for `btdb --version` of a
/// debug build) and room for the allocator's (a large block in a fresh mapping, other memory
/// kept for reuse): a process holding the whole 200 MB line (191 MiB) beside its own would
/// pass it.
const BOUND_KIB: i64 = 136 * 1024;

const RUN: &str = r#"{"run_key": "KEY", "strategy": "s", "dataset": "D", "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 101]]}"#;

/// Records `path`, which holds two good runs and one huge one; the huge one fails alone with
/// `message` and the peak RSS of every btdb run so far stays under `BOUND`.
fn records_all_but_the_huge_one(db: &TestDb, path: &Path, message: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["record", path.to_str().expect("a UTF-8 path")])
        .env("DATABASE_URL", db.url())
        .output()
        .expect("running btdb");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}{message}", path.display())),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "recorded 2, already present 0, failed 1"
    );
    let peak_kib = getrusage(UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss();
    assert!(
        peak_kib < BOUND_KIB,
        "peak RSS {peak_kib} KiB for {message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_line_or_array_element_fails_alone_in_bounded_memory() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("hugeline");
    let chunk = "x".repeat(1 << 20);
    let huge = |file: &mut dyn Write, megabytes: usize| {
        write!(file, r#"{{"strategy": "s", "dataset": "D", "tags": [""#).unwrap();
        for _ in 0..megabytes {
            file.write_all(chunk.as_bytes()).unwrap();
        }
        write!(file, r#""]}}"#).unwrap();
    };

    let path = dir.join("runs.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(file, "{}", RUN.replace("KEY", "a")).unwrap();
    huge(&mut file, 200);
    writeln!(file, "\n{}", RUN.replace("KEY", "b")).unwrap();
    drop(file);
    records_all_but_the_huge_one(
        &db,
        &path,
        ":2: line is longer than 64 MiB (--max-document-size); skipped",
    );

    // The same as one element of a JSON array, twice the size: once held twice (424 MB).
    let path = dir.join("runs.json");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(file, "[\n{},\n", RUN.replace("KEY", "c")).unwrap();
    huge(&mut file, 200);
    write!(file, ",\n{}\n]\n", RUN.replace("KEY", "d")).unwrap();
    drop(file);
    records_all_but_the_huge_one(
        &db,
        &path,
        "[1]: element is larger than 64 MiB (--max-document-size); skipped",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
