//! The embedded default database: a private PostgreSQL cluster under `BTDB_HOME`.
//!
//! btdb creates it with initdb and starts it with pg_ctl on first use. It listens on a Unix socket
//! inside `BTDB_HOME/pg` only (no TCP port), and trusts whoever can reach that socket, which the
//! directory's 0700 mode restricts to its owner (and root). PostgreSQL refuses to run as root,
//! so when btdb runs as root the cluster belongs to an unprivileged account (`postgres`, or
//! `BTDB_PG_USER`) and every server binary runs as that account.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use nix::unistd::{Uid, User};
use tracing::{debug, info};

use super::pg_bin;

/// The superuser initdb creates, and the database btdb keeps its tables in.
pub const SUPERUSER: &str = "btdb";
pub const DATABASE: &str = "btdb";
/// Names the socket file (`.s.PGSQL.5432`); the embedded cluster has no TCP listener to collide
/// with. A cluster that also listens on TCP (a test's) picks another with `with_port`.
const PORT: u16 = 5432;
/// The kernel's limit on a socket path (sun_path) is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Where a cluster stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Stopped,
    /// `BTDB_HOME` holds no cluster yet; the first command that needs one creates it.
    NotCreated,
}

/// How `stop` found the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was running and shut down cleanly.
    Cleanly,
    /// It was not running.
    NotRunning,
    /// Its process had ended without shutting down (killed or crashed): the next start
    /// recovers the data from the write-ahead log.
    Uncleanly,
}

/// A PostgreSQL cluster that btdb owns, living under one home directory.
#[derive(Debug, Clone)]
pub struct Cluster {
    home: PathBuf,
    /// The account the server runs as when btdb itself runs as root.
    owner: Option<User>,
    /// Extra `postgresql.conf` settings, written at every start (the test cluster turns off
    /// durability it does not need).
    settings: Vec<(String, String)>,
    /// The server binaries' directory, looked up on first need (it spawns pg_config).
    bin_dir: OnceLock<PathBuf>,
    port: u16,
}

/// `BTDB_HOME`, or the user's data directory. Root's home directory is closed to the account
/// the server must run as, so root defaults to `/var/lib/btdb` instead.
pub fn default_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("BTDB_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    if Uid::effective().is_root() {
        return Ok(PathBuf::from("/var/lib/btdb"));
    }
    dirs::data_dir()
        .map(|dir| dir.join("btdb"))
        .context("no data directory for this user; set BTDB_HOME")
}

impl Cluster {
    /// The cluster under `home`; nothing is created until it is started.
    pub fn new(home: impl Into<PathBuf>) -> Result<Self> {
        let home = home.into();
        let home = if home.is_relative() {
            std::env::current_dir()?.join(home)
        } else {
            home
        };
        let owner = if Uid::effective().is_root() {
            let name = std::env::var("BTDB_PG_USER").unwrap_or_else(|_| "postgres".into());
            let user = User::from_name(&name)
                .with_context(|| format!("looking up account `{name}`"))?
                .with_context(|| {
                    format!(
                        "btdb runs as root, which PostgreSQL refuses, and there is no account \
                         `{name}` to run the server as; create one (`useradd --system {name}`) \
                         or set BTDB_PG_USER"
                    )
                })?;
            Some(user)
        } else {
            None
        };
        let cluster = Self {
            home,
            owner,
            settings: Vec::new(),
            bin_dir: OnceLock::new(),
            port: PORT,
        };
        let socket = cluster.socket_dir().join(format!(".s.PGSQL.{PORT}"));
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            bail!(
                "BTDB_HOME `{}` is too deep for a Unix socket ({len} bytes to `{}`, at most \
                 {MAX_SOCKET_PATH}); choose a shorter path",
                cluster.home.display(),
                socket.display()
            );
        }
        Ok(cluster)
    }

    /// The port, which names the socket file and, where `listen_addresses` is set, the TCP
    /// port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Gives `path` to the account the server runs as, readable by it alone: the server
    /// refuses a TLS key that others may read or that belongs to someone else.
    pub fn hand_over(&self, path: &Path) -> Result<()> {
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        if let Some(owner) = &self.owner {
            chown(path, Some(owner.uid.as_raw()), Some(owner.gid.as_raw()))
                .with_context(|| format!("giving `{}` to `{}`", path.display(), owner.name))?;
        }
        Ok(())
    }

    /// Runs the server binaries of `dir` rather than those found by the usual search.
    pub fn with_bin_dir(self, dir: impl Into<PathBuf>) -> Self {
        let _ = self.bin_dir.set(dir.into());
        self
    }

    /// Adds a `postgresql.conf` setting, applied at the next start.
    pub fn with_setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The directory the server owns: data directory, socket and server log.
    fn pg_dir(&self) -> PathBuf {
        self.home.join("pg")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.pg_dir().join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.pg_dir()
    }

    pub fn log_file(&self) -> PathBuf {
        self.pg_dir().join("server.log")
    }

    /// A libpq-style URL for `database` over the cluster's socket; psql accepts it too.
    pub fn url(&self, database: &str) -> String {
        let host: String =
            url::form_urlencoded::byte_serialize(self.socket_dir().as_os_str().as_encoded_bytes())
                .collect();
        format!(
            "postgres:///{database}?host={host}&port={}&user={SUPERUSER}",
            self.port
        )
    }

    /// Creates the cluster if there is none and starts it if it is stopped.
    ///
    /// Holds an exclusive lock on `BTDB_HOME/cluster.lock` throughout, so that two processes
    /// starting at once neither initialise twice nor start two servers on one data directory.
    pub fn ensure_running(&self) -> Result<()> {
        let _lock = self.lock()?;
        if !self.data_dir().join("PG_VERSION").is_file() {
            self.init()?;
        }
        if self.pg_ctl_status()? != Status::Running {
            self.start()?;
        }
        let marker = self.pg_dir().join("database-created");
        if !marker.exists() {
            self.create_database()?;
            fs::write(&marker, b"").with_context(|| format!("writing `{}`", marker.display()))?;
        }
        Ok(())
    }

    /// Stops the server if it runs, and says how it found it.
    pub fn stop(&self) -> Result<Stopped> {
        let _lock = self.lock()?;
        let data = self.data_dir();
        if self.pg_ctl_status()? != Status::Running {
            // A server that shut down removed its PID file; one that was killed left it.
            return Ok(if data.join("postmaster.pid").exists() {
                Stopped::Uncleanly
            } else {
                Stopped::NotRunning
            });
        }
        let out = self.run(
            self.bin("pg_ctl")?
                .args(["stop", "-s", "-w", "-m", "fast", "-D"])
                .arg(&data),
        )?;
        if !out.status.success() && self.pg_ctl_status()? != Status::Running {
            // The process was on its way out (not yet reaped) when first asked.
            return Ok(Stopped::Uncleanly);
        }
        check(&out, "stopping the embedded PostgreSQL server")?;
        info!(data_dir = %data.display(), "embedded cluster stopped");
        Ok(Stopped::Cleanly)
    }

    pub fn status(&self) -> Result<Status> {
        if !self.data_dir().join("PG_VERSION").is_file() {
            return Ok(Status::NotCreated);
        }
        self.pg_ctl_status()
    }

    fn lock(&self) -> Result<File> {
        fs::create_dir_all(&self.home)
            .with_context(|| format!("BTDB_HOME `{}` is not writable", self.home.display()))?;
        let path = self.home.join("cluster.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("BTDB_HOME `{}` is not writable", self.home.display()))?;
        file.lock()
            .with_context(|| format!("locking `{}`", path.display()))?;
        Ok(file)
    }

    /// Makes this cluster, not created yet, a hot standby of `primary` (which must run):
    /// pg_basebackup copies it, `-R` has the copy stream from it. Start it with
    /// `ensure_running`; it refuses writes and replays the primary's.
    pub fn replicate_from(&self, primary: &Cluster) -> Result<()> {
        let _lock = self.lock()?;
        if self.data_dir().join("PG_VERSION").is_file() {
            bail!("`{}` holds a cluster already", self.data_dir().display());
        }
        self.prepare_pg_dir()?;
        let out = self.run(
            self.bin("pg_basebackup")?
                .arg("-D")
                .arg(self.data_dir())
                // A fast checkpoint: a spread one makes the copy wait minutes on an idle primary.
                .args(["-R", "-X", "stream", "--checkpoint=fast", "-h"])
                .arg(primary.socket_dir())
                .args(["-p", &primary.port.to_string(), "-U", SUPERUSER]),
        )?;
        check(&out, "pg_basebackup")?;
        // The copy holds the primary's database: nothing to create, and a standby could not.
        let marker = self.pg_dir().join("database-created");
        fs::write(&marker, b"").with_context(|| format!("writing `{}`", marker.display()))?;
        Ok(())
    }

    /// `BTDB_HOME/pg`, private to the account the server runs as.
    fn prepare_pg_dir(&self) -> Result<()> {
        let pg = self.pg_dir();
        fs::create_dir_all(&pg)
            .with_context(|| format!("BTDB_HOME `{}` is not writable", self.home.display()))?;
        fs::set_permissions(&pg, fs::Permissions::from_mode(0o700))?;
        if let Some(owner) = &self.owner {
            chown(&pg, Some(owner.uid.as_raw()), Some(owner.gid.as_raw()))
                .with_context(|| format!("giving `{}` to `{}`", pg.display(), owner.name))?;
            let reachable = self
                .as_owner(&mut Command::new("test"))
                .arg("-w")
                .arg(&pg)
                .status()
                .is_ok_and(|s| s.success());
            if !reachable {
                bail!(
                    "the server runs as `{name}` (PostgreSQL refuses root), and `{name}` cannot \
                     reach `{}`; set BTDB_HOME to a directory it can reach, such as /var/lib/btdb",
                    pg.display(),
                    name = owner.name
                );
            }
        }
        Ok(())
    }

    fn init(&self) -> Result<()> {
        self.prepare_pg_dir()?;
        // initdb into a scratch directory renamed at the end: a cluster killed half-way through
        // initdb is never mistaken for a usable one.
        let scratch = self.pg_dir().join("data.init");
        info!(home = %self.home.display(), "creating the embedded PostgreSQL cluster");
        self.initdb(&self.bin_dir()?, &scratch)?;
        fs::rename(&scratch, self.data_dir())
            .with_context(|| format!("renaming `{}`", scratch.display()))?;
        Ok(())
    }

    /// A new data directory at `target` (replacing any left there) made by the initdb in
    /// `bin_dir`, set up to read the settings btdb writes at every start.
    fn initdb(&self, bin_dir: &Path, target: &Path) -> Result<()> {
        if target.exists() {
            fs::remove_dir_all(target)
                .with_context(|| format!("removing `{}`", target.display()))?;
        }
        let out = self.run(
            self.as_owner(&mut Command::new(bin_dir.join("initdb")))
                .args([
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    SUPERUSER,
                    "-D",
                ])
                .arg(target),
        )?;
        check(&out, "initdb")?;
        let conf = target.join("postgresql.conf");
        let mut text =
            fs::read_to_string(&conf).with_context(|| format!("reading `{}`", conf.display()))?;
        text.push_str(
            "\n# btdb writes its settings here at every start.\ninclude_if_exists = 'btdb.conf'\n",
        );
        fs::write(&conf, text).with_context(|| format!("writing `{}`", conf.display()))
    }

    /// Moves the cluster to the newest installed PostgreSQL with pg_upgrade, which needs the
    /// binaries of both versions. The server is stopped first; the old data directory is kept
    /// beside the new one (`data.pgN`) and stays the cluster until pg_upgrade has succeeded.
    /// Gives the versions from and to.
    pub fn upgrade(&self) -> Result<(u32, u32)> {
        let _lock = self.lock()?;
        let data = self.data_dir();
        let old = pg_bin::data_major(&data).with_context(|| {
            format!(
                "there is no embedded cluster at `{}` to upgrade",
                self.home.display()
            )
        })?;
        let installed = pg_bin::installed();
        let Some((new, new_bin)) = installed.first().cloned().filter(|(new, _)| *new > old) else {
            bail!(
                "the embedded cluster is PostgreSQL {old}, and no newer version is installed \
                 (Debian/Ubuntu: `apt-get install postgresql-<version>`); nothing to upgrade"
            );
        };
        let Some((_, old_bin)) = installed.iter().find(|(major, _)| *major == old).cloned() else {
            bail!(
                "upgrading from PostgreSQL {old} needs its binaries as well as {new}'s: install \
                 them (Debian/Ubuntu: `apt-get install postgresql-{old}`), then run `btdb db \
                 upgrade` again"
            );
        };
        let kept = self.pg_dir().join(format!("data.pg{old}"));
        if kept.exists() {
            bail!(
                "`{}` is in the way: it holds an earlier upgrade's old cluster; move it away first",
                kept.display()
            );
        }
        let status = self.run(
            self.as_owner(&mut Command::new(old_bin.join("pg_ctl")))
                .args(["status", "-D"])
                .arg(&data),
        )?;
        if status.status.success() {
            let out = self.run(
                self.as_owner(&mut Command::new(old_bin.join("pg_ctl")))
                    .args(["stop", "-s", "-w", "-m", "fast", "-D"])
                    .arg(&data),
            )?;
            check(&out, "stopping the embedded PostgreSQL server")?;
        }
        let target = self.pg_dir().join("data.upgrade");
        self.initdb(&new_bin, &target)?;
        info!(
            from = old,
            to = new,
            "upgrading the embedded cluster with pg_upgrade"
        );
        // pg_upgrade writes its logs and sockets in its working directory: the cluster's own.
        let out = self.run(
            self.as_owner(&mut Command::new(new_bin.join("pg_upgrade")))
                .arg("--old-bindir")
                .arg(&old_bin)
                .arg("--new-bindir")
                .arg(&new_bin)
                .arg("--old-datadir")
                .arg(&data)
                .arg("--new-datadir")
                .arg(&target)
                .args(["--username", SUPERUSER, "--socketdir"])
                .arg(self.pg_dir()),
        )?;
        if !out.status.success() {
            // The half-made new cluster stays for its logs; the next attempt replaces it.
            bail!(
                "pg_upgrade from PostgreSQL {old} to {new} failed, and the cluster is still {old}, \
                 unchanged: {} (its logs: `{}`)",
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output")
                    .trim(),
                target.join("pg_upgrade_output.d").display()
            );
        }
        fs::rename(&data, &kept).with_context(|| format!("renaming `{}`", data.display()))?;
        fs::rename(&target, &data).with_context(|| format!("renaming `{}`", target.display()))?;
        Ok((old, new))
    }

    fn start(&self) -> Result<()> {
        self.write_settings()?;
        let data = self.data_dir();
        let out = self.run(
            self.bin("pg_ctl")?
                .args(["start", "-s", "-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(self.log_file()),
        )?;
        if !out.status.success() {
            bail!(
                "the embedded PostgreSQL server did not start: {}; its log is `{}`",
                last_log_line(&self.log_file()).unwrap_or_else(|| stderr_line(&out)),
                self.log_file().display()
            );
        }
        info!(data_dir = %data.display(), "embedded cluster started");
        Ok(())
    }

    /// Settings that depend on where BTDB_HOME is now, so a moved home still starts.
    fn write_settings(&self) -> Result<()> {
        let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let mut conf =
            String::from("# Written by btdb at every start; edit postgresql.conf instead.\n");
        let socket = self.socket_dir();
        let defaults = [
            ("listen_addresses", quote("")),
            ("unix_socket_directories", quote(&socket.to_string_lossy())),
            ("unix_socket_permissions", "0700".to_owned()),
            ("port", self.port.to_string()),
        ];
        for (name, value) in defaults {
            let _ = writeln!(conf, "{name} = {value}");
        }
        // Query statistics for `btdb doctor`, when the server ships the module (Debian's
        // postgresql package does; it sits beside the binaries in ../lib).
        let statements = self.bin_dir()?.join("../lib/pg_stat_statements.so");
        if statements.is_file() {
            let _ = writeln!(conf, "shared_preload_libraries = 'pg_stat_statements'");
        }
        for (name, value) in &self.settings {
            let _ = writeln!(conf, "{name} = {}", quote(value));
        }
        let path = self.data_dir().join("btdb.conf");
        fs::write(&path, conf).with_context(|| format!("writing `{}`", path.display()))?;
        if let Some(owner) = &self.owner {
            chown(&path, Some(owner.uid.as_raw()), Some(owner.gid.as_raw()))?;
        }
        Ok(())
    }

    fn create_database(&self) -> Result<()> {
        let out = self.run(
            self.bin("createdb")?
                .arg("-h")
                .arg(self.socket_dir())
                .args(["-p", &self.port.to_string(), "-U", SUPERUSER, DATABASE]),
        )?;
        if !out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("already exists")
        {
            check(&out, "creating the btdb database")?;
        }
        Ok(())
    }

    /// Whether the account the server runs as can enter `dir`, which every parent must allow.
    pub fn server_can_reach(&self, dir: &Path) -> bool {
        self.as_owner(&mut Command::new("test"))
            .current_dir("/")
            .arg("-x")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success())
    }

    fn pg_ctl_status(&self) -> Result<Status> {
        let out = self.run(
            self.bin("pg_ctl")?
                .args(["status", "-D"])
                .arg(self.data_dir()),
        )?;
        // pg_ctl status: 0 running, 3 not running, 4 no usable data directory.
        Ok(match out.status.code() {
            Some(0) => Status::Running,
            Some(4) => Status::NotCreated,
            _ => Status::Stopped,
        })
    }

    /// A server binary, set up to run as the cluster's owner.
    fn bin(&self, name: &str) -> Result<Command> {
        let mut cmd = Command::new(self.bin_dir()?.join(name));
        self.as_owner(&mut cmd);
        Ok(cmd)
    }

    fn bin_dir(&self) -> Result<PathBuf> {
        Ok(match self.bin_dir.get() {
            Some(dir) => dir.clone(),
            None => {
                let found = pg_bin::find(&self.data_dir())?;
                let _ = self.bin_dir.set(found.clone());
                found
            }
        })
    }

    fn as_owner<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        // The binaries refuse a working directory they cannot read, which root's often is.
        cmd.current_dir(if self.pg_dir().is_dir() {
            self.pg_dir()
        } else {
            "/".into()
        });
        if let Some(owner) = &self.owner {
            cmd.uid(owner.uid.as_raw()).gid(owner.gid.as_raw());
        }
        cmd
    }

    fn run(&self, cmd: &mut Command) -> Result<Output> {
        debug!(command = ?cmd, "running");
        cmd.output()
            .with_context(|| format!("running `{}`", cmd.get_program().to_string_lossy()))
    }
}

fn check(out: &Output, what: &str) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    bail!("{what} failed: {}", stderr_line(out))
}

/// The first meaningful line a failed binary printed, for a one-line error.
fn stderr_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = if text.trim().is_empty() {
        String::from_utf8_lossy(&out.stdout)
    } else {
        text
    };
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_owned()
}

fn last_log_line(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines()
        .rev()
        .find(|l| l.contains("FATAL") || l.contains("ERROR"))
        .map(str::to_owned)
}
