//! Finding the PostgreSQL server binaries (initdb, pg_ctl, createdb) for the embedded cluster.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

/// The binaries the embedded cluster runs.
const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "createdb"];

/// The directory holding the server binaries, searched in the order the README gives:
/// `BTDB_PG_BIN`, `pg_config --bindir`, `PATH`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find() -> Result<PathBuf> {
    if let Some(dir) = env::var_os("BTDB_PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
        bail!(
            "BTDB_PG_BIN `{}` lacks one of {}; point it at PostgreSQL's server binaries \
             (Debian/Ubuntu: `apt-get install postgresql`, then /usr/lib/postgresql/<version>/bin)",
            dir.display(),
            REQUIRED.join(", ")
        );
    }
    let path = env::var_os("PATH").unwrap_or_default();
    let candidates = pg_config_bindir()
        .into_iter()
        .chain(env::split_paths(&path))
        .chain(debian_bindirs());
    for dir in candidates {
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
    }
    bail!(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in BTDB_PG_BIN, `pg_config --bindir`, \
         PATH or /usr/lib/postgresql/*/bin; install them (Debian/Ubuntu: `apt-get install postgresql`) \
         or point DATABASE_URL at a running server"
    )
}

fn has_server_binaries(dir: &Path) -> bool {
    REQUIRED.iter().all(|bin| dir.join(bin).is_file())
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Debian's layout, newest major version first.
fn debian_bindirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    versions.into_iter().map(|(_, dir)| dir).collect()
}
