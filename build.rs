//! Lists the migrations' SQL for the binary (`migrate::SQL`): on a Citus cluster they are
//! applied statement by statement, so that one Citus cannot run is named.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a build script compiled for one
    // checkout is reused for another with the same build.rs.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("reading migrations/")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("up.sql").is_file())
        .collect();
    dirs.sort();
    let mut out = String::from("&[\n");
    for dir in dirs {
        let name = dir
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        // Diesel's version: the name up to its first `_`, without dashes.
        let version: String = name
            .split('_')
            .next()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let up = dir.join("up.sql");
        println!("cargo:rerun-if-changed={}", up.display());
        let _ = writeln!(
            out,
            "    ({version:?}, include_str!({:?})),",
            up.display().to_string()
        );
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migration_sql.rs");
    std::fs::write(target, out).expect("writing migration_sql.rs");
}
