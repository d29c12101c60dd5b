//! Programs some tests need beyond the README's set-up line (PostgreSQL and the libraries btdb
//! builds against). The rule for all of them: a test that needs one and cannot find it passes
//! after saying, once per test process, which program is missing and how to install it.
//!
//! A program is found by absolute path, so that a child started as another account (the
//! server's, when tests run as root) never searches a PATH that account cannot read. Setting the
//! program's variable names its path; setting it empty hides the program, which is how CI proves
//! that the tests skip without it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug)]
pub struct Tool {
    /// What the skip line calls it.
    pub name: &'static str,
    /// The variable that names its path, or hides it when empty.
    pub env: &'static str,
    /// Executable names, searched in this order in every directory.
    names: &'static [&'static str],
    /// How to install it on Debian.
    install: &'static str,
}

pub const PGBOUNCER: Tool = Tool {
    name: "PgBouncer",
    env: "BTDB_PGBOUNCER",
    names: &["pgbouncer"],
    install: "apt-get install pgbouncer",
};

pub const CHROMIUM: Tool = Tool {
    name: "Chromium",
    env: "BTDB_CHROMIUM",
    names: &["chromium", "chromium-browser", "google-chrome"],
    install: "apt-get install chromium",
};

/// Where Debian puts programs that an ordinary account's PATH may lack.
const ALSO_SEARCHED: &[&str] = &["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"];

static SAID: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

impl Tool {
    /// The program's absolute path, if it is installed and not hidden.
    pub fn path(&self) -> Option<PathBuf> {
        if let Some(named) = std::env::var_os(self.env) {
            let named = PathBuf::from(named);
            return is_executable(&named).then_some(named);
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs: Vec<PathBuf> = std::env::split_paths(&path)
            .filter(|dir| dir.is_absolute())
            .chain(ALSO_SEARCHED.iter().map(PathBuf::from))
            .collect();
        self.names
            .iter()
            .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
            .find(|candidate| is_executable(candidate))
    }

    /// The program's path, or `None` after saying (once per process) that `what` is skipped.
    pub fn or_skip(&self, what: &str) -> Option<PathBuf> {
        let found = self.path();
        if found.is_none() {
            let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
            if !said.contains(&self.name) {
                said.push(self.name);
                super::say_skipped(&format!(
                    "{what} need {} (Debian: {}; or set {} to its path)",
                    self.name, self.install, self.env
                ));
            }
        }
        found
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
