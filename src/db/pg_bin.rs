//! Finding the PostgreSQL server binaries (initdb, pg_ctl, createdb) for the embedded cluster.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

/// The binaries the embedded cluster runs.
const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "createdb"];

/// The directory holding the server binaries for the data directory `data`: of the version
/// that made it (its `PG_VERSION`), or of any version for a cluster not created yet. Searched
/// in the order docs/database.md gives: `BTDB_PG_BIN`, `pg_config --bindir`, `PATH`, then
/// `/usr/lib/postgresql/*/bin`, newest first.
pub fn find(data: &Path) -> Result<PathBuf> {
    let needed = data_major(data);
    if let Some(dir) = env::var_os("BTDB_PG_BIN") {
        let dir = PathBuf::from(dir);
        if !has_server_binaries(&dir) {
            bail!(
                "BTDB_PG_BIN `{}` lacks one of {}; point it at PostgreSQL's server binaries \
                 (Debian/Ubuntu: `apt-get install postgresql`, then \
                 /usr/lib/postgresql/<version>/bin)",
                dir.display(),
                REQUIRED.join(", ")
            );
        }
        match (needed, major_of(&dir)) {
            (Some(needed), Some(found)) if needed != found => bail!(
                "BTDB_PG_BIN `{}` holds PostgreSQL {found}, but the embedded cluster `{}` is \
                 PostgreSQL {needed}; point BTDB_PG_BIN at PostgreSQL {needed}'s binaries, or \
                 move the cluster to {found} with `btdb db upgrade`",
                dir.display(),
                data.display()
            ),
            _ => return Ok(dir),
        }
    }
    let installed = installed();
    let chosen = match needed {
        None => installed.first(),
        Some(needed) => installed.iter().find(|(major, _)| *major == needed),
    };
    if let Some((_, dir)) = chosen {
        return Ok(dir.clone());
    }
    match (needed, installed.first()) {
        (_, None) => bail!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in BTDB_PG_BIN, `pg_config \
             --bindir`, PATH or /usr/lib/postgresql/*/bin; install them (Debian/Ubuntu: \
             `apt-get install postgresql`) or point DATABASE_URL at a running server"
        ),
        (Some(needed), Some((found, _))) => bail!(
            "the embedded cluster `{}` is PostgreSQL {needed}, whose server binaries are not \
             installed (PostgreSQL {found} is); install them (Debian/Ubuntu: `apt-get install \
             postgresql-{needed}`), then `btdb db upgrade` moves the cluster to {found}",
            data.display()
        ),
        (None, Some(_)) => unreachable!("a cluster of any version takes the first installed"),
    }
}

/// Every directory of server binaries found, with its major version, newest first (the first
/// found of each version: BTDB_PG_BIN's order of search decides between two of one version).
pub fn installed() -> Vec<(u32, PathBuf)> {
    let path = env::var_os("PATH").unwrap_or_default();
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    let candidates = pg_config_bindir()
        .into_iter()
        .chain(env::split_paths(&path))
        .chain(debian_bindirs());
    for dir in candidates {
        if !has_server_binaries(&dir) {
            continue;
        }
        if let Some(major) = major_of(&dir)
            && !found.iter().any(|(m, _)| *m == major)
        {
            found.push((major, dir));
        }
    }
    // Stable: of one version, the directory met first stays first.
    found.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    found
}

/// The major version that made the data directory `data`, from its `PG_VERSION` file.
pub fn data_major(data: &Path) -> Option<u32> {
    std::fs::read_to_string(data.join("PG_VERSION"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The major version of the server binaries in `dir`: `pg_ctl (PostgreSQL) 15.14 …` → 15.
fn major_of(dir: &Path) -> Option<u32> {
    let out = Command::new(dir.join("pg_ctl"))
        .arg("--version")
        .output()
        .ok()?;
    parse_major(&String::from_utf8_lossy(&out.stdout))
}

fn parse_major(version: &str) -> Option<u32> {
    let number = version.split(')').nth(1)?.trim_start();
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_version_is_read_from_pg_ctl() {
        assert_eq!(
            parse_major("pg_ctl (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(parse_major("pg_ctl (PostgreSQL) 9.6.24\n"), Some(9));
        assert_eq!(parse_major("pg_ctl (PostgreSQL) 17devel\n"), Some(17));
        assert_eq!(parse_major("something else"), None);
    }
}
